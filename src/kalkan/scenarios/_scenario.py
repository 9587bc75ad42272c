"""The :class:`Scenario` a plan and a brief start from, its typed parts, and its view "as of" a date.

Everything specific to one crisis (names, the group at risk, the request being answered, options,
mandates, the simulation's dates and targets, attributions) comes from the scenario's files through
these types, so the generic code never names a crisis. The format: docs/scenarios.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from kalkan.scenarios._displacement import empty as empty_displacement
from kalkan.scenarios._displacement import known_by as figures_known_by

#: What an ask of the request can be answered by (``shown_by``), or "not modelled".
ANSWERED_BY = ("people_at_risk", "posts", "incidents", "options", "simulation", "timeline", "not modelled")

LATER_COLUMNS = ["date", "kind", "text", "source_ids"]
#: The census figures of districts.csv (numbers, never negative), blanked in a unit known only later
#: (:meth:`Scenario.as_of_view`, districts and oblasts alike).
CENSUS_FIGURES = (
    "population",
    "group_share_pct",
    "group_share_max_pct",
    "majority_share_pct",
    "group_count",
    "group_count_max",
)


@dataclass(frozen=True)
class Census:
    """The census behind the units' totals and shares, and the group's count for the reconciliation."""

    year: int | None
    group_total: float | None = None  # people of the group counted in group_total_area
    group_total_area: str = ""
    source_ids: tuple[str, ...] = ()
    known_on: date | None = None


@dataclass(frozen=True)
class Request:
    """The letter or request the brief answers (optional in a scenario)."""

    kind: str
    by: str
    to: str
    date: date | None
    text: str
    source_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ask:
    """One ask of the request and which output of kalkan answers it (``shown_by``) or "not modelled"."""

    topic: str
    text: str
    shown_by: str
    known: str = ""
    source_ids: tuple[str, ...] = ()
    known_on: date | None = None


@dataclass(frozen=True)
class Option:
    """A preset option in words (``"300 armed police"``), with its officers and kind (monitors/police/fpu)."""

    words: str
    count: int
    kind: str

    @property
    def spec(self) -> str:
        """The option as ``kalkan.plan.units.parse_options`` reads it (``police:300``)."""
        return f"{self.kind}:{self.count}"


@dataclass(frozen=True)
class Mandate:
    """One kind of mission as a planner compares it: powers, what it protects, cost and consent, sourced."""

    kind: str
    label: str
    powers: str = ""
    protects: str = ""
    cost: str = ""
    cost_source_ids: tuple[str, ...] = ()
    consent: str = ""
    consent_source_ids: tuple[str, ...] = ()
    consent_known_on: date | None = None


@dataclass(frozen=True)
class Target:
    """A calibration target: an observed outcome as a range, with its sources and date known."""

    what: str
    low: float
    high: float
    unit: str = ""
    window_start: date | None = None
    window_end: date | None = None
    source_ids: tuple[str, ...] = ()
    known_on: date | None = None
    note: str = ""  # a sentence: what the figure is
    through_day: int | None = None  # the figure covers days 1..through_day of the simulation (None: all)
    region: str = ""  # "" = the whole scenario; else an admin1 region the figure is for


@dataclass(frozen=True)
class Simulation:
    """The simulation's dates and what it may be calibrated to (no date of any crisis lives in the code)."""

    start: date | None
    decision: date | None
    days: int | None = None
    targets: tuple[Target, ...] = ()
    calibrated: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class KnownLater:
    """Something learned after the scenario's date: for the brief's "Known later" box only."""

    date: date
    text: str
    source_ids: tuple[str, ...] = ()


class AsOf(NamedTuple):
    """A scenario cut to what was known on a day, and what was left out because it came later."""

    scenario: Scenario
    later: pd.DataFrame  # date, kind, text, source_ids (date NaT: the date known is missing)


