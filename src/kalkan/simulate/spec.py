"""What a scenario tells the simulation: the outbreak to replay, the decision date and the targets.

Everything crisis-specific comes from the scenario's ``[simulation]`` table (scenario.toml)::

    [simulation]
    start = 2031-04-02          # first day of the outbreak the calibration replays
    days = 10                   # days simulated
    decision = 2031-04-20       # options are compared as of this day (default: the scenario's as_of)
    spark_days = 4              # incidents in start .. start + spark_days - 1 light the flashpoints

    [[simulation.target]]       # one per published figure, with the day it was first published
    what = "deaths"             # deaths | homes_destroyed | displaced
    low = 191
    high = 2000                 # omit for "at least low"
    known_on = 2031-04-09
    region = ""                 # "" = the whole scenario; else names (or a list) of the places' region
    through_day = 0             # the figure covers days 1..through_day (0: every simulated day)
    source_ids = ["S_NEWS_0409"]

A scenario without ``[simulation] start`` cannot be replayed, and one without a posterior file is
not calibrated: both say so (:class:`NotCalibratedError`) instead of borrowing another crisis's fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from kalkan.errors import ScenarioError

if TYPE_CHECKING:
    from kalkan.scenarios import Scenario

__all__ = ["OUTCOME_NAMES", "NotCalibratedError", "SimulationSpec", "Target", "simulation_spec"]

#: Outcomes a target may name, and how a page says them.
OUTCOME_NAMES = {
    "deaths": "people killed",
    "homes_destroyed": "homes destroyed",
    "displaced": "people displaced",
}


class NotCalibratedError(ScenarioError):
    """No fitted posterior (or no outbreak to replay): the simulation is not calibrated to the scenario."""


@dataclass(frozen=True)
class Target:
    """One published figure the model is fitted to or checked against: a range known on a date."""

    outcome: str
    low: float
    high: float
    known_on: date
    region: tuple[str, ...] = ()
    through_day: int = 0
    source_ids: tuple[str, ...] = ()
    note: str = ""

    def label(self) -> str:
        """``people killed 191-2,000 (known 2031-04-09)`` in plain words."""
        span = (
            f"at least {self.low:,.0f}" if self.high == float("inf") else f"{self.low:,.0f}-{self.high:,.0f}"
        )
        where = f" in {' and '.join(self.region)}" if self.region else ""
        when = f" by day {self.through_day}" if self.through_day else ""
        return f"{OUTCOME_NAMES[self.outcome]}{where}{when} {span} (published {self.known_on.isoformat()})"


@dataclass(frozen=True)
class SimulationSpec:
    """The scenario's ``[simulation]`` table, checked."""

    scenario: str
    start: date
    days: int
    decision_date: date
    spark_days: int = 4
    spark_km: float = 5.0
    region_column: str = "oblast"
    targets: tuple[Target, ...] = ()
    validation: tuple[dict[str, Any], ...] = field(default=())

    def known_targets(self, as_of: date, *, region: tuple[str, ...] | None = ()) -> list[Target]:
        """Per outcome, region and period, the latest figure published on or before ``as_of``.

        ``region=()`` keeps whole-scenario figures, a tuple of names keeps that region's, None keeps all.
        """
        latest: dict[tuple[str, tuple[str, ...], int], Target] = {}
        for t in self.targets:
            if t.known_on > as_of or (region is not None and t.region != tuple(region)):
                continue
            key = (t.outcome, t.region, t.through_day)
            if key not in latest or t.known_on >= latest[key].known_on:
                latest[key] = t
        return sorted(latest.values(), key=lambda t: (t.outcome, t.region, t.through_day))


def _date(value: Any, what: str, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return pd.Timestamp(str(value)).date()
    except (ValueError, TypeError):
        raise ScenarioError(
            f"Scenario {name!r}: [simulation] {what} must be a date like 2031-04-02; got {value!r}."
        ) from None


def _regions(value: Any) -> tuple[str, ...]:
    """``"North"`` or ``["North", "South"]`` -> a sorted tuple of names; "" or [] -> () (everywhere)."""
    items = [value] if isinstance(value, str) else list(value or [])
    return tuple(sorted(str(v) for v in items if str(v)))


def _target(raw: Any, i: int, name: str) -> Target:
    where = f"Scenario {name!r}: [[simulation.target]] number {i + 1}"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where} must be a table with what, low, known_on.")
    outcome = str(raw.get("what", raw.get("outcome", "")))
    if outcome not in OUTCOME_NAMES:
        raise ScenarioError(f"{where} has what = {outcome!r}: use one of {', '.join(OUTCOME_NAMES)}.")
    try:
        low = float(raw["low"])
        high = float(raw.get("high", float("inf")))
    except (KeyError, TypeError, ValueError):
        raise ScenarioError(f"{where} needs a number 'low' (and optionally 'high').") from None
    if not (0 <= low <= high):
        raise ScenarioError(f"{where} needs 0 <= low <= high; got low={low:g}, high={high:g}.")
    if "known_on" not in raw:
        raise ScenarioError(f"{where} needs known_on: the day the figure was first published.")
    through = raw.get("through_day", 0)
    if not isinstance(through, int) or through < 0:
        raise ScenarioError(f"{where}: through_day must be a whole number of days >= 0; got {through!r}.")
    return Target(
        outcome=outcome,
        low=low,
        high=high,
        known_on=_date(raw["known_on"], "known_on", name),
        region=_regions(raw.get("region", ())),
        through_day=int(through),
        source_ids=tuple(str(s) for s in raw.get("source_ids", ())),
        note=str(raw.get("note", "")),
    )


def simulation_spec(scenario: Scenario) -> SimulationSpec:
    """The scenario's simulation settings; NotCalibratedError if it has no ``[simulation] start``."""
    raw = scenario.settings.get("simulation")
    if not isinstance(raw, dict) or "start" not in raw:
        raise NotCalibratedError(
            f"The simulation is not calibrated to scenario {scenario.name!r}: its scenario.toml has no "
            "[simulation] table with a start date (the first day of the outbreak to replay) and targets; "
            "add them, then run 'kalkan simulate calibrate'."
        )
    days = raw.get("days", 10)
    if not isinstance(days, int) or days < 1:
        raise ScenarioError(
            f"Scenario {scenario.name!r}: [simulation] days must be a whole number >= 1; got {days!r}."
        )
    spark_days = raw.get("spark_days", 4)
    if not isinstance(spark_days, int) or spark_days < 1:
        raise ScenarioError(
            f"Scenario {scenario.name!r}: [simulation] spark_days must be a whole number "
            f">= 1; got {spark_days!r}."
        )
    decision = raw.get("decision", raw.get("decision_date", scenario.as_of))
    targets = tuple(_target(t, i, scenario.name) for i, t in enumerate(raw.get("target", [])))
    validation = tuple(v for v in raw.get("validation", []) if isinstance(v, dict))
    return SimulationSpec(
        scenario=scenario.name,
        start=_date(raw["start"], "start", scenario.name),
        days=days,
        decision_date=_date(decision, "decision_date", scenario.name),
        spark_days=spark_days,
        spark_km=float(raw.get("spark_km", 5.0)),
        region_column=str(raw.get("region_column", "oblast")),
        targets=targets,
        validation=validation,
    )
