"""Deployment timeline: officers in place and coverage reached on each day after authorisation.

Pledges are rows of ``contributor, unit, officers, days_to_ready, days_to_arrive`` (a contributor's
officers are in place ``days_to_ready + days_to_arrive`` days after the authorising decision).
Reference lines (``REFERENCE_DAYS``):

- Brahimi report (A/55/305-S/2000/809, 2000): deploy within 30 days of the Security Council
  resolution for traditional operations, 90 days for complex ones;
- Rappa (2016), "The Challenges of Full Deployment on UN Peace Operations", Global Peace Operations
  Review: modern UN missions took on average just over 10 months to reach peak deployment (about
  304 days); African missions about 12 months.

(see ``/work/shared/reference/force-planning-anchors.md`` section 2). The default pledges are
**illustrative**, not a record of any offer: they show the mechanics and are labelled so in every
output (``illustrative`` column).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kalkan.errors import InputError, SchemaError
from kalkan.plan._tables import demand_frame, read_csv_table
from kalkan.plan.coverage import solve_budgets
from kalkan.plan.defaults import RESPONSE_MINUTES
from kalkan.plan.reach import weight_share
from kalkan.plan.units import UNIT_TYPES, ForceOption, posts_for

PLEDGE_COLUMNS = ["contributor", "unit", "officers", "days_to_ready", "days_to_arrive"]

#: Illustrative pledges (not real offers): a mix of individual officers and formed police units
#: arriving over the first three months, for the scenario's timeline when no pledges are given.
ILLUSTRATIVE_PLEDGES = pd.DataFrame(
    [
        ("Contributor A (illustrative)", "monitors", 52, 14, 3),
        ("Contributor B (illustrative)", "police", 100, 10, 3),
        ("Contributor C (illustrative)", "fpu", 140, 21, 5),
        ("Contributor D (illustrative)", "police", 200, 30, 5),
        ("Contributor E (illustrative)", "fpu", 140, 45, 7),
        ("Contributor F (illustrative)", "police", 150, 60, 5),
        ("Contributor G (illustrative)", "fpu", 280, 90, 10),
    ],
    columns=PLEDGE_COLUMNS,
)

REFERENCE_DAYS = pd.DataFrame(
    [
        (30, "Brahimi target, traditional (30 days)", "Brahimi report A/55/305-S/2000/809 (2000)"),
        (90, "Brahimi target, complex (90 days)", "Brahimi report A/55/305-S/2000/809 (2000)"),
        (304, "observed average to peak (~10 months)", "Rappa 2016, Global Peace Operations Review"),
    ],
    columns=["day", "label", "source"],
)


def load_pledges(
    source: str | Path | pd.DataFrame | list[dict[str, Any]] | None = None, *, scenario: Any = None
) -> pd.DataFrame:
    """Validated pledges from a CSV path, a DataFrame or a list of dicts.

    With no ``source``: the scenario's ``settings["pledges"]`` when it has them, else
    :data:`ILLUSTRATIVE_PLEDGES`. The result has an ``illustrative`` column (True for the defaults,
    and for rows whose contributor says "illustrative"). Bad rows raise InputError naming them.
    """
    illustrative_default = False
    if source is None:
        settings = getattr(scenario, "settings", None) or {}
        pledged = settings.get("pledges") if isinstance(settings, dict) else None
        if pledged:
            frame = pd.DataFrame(pledged)
        else:
            frame, illustrative_default = ILLUSTRATIVE_PLEDGES.copy(), True
        where = "the scenario's pledges" if pledged else "the illustrative pledges"
    elif isinstance(source, pd.DataFrame):
        frame, where = source.copy(), "the pledges table"
    elif isinstance(source, list):
        frame, where = pd.DataFrame(source), "the pledges list"
    else:
        needs = f"Pledges need {', '.join(PLEDGE_COLUMNS)}."
        frame = read_csv_table(source, "pledges", required=tuple(PLEDGE_COLUMNS), needs=needs)
        where = str(source)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in PLEDGE_COLUMNS if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{where} lacks column(s) {', '.join(missing)}; pledges need {', '.join(PLEDGE_COLUMNS)}."
        )
    if len(frame) == 0:
        raise InputError(f"{where} has no rows: give at least one pledge.")
    frame["unit"] = frame["unit"].astype(str).str.strip().str.lower()
    unknown = frame.index[~frame["unit"].isin(list(UNIT_TYPES))].tolist()
    if unknown:
        raise InputError(
            f"{where}: unknown unit type in row(s) {', '.join(str(i + 1) for i in unknown[:8])} "
            f"({frame.loc[unknown[0], 'unit']!r}): use one of {', '.join(sorted(UNIT_TYPES))}."
        )
    for column in ("officers", "days_to_ready", "days_to_arrive"):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = frame.index[values.isna() | (values < 0) | (values != values.round())].tolist()
        if column == "officers":
            bad = sorted(set(bad) | set(frame.index[values <= 0].tolist()))
        if bad:
            raise InputError(
                f"{where}: {column} must be a whole number "
                f"{'> 0' if column == 'officers' else '>= 0'} (row(s) "
                f"{', '.join(str(i + 1) for i in bad[:8])})."
            )
        frame[column] = values.astype(int)
    for i, row in frame.iterrows():
        size = UNIT_TYPES[row["unit"]].deploy_size
        if row["officers"] % size:
            raise InputError(
                f"{where}: row {int(str(i)) + 1} pledges {row['officers']} {row['unit']} officers, "
                f"but {row['unit']} deploy in groups of {size}: pledge a multiple of {size}."
            )
    frame["day_in_place"] = frame["days_to_ready"] + frame["days_to_arrive"]
    flagged = frame["contributor"].astype(str).str.contains("illustrative", case=False)
    frame["illustrative"] = flagged | illustrative_default
    return frame.reset_index(drop=True)


def deployment_timeline(
    demand: pd.DataFrame,
    pledges: pd.DataFrame,
    *,
    response_minutes: float = RESPONSE_MINUTES,
    days: int = 365,
    sites: pd.DataFrame | None = None,
    time_limit: float = 2.0,
) -> pd.DataFrame:
    """Officers in place and coverage on each day ``0..days`` after authorisation.

    Armed units (police, FPUs) *protect*: ``protected_share`` is the best coverage their 24/7 posts
    reach. Every unit *observes*: ``observed_share`` is the best coverage of all posts together.
    Each is solved once per day on which a pledge arrives (warm-started, ``time_limit`` seconds each)
    and carried forward. ``illustrative`` is True when any pledge in place is illustrative.
    """
    from kalkan.plan.force import siting_problem

    if not (isinstance(days, int | np.integer) and days >= 1):
        raise InputError(f"days must be a whole number >= 1; got {days!r}.")
    pledges = load_pledges(pledges) if "day_in_place" not in pledges.columns else pledges
    demand = demand_frame(demand)
    site_frame = demand_frame(sites, "sites", weight=False) if sites is not None else demand
    base = siting_problem(demand, site_frame, 1, response_minutes)
    total = base.total_weight
    change_days = sorted({0, *[int(d) for d in pledges["day_in_place"] if d <= days]})
    states: dict[int, dict[str, Any]] = {}
    for day in change_days:
        arrived = pledges[pledges["day_in_place"] <= day]
        per_unit = {u: int(arrived.loc[arrived["unit"] == u, "officers"].sum()) for u in UNIT_TYPES}
        posts = {u: (posts_for(ForceOption(u, n)) if n > 0 else 0) for u, n in per_unit.items()}
        armed = sum(p for u, p in posts.items() if UNIT_TYPES[u].armed)
        every = sum(posts.values())
        states[day] = {
            **{f"{u}_officers": n for u, n in per_unit.items()},
            "officers_in_place": sum(per_unit.values()),
            "protected_posts": armed,
            "observed_posts": every,
            "illustrative": bool(arrived["illustrative"].any())
            if "illustrative" in arrived.columns
            else False,
        }
    # Solved in increasing numbers of posts, each warm-started from the smaller one.
    needed = {s["protected_posts"] for s in states.values()} | {s["observed_posts"] for s in states.values()}
    solved: dict[int, float] = {0: 0.0}
    for p, problem in solve_budgets(base, needed - {0}, time_limit=time_limit).items():
        solved[p] = problem.objective
    rows = []
    current: dict[str, Any] = states[0]
    for day in range(days + 1):
        current = states.get(day, current)
        protected = solved[current["protected_posts"]]
        observed = max(solved[current["observed_posts"]], protected)
        rows.append(
            {
                "day": day,
                **current,
                "protected_weight": protected,
                "protected_share": weight_share(protected, total),
                "observed_weight": observed,
                "observed_share": weight_share(observed, total),
            }
        )
    return pd.DataFrame(rows)


def milestones(timeline: pd.DataFrame, targets: tuple[float, ...] = (0.5, 0.8, 0.95)) -> pd.DataFrame:
    """First day each target share is protected (NaN if never within the timeline)."""
    rows = []
    for target in targets:
        hit = timeline.loc[timeline["protected_share"] >= target - 1e-12, "day"]
        rows.append({"target": target, "first_day_protected": int(hit.iloc[0]) if len(hit) else np.nan})
    return pd.DataFrame(rows)