@dataclass
class Scenario:
    """A place and time to plan for: where people live, who is at risk, what happened, and the sources.

    Attributes
    ----------
    places : DataFrame
        ``place_id, name, kind (town/village/neighbourhood), latitude, longitude (degrees), district,
        district_code, oblast, population`` (people; NaN if unknown) ``, population_source, geonameid,
        wof_id, named_in``. ``oblast`` is the admin1 region, ``district`` the admin2 unit.
    districts : DataFrame
        One row per admin2 unit of the scenario: ``district, district_code, oblast, population``
        (census total, people, NaN if unknown) ``, group_share_pct`` (percent, NaN = unknown)
        ``, group_share_max_pct`` (a cited upper bound, NaN = none) ``, majority_share_pct, source_ids,
        known_on, ...``.
    oblasts : DataFrame
        Admin1 totals: ``oblast, population, group_share_pct, source_ids, note, known_on``.
    incidents : DataFrame
        Events in ``kalkan.model`` columns plus ``source_ids, raw_date, raw_location, located, known_on``
        (rows without coordinates are kept, with ``located`` False).
    facts : DataFrame
        ``topic, figure, value, unit, what, source_ids, status, headline, known_on``; ``headline`` rows
        are the figures a brief shows.
    sources : DataFrame
        ``source_id, title, publisher, date, url, known_on`` (plus ``licence, attribution`` for data).
    dropped : DataFrame
        Rows of the input files merged into another place or left out, with the reason.
    displacement : DataFrame
        Figures of displacement and return (``displacement.csv``, optional; empty without it): ``row, site,
        kind, unit, from_units`` (tuple of admin2 names, () = the whole area) ``, latitude, longitude,
        group, of_group`` (the figure counts the group at risk) ``, people, date, known_on, source_ids,
        estimate, note``. See ``kalkan.scenarios._displacement``.
    """

    name: str
    title: str
    path: Path
    places: pd.DataFrame
    districts: pd.DataFrame
    oblasts: pd.DataFrame
    incidents: pd.DataFrame
    admin1: dict[str, Any]
    admin2: dict[str, Any]
    facts: pd.DataFrame
    sources: pd.DataFrame
    settings: dict[str, Any]
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame)
    census: Census = field(default_factory=lambda: Census(year=None))
    request: Request | None = None
    asks: tuple[Ask, ...] = ()
    options: tuple[Option, ...] = ()
    mandates: tuple[Mandate, ...] = ()
    known_later: tuple[KnownLater, ...] = ()
    simulation: Simulation = field(default_factory=lambda: Simulation(start=None, decision=None))
    displacement: pd.DataFrame = field(default_factory=empty_displacement)

    @property
    def as_of(self) -> date:
        """The day the scenario looks at (``as_of`` in scenario.toml)."""
        value = self.settings.get("as_of")
        return value if isinstance(value, date) else date.fromisoformat(str(value))

    @property
    def group_at_risk(self) -> str:
        """Who the scenario protects, in words (``[group] name``)."""
        group = self.settings.get("group", {})
        return str(group.get("name", "the group at risk")) if isinstance(group, dict) else str(group)

    @property
    def admin1_word(self) -> str:
        """The reader's word for an admin1 region ("oblast", "prefecture")."""
        return str(self.settings.get("admin1_word", "region"))

    @property
    def admin2_word(self) -> str:
        """The reader's word for an admin2 unit ("district", "sub-prefecture")."""
        return str(self.settings.get("admin2_word", "district"))

    @property
    def regions(self) -> list[str]:
        """The admin1 regions the scenario keeps places in (``oblasts`` in scenario.toml)."""
        return [str(o) for o in self.settings.get("oblasts", [])]

    @property
    def main_cities(self) -> list[str]:
        """Places the first map centres on (``main_cities``)."""
        return [str(c) for c in self.settings.get("main_cities", [])]

    @property
    def narrative(self) -> dict[str, str]:
        """Named text pieces for the brief (``[narrative]``); a missing key means the sentence is left out."""
        return {str(k): str(v) for k, v in self.settings.get("narrative", {}).items()}

    @property
    def decision(self) -> str:
        """The decision asked, one sentence ("" if the scenario does not state it)."""
        return str(self.settings.get("decision", ""))

    @property
    def option_spec(self) -> str:
        """The preset options as ``parse_options`` reads them (``"monitors:50,police:300"``); "" if none."""
        return ",".join(option.spec for option in self.options)

    @property
    def attributions(self) -> list[str]:
        """The data attributions a footer must show, one per data source the scenario uses."""
        if "attribution" not in self.sources.columns:
            return []
        data = self.sources[self.sources["attribution"].fillna("").astype(str).str.len() > 0]
        return [str(a) for a in data["attribution"]]

    @property
    def headlines(self) -> pd.DataFrame:
        """The figures a brief shows, each with its sources."""
        return self.facts[self.facts["headline"]].reset_index(drop=True)

    def copy(self) -> Scenario:
        """A copy whose tables can be changed without touching this one (or the loader's cache)."""
        return replace(
            self,
            places=self.places.copy(),
            districts=self.districts.copy(),
            oblasts=self.oblasts.copy(),
            incidents=self.incidents.copy(),
            facts=self.facts.copy(),
            sources=self.sources.copy(),
            displacement=self.displacement.copy(),
            settings=dict(self.settings),
            dropped=self.dropped.copy(),
        )

    def as_of_view(self, day: date | None = None) -> AsOf:
        """The scenario as known on ``day`` (default: its ``as_of``), and what came later.

        Kept: facts, headlines, incidents, displacement figures and sources with ``known_on <= day``
        (displacement figures also counted by then); places' group counts
        (``group_count``, optional) known by then; census rows published by
        then (later ones have their figures blanked: unknown on that day); asks' ``known`` text, mandates'
        consent and simulation targets known by then. Places and boundaries are geography and are kept.
        Items whose date known is missing are left out of the body, listed in ``later`` with date NaT.
        ``later`` also holds every ``[[known_later]]`` item.
        """
        day = day or self.as_of
        cut = pd.Timestamp(day)
        later: list[dict[str, Any]] = []

        def remember(known_on: Any, kind: str, text: str, source_ids: str) -> None:
            """An item known only after ``day``: a row of the ``later`` table."""
            later.append({"date": known_on, "kind": kind, "text": text, "source_ids": source_ids})

        def split(frame: pd.DataFrame, kind: str, text_column: str) -> pd.DataFrame:
            if "known_on" not in frame.columns:
                return frame.copy()
            known = pd.to_datetime(frame["known_on"])
            keep = known.notna() & (known <= cut)
            for _, row in frame[~keep].iterrows():
                remember(row["known_on"], kind, str(row[text_column]), str(row.get("source_ids", "")))
            return frame[keep].reset_index(drop=True)

        facts = split(self.facts, "fact", "figure")
        places = self.places.copy()
        if "group_count_known_on" in places.columns:
            counted = places["group_count"].notna()
            late = counted & ~(
                places["group_count_known_on"].notna() & (places["group_count_known_on"] <= cut)
            )
            for _, row in places[late].iterrows():
                text = f"{row['name']}: {row['group_count']:,.0f} {self.group_at_risk}"
                remember(row["group_count_known_on"], "place count", text, str(row["group_count_source_ids"]))
            places.loc[late, "group_count"] = float("nan")
            places.loc[late, "group_count_known_on"] = pd.NaT
        incidents = split(self.incidents, "incident", "place_name")
        sources = self.sources.copy()
        if "known_on" in sources.columns:
            known = pd.to_datetime(sources["known_on"])
            sources = sources[known.notna() & (known <= cut)].reset_index(drop=True)
        moves = self.displacement
        kept = figures_known_by(moves, day)
        for _, row in moves[~kept].iterrows():
            what = row["kind"].replace("_", " ")
            text = f"{row['site']}: {row['people']:,.0f} ({what}, {row['group']}, on {row['date']:%d %B %Y})"
            remember(row["known_on"], "displacement", text, str(row["source_ids"]))
        displacement = moves[kept].reset_index(drop=True)
        districts = self.districts.copy()
        oblasts = self.oblasts.copy()
        for frame, label in ((districts, "district"), (oblasts, "oblast")):
            if "known_on" not in frame.columns:
                continue
            late = pd.to_datetime(frame["known_on"]) > cut
            for _, row in frame[late].iterrows():
                remember(row["known_on"], "census", str(row[label]), str(row.get("source_ids", "")))
            for column in (c for c in CENSUS_FIGURES if c in frame.columns):
                frame.loc[late, column] = float("nan")
        if "group_count_known_on" in districts.columns:
            late_count = districts["group_count"].notna() & (
                pd.to_datetime(districts["group_count_known_on"]) > cut
            )
            for _, row in districts[late_count].iterrows():
                text = f"{row['district']}: {row['group_count']:,.0f} {self.group_at_risk}"
                remember(row["group_count_known_on"], "unit count", text, str(row.get("source_ids", "")))
            districts.loc[late_count, "group_count"] = float("nan")

        def known_by(value: date | None) -> bool:
            return value is not None and value <= day

        asks = []
        for ask in self.asks:
            if ask.known and not known_by(ask.known_on):
                remember(_ts(ask.known_on), "ask", ask.known, ";".join(ask.source_ids))
                ask = replace(ask, known="", source_ids=(), known_on=None)
            asks.append(ask)
        mandates = []
        for mandate in self.mandates:
            if mandate.consent and not known_by(mandate.consent_known_on):
                consent_ids = ";".join(mandate.consent_source_ids)
                remember(_ts(mandate.consent_known_on), "consent", mandate.consent, consent_ids)
                mandate = replace(mandate, consent="", consent_source_ids=(), consent_known_on=None)
            mandates.append(mandate)
        targets = []
        for target in self.simulation.targets:
            if known_by(target.known_on):
                targets.append(target)
            else:
                text = f"{target.what}: {target.low:,.0f}-{target.high:,.0f} {target.unit}".strip()
                remember(_ts(target.known_on), "calibration target", text, ";".join(target.source_ids))
        for item in self.known_later:
            remember(_ts(item.date), "known later", item.text, ";".join(item.source_ids))

        view = replace(
            self.copy(),
            facts=facts,
            places=places,
            incidents=incidents,
            sources=sources,
            districts=districts,
            oblasts=oblasts,
            displacement=displacement,
            settings={**self.settings, "as_of": day},
            asks=tuple(asks),
            mandates=tuple(mandates),
            simulation=replace(self.simulation, targets=tuple(targets)),
        )
        frame = pd.DataFrame(later, columns=LATER_COLUMNS)
        frame["date"] = pd.to_datetime(frame["date"])
        frame = frame.sort_values("date", na_position="last", kind="stable").reset_index(drop=True)
        return AsOf(view, frame)


def _ts(value: date | None) -> pd.Timestamp:
    return pd.Timestamp(value) if value is not None else pd.Timestamp("NaT")
