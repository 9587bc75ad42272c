# ruff: noqa: E501  (citations: long lines are sentences, kept whole so they read and grep as written)
"""Force-sizing yardsticks from the literature, each with its citation and how well it is verified.

Copied (numbers and citations) from the project's reference notes, ``force-planning-anchors.md``
sections 1, 2, 3 and 6. ``status`` keeps the notes' tags: *verified* (read in the source), *secondary*
(read in a source quoting it), *recalled* (from memory of the source, not confirmed). The brief shows
the tag beside every yardstick so no reader mistakes a recalled ratio for a measured one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Yardstick:
    """A published ratio of security personnel to population (per 1,000 inhabitants)."""

    key: str
    label: str
    per_1000_low: float
    per_1000_high: float
    status: str
    citation: str
    url: str


YARDSTICKS: list[Yardstick] = [
    Yardstick(
        key="routine",
        label="Routine policing of a peaceful population",
        per_1000_low=1.0,
        per_1000_high=4.0,
        status="verified",
        citation="J. T. Quinlivan, 'Burden of Victory: The Painful Arithmetic of Stability Operations', "
        "RAND Review 27(2), 2003",
        url="http://www.rand.org/pubs/periodicals/rand-review/issues/summer2003/burden.html",
    ),
    Yardstick(
        key="stabilisation",
        label="Successful population security in stability operations (troops and police)",
        per_1000_low=20.0,
        per_1000_high=20.0,
        status="verified",
        citation="J. T. Quinlivan, 'Force Requirements in Stability Operations', Parameters 25(4), 1995; "
        "summarised in RAND Review 27(2), 2003",
        url="https://www.rand.org/pubs/reprints/RP479.html",
    ),
    Yardstick(
        key="light_peacekeeping_police",
        label="International police in a notional 'light peacekeeping' mission (1,000 per ~5 million)",
        per_1000_low=0.2,
        per_1000_high=0.2,
        status="recalled denominator",
        citation="J. Dobbins, S. G. Jones, K. Crane, B. C. DeGrasse, The Beginner's Guide to Nation-Building, "
        "RAND MG-557, 2007 (the 1,000 police are verified; the 5 million population is recalled)",
        url="https://www.rand.org/pubs/research_briefs/RB9241.html",
    ),
]

EMPIRICAL_NOTES: list[tuple[str, str, str]] = [
    (
        "With no UN police the predicted mean is 96 civilian deaths a month; with 200 police 14; with 500 "
        "about none. Unarmed observers are associated with more civilian deaths, not fewer.",
        "secondary (effect sizes quoted by US Army PKSOI, 'Pay Me Now or Pay Me Later', p. 13, from "
        "L. Hultman, J. Kathman, M. Shannon, 'United Nations Peacekeeping and Civilian Protection in Civil War', "
        "AJPS 57(4):875-891; African conflicts 1991-2008)",
        "https://econpapers.repec.org/article/wlyamposc/v_3a57_3ay_3a2013_3ai_3a4_3ap_3a875-891.htm",
    ),
    (
        "One post staffed around the clock takes about 5.2 officers (8,760 hours a year over about 1,698 hours "
        "one officer is available); a two-officer post about 10.4. So 50-100 monitors hold only 5-10 paired "
        "posts.",
        "verified (Local Government Performance Center, 'Calculating Staffing Needs Using the Relief Factor "
        "Method', 2012)",
        "https://www.scribd.com/document/779717871/Calculating-Staffing-Needs-Using-the-Relief-Factor-Method",
    ),
    (
        "UN missions took on average just over 10 months to reach peak deployment (Brahimi target: 30-90 days).",
        "verified (R. Rappa, 'The Challenges of Full Deployment on UN Peace Operations', Global Peace Operations "
        "Review, 2016)",
        "http://peaceoperationsreview.org/thematic-essays/the-challenges-of-full-deployment-on-un-peace-operations/",
    ),
]
