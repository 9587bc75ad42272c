"""The one event schema of kalkan: field list, code lists and the maps from source codes to them.

Every event table in kalkan (imported UCDP GED / ACLED / HXL files, the mission's incident register,
the embedded scenario's incidents) has the columns of :data:`EVENT_FIELDS`, in that order. The code
lists are :class:`enum.StrEnum` so that their values are the plain strings stored in tables and files.

Sources of the code lists (paraphrased in ``docs/events.md``):

- UCDP GED codebook (Sundberg & Melander 2013; Högbladh, *UCDP GED Codebook* v19.1-v24.1):
  ``type_of_violence``, ``where_prec``, ``date_prec``, ``best/low/high``.
- ACLED codebook (2023 column layout and the pre-2023 one): ``event_type``, ``sub_event_type``,
  ``time_precision``, ``geo_precision``, ``inter1/inter2``.
- NATO STANAG 2511 / AJP-2.1 "Admiralty code": source reliability A-F, information credibility 1-6.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from kalkan.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ACLED_EVENT_TYPES",
    "ACLED_GEO_PRECISION",
    "ACLED_INTER_CODES",
    "ACLED_SUB_EVENT_TYPES",
    "ACLED_TIME_PRECISION",
    "ActorType",
    "DatePrecision",
    "EVENT_COLUMNS",
    "EVENT_FIELDS",
    "EVENT_HXL_TAGS",
    "EVENT_TYPE_ALIASES",
    "EventType",
    "Field",
    "GED_DATE_PRECISION",
    "GED_WHERE_PRECISION",
    "InformationCredibility",
    "LocationPrecision",
    "REQUIRED_FIELDS",
    "SourceReliability",
    "UCDP_VIOLENCE_TYPES",
    "acled_event_type",
    "empty_events",
    "event_id",
    "parse_event_type",
]


class EventType(StrEnum):
    """What happened, in one kalkan type (the source's own type is kept in ``sub_event_type``).

    The list joins ACLED's event and sub-event types, UCDP's three violence types and the types a
    protection mission's monitors report (the letter's "killings, rape, arson, looting, abduction,
    displacement, threats and the marking of homes").
    """

    KILLING = "killing"
    SEXUAL_VIOLENCE = "sexual_violence"
    ARSON = "arson"
    LOOTING = "looting"
    ABDUCTION = "abduction"
    DISPLACEMENT = "displacement"
    THREAT = "threat"
    MARKING_OF_HOMES = "marking_of_homes"
    ARMED_CLASH = "armed_clash"
    EXPLOSION_REMOTE_VIOLENCE = "explosion_remote_violence"
    RIOT = "riot"
    PROTEST = "protest"
    ASSAULT = "assault"
    OTHER = "other"

    @property
    def meaning(self) -> str:
        """One sentence saying what the type covers."""
        return _EVENT_TYPE_MEANINGS[self]


_EVENT_TYPE_MEANINGS: dict[EventType, str] = {
    EventType.KILLING: (
        "Deliberate killing of one or more civilians (UCDP one-sided violence; ACLED attacks with "
        "fatalities)."
    ),
    EventType.SEXUAL_VIOLENCE: "Rape or other sexual violence.",
    EventType.ARSON: "Setting fire to homes, shops or other buildings.",
    EventType.LOOTING: "Looting or destruction of property (ACLED 'Looting/property destruction').",
    EventType.ABDUCTION: "Abduction, hostage taking or forced disappearance.",
    EventType.DISPLACEMENT: (
        "People forced to flee their homes (a flight, an expulsion, a blocked crossing)."
    ),
    EventType.THREAT: "A threat of violence: leaflets, speeches, armed groups gathering, ultimatums.",
    EventType.MARKING_OF_HOMES: (
        "Homes or property marked by group identity (a preparatory act, UN Framework indicator 7.x)."
    ),
    EventType.ARMED_CLASH: (
        "Fighting between organised armed groups (ACLED Battles; UCDP state-based and non-state violence)."
    ),
    EventType.EXPLOSION_REMOTE_VIOLENCE: "Shelling, air strikes, bombs, mines and other remote violence.",
    EventType.RIOT: "Violent demonstration or mob violence.",
    EventType.PROTEST: "Non-violent public demonstration, even if force is used against it.",
    EventType.ASSAULT: "A physical attack on people without a reported death.",
    EventType.OTHER: "Anything else worth recording (arrests, agreements, movements of armed groups).",
}


class SourceReliability(StrEnum):
    """Admiralty grade of the *source* (STANAG 2511), judged apart from the item it reports."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"

    @property
    def meaning(self) -> str:
        """The grade's standard wording."""
        return _RELIABILITY_MEANINGS[self]


_RELIABILITY_MEANINGS: dict[SourceReliability, str] = {
    SourceReliability.A: (
        "Completely reliable: no doubt about authenticity, trustworthiness or competence; a history of "
        "complete reliability."
    ),
    SourceReliability.B: "Usually reliable: minor doubts; valid information most of the time.",
    SourceReliability.C: "Fairly reliable: some doubt, but has given valid information before.",
    SourceReliability.D: (
        "Not usually reliable: significant doubt, though valid information has come in the past."
    ),
    SourceReliability.E: (
        "Unreliable: lacks authenticity, trustworthiness and competence; a history of invalid information."
    ),
    SourceReliability.F: (
        "Reliability cannot be judged: no basis for evaluation (e.g. a new source); not the same as "
        "unreliable."
    ),
}


class InformationCredibility(StrEnum):
    """Admiralty grade of the *information* (STANAG 2511), judged apart from its source."""

    CONFIRMED = "1"
    PROBABLY_TRUE = "2"
    POSSIBLY_TRUE = "3"
    DOUBTFUL = "4"
    IMPROBABLE = "5"
    CANNOT_BE_JUDGED = "6"

    @property
    def meaning(self) -> str:
        """The grade's standard wording."""
        return _CREDIBILITY_MEANINGS[self]


_CREDIBILITY_MEANINGS: dict[InformationCredibility, str] = {
    InformationCredibility.CONFIRMED: (
        "Confirmed by other sources: independently corroborated, logical in itself, consistent with other"
        " information."
    ),
    InformationCredibility.PROBABLY_TRUE: (
        "Probably true: not confirmed, but logical and consistent with other information."
    ),
    InformationCredibility.POSSIBLY_TRUE: (
        "Possibly true: not confirmed, reasonably logical, agrees with some other information."
    ),
    InformationCredibility.DOUBTFUL: (
        "Doubtful: not confirmed, possible but not logical, no other information on it."
    ),
    InformationCredibility.IMPROBABLE: (
        "Improbable: not confirmed, illogical, contradicted by other information."
    ),
    InformationCredibility.CANNOT_BE_JUDGED: "Truth cannot be judged: no basis for assessing validity.",
}


class DatePrecision(StrEnum):
    """How exactly the event's date is known; ``date_start``..``date_end`` spans the uncertainty."""

    DAY = "day"
    DAYS = "days"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"

    @property
    def meaning(self) -> str:
        """One sentence saying what the code means."""
        return {
            "day": "The exact day is known (GED date_prec 1, ACLED time_precision 1).",
            "days": "A span of 2-6 days is known (GED date_prec 2).",
            "week": "The week is known (GED date_prec 3, ACLED time_precision 2).",
            "month": "Only the month is known (GED date_prec 4, ACLED time_precision 3).",
            "year": "Only the year, or a span longer than a month, is known (GED date_prec 5).",
        }[self.value]


class LocationPrecision(StrEnum):
    """How exactly the coordinates locate the event (from UCDP ``where_prec``, ACLED ``geo_precision``)."""

    EXACT = "exact"
    NEAR = "near"
    ADMIN2 = "admin2"
    ADMIN1 = "admin1"
    REGION = "region"
    COUNTRY = "country"
    WATER = "water"

    @property
    def meaning(self) -> str:
        """One sentence saying what the code means."""
        return {
            "exact": "The exact place (town, village, neighbourhood) is known (GED 1, ACLED 1).",
            "near": "Within a limited area around a named place (GED 2, ACLED 2).",
            "admin2": "Only the second-order admin area; coordinates are its centroid (GED 3).",
            "admin1": "Only the first-order admin area; coordinates are its centroid (GED 4).",
            "region": "A larger or vaguer region; coordinates are a centroid (GED 5, ACLED 3).",
            "country": "Only the country; coordinates are its centroid (GED 6).",
            "water": "Over international waters or airspace (GED 7).",
        }[self.value]


class ActorType(StrEnum):
    """Kind of actor on the perpetrator or victim side (ACLED ``inter`` codes plus UCDP's sides)."""

    STATE_FORCES = "state_forces"
    REBEL_GROUP = "rebel_group"
    POLITICAL_MILITIA = "political_militia"
    IDENTITY_MILITIA = "identity_militia"
    RIOTERS = "rioters"
    PROTESTERS = "protesters"
    CIVILIANS = "civilians"
    EXTERNAL_FORCES = "external_forces"
    NON_STATE_GROUP = "non_state_group"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Field:
    """One column of an event table.

    ``dtype`` is the logical type: ``str``, ``date``, ``float``, ``int`` (nullable) or ``bool``
    (nullable); :attr:`pandas_dtype` and :attr:`duckdb_type` give the concrete types.
    """

    name: str
    dtype: str
    description: str

    @property
    def pandas_dtype(self) -> str:
        """The pandas dtype of the column in every event DataFrame."""
        return {
            "str": "str",
            "date": "datetime64[us]",
            "float": "float64",
            "int": "Int64",
            "bool": "boolean",
        }[self.dtype]

    @property
    def duckdb_type(self) -> str:
        """The DuckDB column type of the store."""
        types = {"str": "VARCHAR", "date": "DATE", "float": "DOUBLE", "int": "BIGINT", "bool": "BOOLEAN"}
        return types[self.dtype]


EVENT_FIELDS: list[Field] = [
    Field("event_id", "str", "kalkan id, '<source>:<source_id>'; stable across versions of the same event."),
    Field("source", "str", "Dataset the event came from: 'ged', 'acled', 'hxl', 'kalkan' or a register."),
    Field("source_id", "str", "The event's id in its source (GED id, ACLED event_id_cnty, HXL #meta+id)."),
    Field(
        "version",
        "int",
        "Revision of the event in the store: 1 when first imported, +1 each time a newer export changes it.",
    ),
    Field("date_start", "date", "First day the event may have happened (ISO date)."),
    Field("date_end", "date", "Last day the event may have happened (ISO date); = date_start when exact."),
    Field("date_precision", "str", "DatePrecision code: day, days, week, month, year."),
    Field("latitude", "float", "WGS84 latitude, decimal degrees, -90..90."),
    Field("longitude", "float", "WGS84 longitude, decimal degrees, -180..180."),
    Field(
        "location_precision",
        "str",
        "LocationPrecision code: exact, near, admin2, admin1, region, country, water.",
    ),
    Field("country_iso3", "str", "ISO 3166-1 alpha-3 code of the country the event happened in."),
    Field("admin1", "str", "First-order admin area (oblast, province, state) name or P-code."),
    Field("admin2", "str", "Second-order admin area (district, rayon) name or P-code."),
    Field("place_name", "str", "Town, village or neighbourhood name as the source gives it."),
    Field("event_type", "str", "EventType code (killing, arson, armed_clash, ...)."),
    Field(
        "sub_event_type",
        "str",
        "The source's own finer type, verbatim (e.g. ACLED 'Attack', GED 'one-sided').",
    ),
    Field(
        "civilian_targeting",
        "bool",
        "True when civilians were the main target (GED type 3; ACLED "
        "'Civilian targeting'); empty when unknown.",
    ),
    Field(
        "perpetrator",
        "str",
        "Perpetrator side: actor name(s) as the source gives them (GED side_a; ACLED actor1).",
    ),
    Field("perpetrator_type", "str", "ActorType code of the perpetrator side."),
    Field(
        "victim_group",
        "str",
        "Victim or target side: group or actor name (GED side_b; ACLED actor2; e.g. 'old town residents').",
    ),
    Field("victim_type", "str", "ActorType code of the victim side."),
    Field("fatalities_best", "int", "Best estimate of people killed (GED best; ACLED fatalities)."),
    Field("fatalities_low", "int", "Lowest credible count of people killed (GED low)."),
    Field("fatalities_high", "int", "Highest credible count of people killed (GED high)."),
    Field("source_reliability", "str", "SourceReliability grade A-F of the source (empty when not graded)."),
    Field(
        "information_credibility",
        "str",
        "InformationCredibility grade 1-6 of the item (empty when not graded).",
    ),
    Field("notes", "str", "Narrative, verbatim from the source."),
]

EVENT_COLUMNS: list[str] = [f.name for f in EVENT_FIELDS]

# The HXL hashtag kalkan writes for each event field, in every HXL export (the event store's and the
# register's); kalkan.ingest's HXL reader reads them back, so an export round-trips.
EVENT_HXL_TAGS: dict[str, str] = {
    "event_id": "#meta+event_id",
    "source": "#meta+source+dataset",
    "source_id": "#meta+id",
    "version": "#meta+version",
    "date_start": "#date+start",
    "date_end": "#date+end",
    "date_precision": "#date+precision",
    "latitude": "#geo+lat",
    "longitude": "#geo+lon",
    "location_precision": "#geo+precision",
    "country_iso3": "#country+code",
    "admin1": "#adm1+name",
    "admin2": "#adm2+name",
    "place_name": "#loc+name",
    "event_type": "#event+type",
    "sub_event_type": "#event+type+sub",
    "civilian_targeting": "#meta+civilian_targeting",
    "perpetrator": "#group+name+perpetrator",
    "perpetrator_type": "#group+type+perpetrator",
    "victim_group": "#group+name+victim",
    "victim_type": "#group+type+victim",
    "fatalities_best": "#affected+killed",
    "fatalities_low": "#affected+killed+min",
    "fatalities_high": "#affected+killed+max",
    "source_reliability": "#meta+reliability",
    "information_credibility": "#meta+credibility",
    "notes": "#description",
}

# Without these a row is not an event kalkan can place or count: readers quarantine rows that lack them.
REQUIRED_FIELDS: tuple[str, ...] = ("source_id", "date_start", "latitude", "longitude", "event_type")


def empty_events() -> pd.DataFrame:
    """An event table with no rows and the dtypes of :data:`EVENT_FIELDS`."""
    import pandas as pd

    return pd.DataFrame({f.name: pd.Series([], dtype=f.pandas_dtype) for f in EVENT_FIELDS})


def event_id(source: str, source_id: str) -> str:
    """The kalkan id of an event: ``'<source>:<source_id>'`` (stable across versions)."""
    return f"{source}:{source_id}"


# --- UCDP GED -------------------------------------------------------------------------------------

UCDP_VIOLENCE_TYPES: dict[int, tuple[EventType, str, bool]] = {
    # type_of_violence -> (kalkan type, sub_event_type label, civilian_targeting)
    1: (EventType.ARMED_CLASH, "state-based", False),
    2: (EventType.ARMED_CLASH, "non-state", False),
    3: (EventType.KILLING, "one-sided", True),
}

GED_WHERE_PRECISION: dict[int, LocationPrecision] = {
    1: LocationPrecision.EXACT,
    2: LocationPrecision.NEAR,
    3: LocationPrecision.ADMIN2,
    4: LocationPrecision.ADMIN1,
    5: LocationPrecision.REGION,
    6: LocationPrecision.COUNTRY,
    7: LocationPrecision.WATER,
}

GED_DATE_PRECISION: dict[int, DatePrecision] = {
    1: DatePrecision.DAY,
    2: DatePrecision.DAYS,
    3: DatePrecision.WEEK,
    4: DatePrecision.MONTH,
    5: DatePrecision.YEAR,
}

# --- ACLED ----------------------------------------------------------------------------------------

ACLED_EVENT_TYPES: dict[str, EventType] = {
    # event_type -> kalkan type when the sub-event type does not say more
    "Battles": EventType.ARMED_CLASH,
    "Explosions/Remote violence": EventType.EXPLOSION_REMOTE_VIOLENCE,
    "Violence against civilians": EventType.ASSAULT,
    "Protests": EventType.PROTEST,
    "Riots": EventType.RIOT,
    "Strategic developments": EventType.OTHER,
}

ACLED_SUB_EVENT_TYPES: dict[str, EventType] = {
    "Armed clash": EventType.ARMED_CLASH,
    "Government regains territory": EventType.ARMED_CLASH,
    "Non-state actor overtakes territory": EventType.ARMED_CLASH,
    "Chemical weapon": EventType.EXPLOSION_REMOTE_VIOLENCE,
    "Air/drone strike": EventType.EXPLOSION_REMOTE_VIOLENCE,
    "Suicide bomb": EventType.EXPLOSION_REMOTE_VIOLENCE,
    "Shelling/artillery/missile attack": EventType.EXPLOSION_REMOTE_VIOLENCE,
    "Remote explosive/landmine/IED": EventType.EXPLOSION_REMOTE_VIOLENCE,
    "Grenade": EventType.EXPLOSION_REMOTE_VIOLENCE,
    "Sexual violence": EventType.SEXUAL_VIOLENCE,
    "Attack": EventType.ASSAULT,  # becomes KILLING when fatalities > 0, see acled_event_type
    "Abduction/forced disappearance": EventType.ABDUCTION,
    "Peaceful protest": EventType.PROTEST,
    "Protest with intervention": EventType.PROTEST,
    "Excessive force against protesters": EventType.PROTEST,
    "Violent demonstration": EventType.RIOT,
    "Mob violence": EventType.RIOT,
    "Agreement": EventType.OTHER,
    "Arrests": EventType.OTHER,
    "Change to group/activity": EventType.OTHER,
    "Disrupted weapons use": EventType.OTHER,
    "Headquarters or base established": EventType.OTHER,
    "Looting/property destruction": EventType.LOOTING,
    "Non-violent transfer of territory": EventType.OTHER,
    "Other": EventType.OTHER,
}

ACLED_TIME_PRECISION: dict[int, DatePrecision] = {
    1: DatePrecision.DAY,
    2: DatePrecision.WEEK,
    3: DatePrecision.MONTH,
}

ACLED_GEO_PRECISION: dict[int, LocationPrecision] = {
    1: LocationPrecision.EXACT,
    2: LocationPrecision.NEAR,
    3: LocationPrecision.REGION,
}

ACLED_INTER_CODES: dict[str, ActorType] = {
    # numeric codes (all layouts) and the text labels ACLED publishes since 2024
    "0": ActorType.UNKNOWN,
    "1": ActorType.STATE_FORCES,
    "2": ActorType.REBEL_GROUP,
    "3": ActorType.POLITICAL_MILITIA,
    "4": ActorType.IDENTITY_MILITIA,
    "5": ActorType.RIOTERS,
    "6": ActorType.PROTESTERS,
    "7": ActorType.CIVILIANS,
    "8": ActorType.EXTERNAL_FORCES,
    "state forces": ActorType.STATE_FORCES,
    "rebel group": ActorType.REBEL_GROUP,
    "rebel groups": ActorType.REBEL_GROUP,
    "political militia": ActorType.POLITICAL_MILITIA,
    "political militias": ActorType.POLITICAL_MILITIA,
    "identity militia": ActorType.IDENTITY_MILITIA,
    "identity militias": ActorType.IDENTITY_MILITIA,
    "rioters": ActorType.RIOTERS,
    "protesters": ActorType.PROTESTERS,
    "civilians": ActorType.CIVILIANS,
    "external/other forces": ActorType.EXTERNAL_FORCES,
    "other forces": ActorType.EXTERNAL_FORCES,
}


def acled_event_type(event_type: str, sub_event_type: str, fatalities: int | None = None) -> EventType:
    """Map an ACLED event / sub-event type to a kalkan type.

    An ACLED "Attack" (violence against civilians) with at least one death is a ``killing``; without
    deaths it is an ``assault``. Raises ``KeyError`` for a type ACLED does not define.
    """
    sub = ACLED_SUB_EVENT_TYPES.get(sub_event_type)
    kind = sub if sub is not None else ACLED_EVENT_TYPES[event_type]
    if kind is EventType.ASSAULT and fatalities is not None and fatalities > 0:
        return EventType.KILLING
    return kind


# --- field reports and free text ----------------------------------------------------------------

EVENT_TYPE_ALIASES: dict[str, EventType] = {
    "murder": EventType.KILLING,
    "killed": EventType.KILLING,
    "shooting": EventType.KILLING,
    "massacre": EventType.KILLING,
    "execution": EventType.KILLING,
    "one-sided": EventType.KILLING,
    "rape": EventType.SEXUAL_VIOLENCE,
    "sexual assault": EventType.SEXUAL_VIOLENCE,
    "burning": EventType.ARSON,
    "fire": EventType.ARSON,
    "torching": EventType.ARSON,
    "looting/property destruction": EventType.LOOTING,
    "property destruction": EventType.LOOTING,
    "pillage": EventType.LOOTING,
    "kidnapping": EventType.ABDUCTION,
    "hostage taking": EventType.ABDUCTION,
    "abduction/forced disappearance": EventType.ABDUCTION,
    "forced disappearance": EventType.ABDUCTION,
    "flight": EventType.DISPLACEMENT,
    "expulsion": EventType.DISPLACEMENT,
    "displaced": EventType.DISPLACEMENT,
    "intimidation": EventType.THREAT,
    "threats": EventType.THREAT,
    "incitement": EventType.THREAT,
    "marking": EventType.MARKING_OF_HOMES,
    "marking of houses": EventType.MARKING_OF_HOMES,
    "clash": EventType.ARMED_CLASH,
    "battle": EventType.ARMED_CLASH,
    "battles": EventType.ARMED_CLASH,
    "armed clash": EventType.ARMED_CLASH,
    "state-based": EventType.ARMED_CLASH,
    "non-state": EventType.ARMED_CLASH,
    "explosions/remote violence": EventType.EXPLOSION_REMOTE_VIOLENCE,
    "shelling": EventType.EXPLOSION_REMOTE_VIOLENCE,
    "bombing": EventType.EXPLOSION_REMOTE_VIOLENCE,
    "air strike": EventType.EXPLOSION_REMOTE_VIOLENCE,
    "riots": EventType.RIOT,
    "mob violence": EventType.RIOT,
    "violent demonstration": EventType.RIOT,
    "protests": EventType.PROTEST,
    "demonstration": EventType.PROTEST,
    "attack": EventType.ASSAULT,
    "beating": EventType.ASSAULT,
    "violence against civilians": EventType.ASSAULT,
}


_EVENT_TYPE_VALUES = frozenset(t.value for t in EventType)


def parse_event_type(text: str) -> EventType:
    """Read a kalkan type from a code (``marking_of_homes``), its words or a known alias.

    Case, spaces, hyphens and underscores do not matter; ACLED sub-event and event type names are
    accepted too. Raises :class:`~kalkan.errors.InputError` (a ``ValueError``) naming the valid codes
    for anything else.
    """
    key = re.sub(r"[\s_]+", " ", str(text).strip().lower())
    code = key.replace(" ", "_")
    if code in _EVENT_TYPE_VALUES:
        return EventType(code)
    if key in EVENT_TYPE_ALIASES:
        return EVENT_TYPE_ALIASES[key]
    for table in (ACLED_SUB_EVENT_TYPES, ACLED_EVENT_TYPES):
        for name, kind in table.items():
            if name.lower() == key:
                return kind
    valid = ", ".join(t.value for t in EventType)
    raise InputError(f"unknown event type {text!r}: use one of {valid} (or an ACLED type name)")
