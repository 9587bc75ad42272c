# ruff: noqa: E501  (plain-language sentences, kept whole)
"""What each option might change, as the brief judges it: posterior-predictive runs with no foresight.

The brief calls :func:`kalkan.simulate.compare_options` once per arrival assumption, with every option
it shows *and* the extra force sizes the recommendation search needs in the same call, so all of them
share parameter draws, flashpoints and seeds (common random numbers) and nothing is simulated twice:

* **on duty on the decision day** (``arrival=0.0``): what a force would change if it were there;
* **arriving at the pace of pledges** (``arrival="timeline"``): what it changes when it can be there,
  each option's posts on duty from its force-generation day.

Every interval is the 5th-95th percentile over parameter draws x seeds (``interval_note`` says what it
covers); the probability that an option has the fewest deaths and that it beats no force come from the
same paired runs. A scenario with no fitted posterior raises
:class:`~kalkan.simulate.spec.NotCalibratedError`, whose message the brief shows instead of numbers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from kalkan.plan.units import ForceOption, officers_for_posts, posts_for, unit_type

if TYPE_CHECKING:
    from kalkan.simulate.predictive import Comparison

#: Where the posts stand in every simulated option: the maximum expected covering (several posts in
#: reach of the places with the most people at risk), the siting the recommendation is judged on.
SITING = "depth"
#: Parameter draws x seeds per draw: 50 x 4 = 200 runs per option (issue 15's floor).
DRAWS = 50
SEEDS_PER_DRAW = 4
#: Extra force sizes of the armed unit simulated below the smallest armed preset, for the search.
EXTRA_SIZES = 3

Progress = Callable[[int, int], None]


def planner_size(unit: str, officers: float) -> int:
    """A force size as a planner would state it, rounded *up* so it still staffs its posts.

    Formed police units deploy whole (140 officers); others are rounded to 10 below 100 officers, to 50
    below 1,000, and to 100 above.
    """
    kind = unit_type(unit)
    if kind.deploy_size > 1 and kind.armed and kind.deploy_size >= 50:
        step = kind.deploy_size
    elif officers < 100:
        step = 10
    elif officers < 1000:
        step = 50
    else:
        step = 100
    return int(math.ceil(officers / step - 1e-9) * step)


def search_sizes(unit: str, presets: Sequence[int], extra: int = EXTRA_SIZES) -> list[int]:
    """Round force sizes below the smallest preset of ``unit``, halving each time (1/2, 1/4, 1/8 of it),
    that staff at least one post: the least force is looked for where it is likely to be, near the small end."""
    if not presets or extra < 1:
        return []
    smallest = min(presets)
    sizes = {planner_size(unit, smallest / 2**k) for k in range(1, extra + 1)}
    least = planner_size(unit, officers_for_posts(unit, 1))
    return sorted(s for s in sizes if least <= s < smallest and s not in presets)


def trimmed_size(unit: str, officers: int, posts_used: int) -> int:
    """The officers needed for the posts the siting actually uses (never more than ``officers``)."""
    if posts_used >= posts_for(ForceOption(unit, officers)) or posts_used < 1:
        return officers
    return min(officers, planner_size(unit, officers_for_posts(unit, posts_used)))


@dataclass(frozen=True)
class Outcome:
    """One option's simulated deaths under one arrival assumption."""

    label: str
    unit: str
    officers: int
    posts: int
    covered_share: float
    """Weighted reach of the simulated posts (share of the risk-weighted people at risk in reach)."""
    deaths_p5: float
    deaths_median: float
    deaths_p95: float
    homes_median: float
    displaced_median: float
    p_best: float
    beats_none: float | None
    """Share of paired runs in which the option leaves fewer deaths than no force (ties count half)."""
    generation_day: float
    generation_source: str
    arrived_before_outbreak: float | None


