"""Labels of the shared vocabulary as catalogue messages (event types, statuses, roles, victims).

The codes come from :mod:`kalkan.model` and :mod:`kalkan.register.auth`; the English labels here are
message ids that ``extract_messages`` finds (marked with ``N_``), so a translator sees them in
``messages.pot`` and every page shows them in the chosen language.
"""

from __future__ import annotations

from collections.abc import Iterable

from kalkan.model import EventType, InformationCredibility, SourceReliability
from kalkan.register.i18n import Language

__all__ = [
    "ACTION_LABELS",
    "ACTION_ORDER",
    "CREDIBILITY",
    "EVENT_TYPE_LABELS",
    "N_",
    "RELIABILITY",
    "ROLE_LABELS",
    "STATUS_LABELS",
    "VICTIM_GROUPS",
    "VICTIM_OUTCOMES",
    "event_types",
    "grades",
    "moves",
]


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Mark ``message`` for the catalogue without translating it now."""
    return message


EVENT_TYPE_LABELS: dict[str, str] = {
    EventType.KILLING: N_("Killing"),
    EventType.SEXUAL_VIOLENCE: N_("Sexual violence"),
    EventType.ARSON: N_("Arson"),
    EventType.LOOTING: N_("Looting"),
    EventType.ABDUCTION: N_("Abduction"),
    EventType.DISPLACEMENT: N_("Displacement"),
    EventType.THREAT: N_("Threat"),
    EventType.MARKING_OF_HOMES: N_("Marking of homes"),
    EventType.ARMED_CLASH: N_("Armed clash"),
    EventType.EXPLOSION_REMOTE_VIOLENCE: N_("Explosion or remote violence"),
    EventType.RIOT: N_("Riot"),
    EventType.PROTEST: N_("Protest"),
    EventType.ASSAULT: N_("Assault"),
    EventType.OTHER: N_("Other"),
}

STATUS_LABELS: dict[str, str] = {
    "reported": N_("Reported"),
    "corroborated": N_("Corroborated"),
    "verified": N_("Verified"),
    "rejected": N_("Rejected"),
}

# What the button that moves a report to a status says.
ACTION_LABELS: dict[str, str] = {
    "reported": N_("Reopen"),
    "corroborated": N_("Corroborate"),
    "verified": N_("Verify"),
    "rejected": N_("Reject"),
}

# The order of the decision buttons: the gentlest first (Enter in the reason box presses the first),
# rejecting last, so a stray Enter never rejects a report.
ACTION_ORDER = ("corroborated", "verified", "reported", "rejected")


def moves(allowed: Iterable[str]) -> list[str]:
    """The statuses a report may move to, in :data:`ACTION_ORDER`."""
    present = set(allowed)
    return [status for status in ACTION_ORDER if status in present]


ROLE_LABELS: dict[str, str] = {
    "monitor": N_("monitor"),
    "analyst": N_("analyst"),
    "investigator": N_("investigator"),
    "admin": N_("admin"),
}

# Victims are counted by outcome and by sex and age group (the HXL #affected+killed+f+children idea).
VICTIM_OUTCOMES: list[tuple[str, str]] = [
    ("killed", N_("Killed")),
    ("injured", N_("Injured")),
    ("missing", N_("Missing")),
    ("abducted", N_("Abducted")),
]
VICTIM_GROUPS: list[tuple[str, str, str, str]] = [
    # (form key, label, sex, age group) in the codes of kalkan.register.schemas.Victim
    ("women", N_("Women"), "f", "adults"),
    ("men", N_("Men"), "m", "adults"),
    ("girls", N_("Girls (under 18)"), "f", "children"),
    ("boys", N_("Boys (under 18)"), "m", "children"),
    ("unknown", N_("Sex or age unknown"), "unknown", "unknown"),
]

RELIABILITY = list(SourceReliability)
CREDIBILITY = list(InformationCredibility)


def event_types(lang: Language) -> list[tuple[str, str, str]]:
    """(code, label, meaning) of every event type, in the language of the page."""
    return [(str(t), lang.gettext(EVENT_TYPE_LABELS[t]), lang.gettext(t.meaning)) for t in EventType]


def grades(lang: Language) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(code, meaning) of the Admiralty source-reliability and information-credibility grades."""
    return (
        [(str(g), lang.gettext(g.meaning)) for g in RELIABILITY],
        [(str(g), lang.gettext(g.meaning)) for g in CREDIBILITY],
    )