@dataclass
class Outcomes:
    """Both comparisons, read into plain rows, with the sentences that go with them."""

    now: dict[str, Outcome]
    timeline: dict[str, Outcome]
    posts: pd.DataFrame
    """The posts simulated on the decision day, one row per post with its ``option``."""
    interval_note: str
    flashpoints: str
    notes: list[str]
    timeline_notes: list[str]
    runs: int
    draws: int
    seeds_per_draw: int
    days: int
    calibration: str
    decision_day: date
    shown: list[str]
    """Labels of the options the brief shows (presets), in order; the others are search sizes."""
    searched: list[str]
    seconds: float
    cpu_seconds: float
    beats: dict[str, dict[str, float]] = field(default_factory=dict)

    def none(self, timeline: bool = False) -> Outcome:
        """The no-force row."""
        return (self.timeline if timeline else self.now)["none"]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for brief.json."""
        from dataclasses import asdict

        return {
            "on_duty_on_decision_day": {k: asdict(v) for k, v in self.now.items()},
            "at_the_pace_of_pledges": {k: asdict(v) for k, v in self.timeline.items()},
            "interval_note": self.interval_note,
            "flashpoints": self.flashpoints,
            "notes": self.notes,
            "timeline_notes": self.timeline_notes,
            "runs_per_option": self.runs,
            "draws": self.draws,
            "seeds_per_draw": self.seeds_per_draw,
            "days": self.days,
            "calibration": self.calibration,
            "decision_day": self.decision_day.isoformat(),
            "searched": self.searched,
            "siting": SITING,
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
        }


def _number(value: Any) -> float | None:
    """A finite float, or None (missing, NaN)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _rows(comparison: Comparison) -> dict[str, Outcome]:
    out: dict[str, Outcome] = {}
    beats = comparison.beats
    for r in comparison.table.to_dict("records"):
        label = str(r["option"])
        arrived = _number(r.get("arrived_before_outbreak"))
        out[label] = Outcome(
            label=label,
            unit=str(r["unit"]),
            officers=int(r["officers"]),
            posts=int(r["posts"]),
            covered_share=float(r.get("covered_share", 0.0) or 0.0),
            deaths_p5=float(r["deaths_p5"]),
            deaths_median=float(r["deaths_median"]),
            deaths_p95=float(r["deaths_p95"]),
            homes_median=float(r["homes_destroyed_median"]),
            displaced_median=float(r["displaced_median"]),
            p_best=float(r["p_best"]),
            beats_none=None if label == "none" else _number(beats.at[label, "none"]),
            generation_day=float(r["generation_day"]),
            generation_source=str(r["generation_source"]),
            arrived_before_outbreak=arrived,
        )
    return out


def simulate_outcomes(
    scenario: Any,
    shown: Sequence[ForceOption],
    *,
    as_of: date,
    response_minutes: float,
    draws: int = DRAWS,
    seeds_per_draw: int = SEEDS_PER_DRAW,
    seed: int = 0,
    timeline: bool = True,
    scheduler: Any = None,
    progress: Progress | None = None,
) -> Outcomes:
    """Run both comparisons (see the module docstring) and read them into :class:`Outcomes`.

    ``shown`` are the options the brief shows; the search sizes of its first armed unit are added to
    the same calls. ``scheduler`` is passed to ``compare_options`` (a Dask client is reused by both).
    """
    from kalkan.simulate import compare_options
    from kalkan.simulate.calibration import load_posterior

    armed = [o for o in shown if o.unit_type.armed]
    extra: list[ForceOption] = []
    if armed:
        unit = armed[0].unit
        presets = [o.officers for o in armed if o.unit == unit]
        extra = [ForceOption(unit, s) for s in search_sizes(unit, presets)]
    options = list(dict.fromkeys([*shown, *extra]))
    passes = 2 if timeline else 1
    total = [0]

    def step(offset: int) -> Progress:
        def report(done: int, n: int) -> None:
            total[0] = n * passes
            if progress is not None:
                progress(offset * n + done, n * passes)

        return report

    t0, c0 = time.perf_counter(), time.process_time()
    common: dict[str, Any] = {
        "as_of": as_of,
        "draws": draws,
        "seeds_per_draw": seeds_per_draw,
        "seed": seed,
        "siting": SITING,
        "response_minutes": response_minutes,
        "scheduler": scheduler,
    }
    now = compare_options(scenario, options, arrival=0.0, progress=step(0), **common)
    later = (
        compare_options(scenario, options, arrival="timeline", progress=step(1), **common)
        if timeline
        else None
    )
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return Outcomes(
        now=_rows(now),
        timeline=_rows(later) if later is not None else {},
        posts=now.posts,
        interval_note=now.interval_note,
        flashpoints=now.flashpoints,
        notes=list(now.notes),
        timeline_notes=list(later.notes) if later is not None else [],
        runs=int(now.table["runs"].iloc[0]),
        draws=draws,
        seeds_per_draw=seeds_per_draw,
        days=int(now.attrs.get("days", 0)),
        calibration=load_posterior(scenario).describe(),
        decision_day=as_of,
        shown=["none", *[o.label for o in shown]],
        searched=[o.label for o in extra],
        seconds=seconds,
        cpu_seconds=cpu,
        beats={
            str(k): {str(c): float(v) for c, v in row.items() if v == v} for k, row in now.beats.iterrows()
        },
    )
