"""Options compared as of a date, posterior-predictive and without foresight.

For each of ``draws`` parameter sets (fitted parameters resampled from the scenario's posterior; what a
force does drawn from its prior, :data:`kalkan.simulate.priors.FORCE`) and each of ``seeds_per_draw``
seeds, one *situation* is drawn and every option is run in it (common random numbers: the options
differ only by their posts):

* **where**: flashpoints drawn from the risk forecast as of the decision date (people at risk times the
  planner's risk weight on that day), as many as the replayed outbreak had; never later incidents;
* **when**: the outbreak starts on a day drawn uniformly in the ``outbreak_within`` days after the
  decision (the forecast says where, not when);
* **arrival**: each option's posts are on duty from the day its force is generated (the pledges'
  timeline: the first day the pledged officers of its unit reach its size; see
  :func:`force_generation_day`), counted from the decision date, so a force that is generated after the
  outbreak began arrives part-way through it and one generated after it ended changes nothing;
* **posts**: sited by the planner on the places' demand as of the decision date.

The table gives, per option, the median and the 5th-95th percentiles over all runs (parameter draws x
seeds: the interval covers both the doubt about the parameters and chance), and the probability that
each option has fewer deaths than each other option and that it is the best, over the same runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kalkan._base import Progress
from kalkan.errors import InputError
from kalkan.simulate.priors import FORCE

if TYPE_CHECKING:
    from kalkan.plan.force import OptionPlan
    from kalkan.plan.units import ForceOption
    from kalkan.scenarios import Scenario

__all__ = ["Comparison", "compare_options", "force_generation_day", "monotone_notes", "option_label"]

OUTCOMES = ("deaths", "homes_destroyed", "displaced")


@dataclass
class Comparison:
    """Posterior-predictive outcomes of each option; see the module docstring."""

    table: pd.DataFrame
    p_best: pd.Series
    beats: pd.DataFrame
    runs: pd.DataFrame
    interval_note: str
    flashpoints: str
    calibration: dict[str, Any]
    posts: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    attrs: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def monotone_notes(table: pd.DataFrame, beats: pd.DataFrame) -> list[str]:
    """Sentences explaining each case where more officers of one unit leave more median deaths.

    Three reasons the model can give, checked in this order: the larger force is generated later
    (arrives later after the decision); the difference is within chance over the runs (each beats
    the other in 40-60% of them); otherwise the posts themselves: sited for reach, a larger option's
    extra posts go to outlying places, and mobs turn away from protected places to unprotected ones.
    """
    notes: list[str] = []
    forces = table[table["unit"] != "none"]
    for (_unit, siting), group in forces.groupby(["unit", "siting"]):
        rows = [{str(k): v for k, v in r.items()} for r in group.sort_values("officers").to_dict("records")]
        for small, big in zip(rows, rows[1:], strict=False):
            if big["deaths_median"] <= small["deaths_median"]:
                continue
            p = float(beats.loc[big["option"], small["option"]])
            head = (
                f"{big['option']} leaves more deaths than {small['option']} in the model "
                f"(median {big['deaths_median']:,.0f} against {small['deaths_median']:,.0f})"
            )
            if big["generation_day"] > small["generation_day"]:
                notes.append(
                    f"{head} because it is ready later: day {big['generation_day']:g} after the "
                    f"decision against day {small['generation_day']:g} ({big['generation_source']})."
                )
            elif 0.4 <= p <= 0.6:
                notes.append(
                    f"{head}, but the difference is chance: it does better in {p:.0%} of the paired runs."
                )
            elif not big.get("armed", True):
                notes.append(
                    f"{head}: unarmed monitors watch more places, and their effect is drawn on both sides of "
                    f"zero (being watched may embolden); it does better in {p:.0%} of the paired runs."
                )
            else:
                notes.append(
                    f"{head}: its extra posts stand in outlying places, sited for {siting}, and mobs "
                    "turn away from protected places to unprotected ones; it does better in "
                    f"{p:.0%} of the paired runs."
                )
    return notes


def option_label(option: ForceOption | None) -> str:
    return "none" if option is None else option.label


def force_generation_day(option: ForceOption, pledges: pd.DataFrame) -> tuple[float, str]:
    """Days after the decision until the pledged officers of the option's unit reach its size.

    Pledges (``kalkan.plan.timeline.load_pledges``) are taken in the order they arrive. If the pledges
    never reach the size, the Brahimi report's 90-day target for complex operations is used and the
    reason says so.
    """
    rows = pledges[pledges["unit"] == option.unit].sort_values("day_in_place")
    total = rows["officers"].cumsum()
    reached = rows.loc[total >= option.officers, "day_in_place"]
    tag = " (illustrative pledges)" if bool(pledges["illustrative"].any()) else ""
    if len(reached):
        return float(
            reached.iloc[0]
        ), f"pledges{tag}: {option.officers} {option.unit} in place on day {int(reached.iloc[0])}"
    return 90.0, (
        f"pledges{tag} never reach {option.officers} {option.unit}: the Brahimi report's 90-day "
        "target for complex operations is assumed"
    )


def _posts(
    places: pd.DataFrame,
    option: ForceOption | None,
    plans: Mapping[str, OptionPlan] | None,
    response_minutes: float,
    siting: str,
) -> tuple[pd.DataFrame | None, str]:
    from kalkan.simulate.scenario import option_posts, posts_from_plan

    if option is None:
        return None, "none"
    if plans is not None and option.label in plans:
        return posts_from_plan(plans[option.label]), str(plans[option.label].extra.get("siting", "reach"))
    return option_posts(places, option, response_minutes=response_minutes, siting=siting), siting


def _run_or_copy(
    model: Any,
    post_tables: Sequence[pd.DataFrame | None],
    cases: Sequence[Any],
    wanted: Sequence[ForceOption | None],
    n_days: int,
    scheduler: Any,
    progress: Progress | None,
) -> list[dict[str, Any]]:
    """Run the cases; a force that arrives after the simulated days end changes nothing (its posts
    never go on duty and draw no random number), so its run is the no-force run of the same situation,
    copied instead of run again (the same numbers, much cheaper under a late timeline)."""
    from kalkan.simulate.engine import map_cases

    none = wanted.index(None) if None in wanted else -1
    run_index: list[int] = []
    copy_of: dict[int, int] = {}
    none_at: dict[tuple[int, int], int] = {}
    for i, case in enumerate(cases):
        o, d, s = case.key
        if o == none:
            none_at[(d, s)] = i
    for i, case in enumerate(cases):
        o, d, s = case.key
        if none >= 0 and o != none and case.arrival_day >= n_days:
            copy_of[i] = none_at[(d, s)]
        else:
            run_index.append(i)
    ran = map_cases(
        model, post_tables, [cases[i] for i in run_index], n_days, scheduler=scheduler, progress=progress
    )
    out: list[dict[str, Any] | None] = [None] * len(cases)
    for i, r in zip(run_index, ran, strict=True):
        out[i] = r
    for i, j in copy_of.items():
        src = out[j]
        assert src is not None
        out[i] = {**src, "key": cases[i].key}
    return [r for r in out if r is not None]


def _percentiles(x: np.ndarray) -> tuple[float, float, float]:
    p5, med, p95 = np.percentile(x, [5, 50, 95])
    return float(p5), float(med), float(p95)


def compare_options(
    scenario: Scenario | str,
    options: Sequence[ForceOption | None],
    *,
    as_of: date | None = None,
    draws: int = 50,
    seeds_per_draw: int = 4,
    days: int | None = None,
    seed: int = 0,
    plans: Mapping[str, OptionPlan] | None = None,
    siting: str = "reach",
    arrival: str | float = "timeline",
    outbreak_within: int = 30,
    pledges: pd.DataFrame | None = None,
    response_minutes: float | None = None,
    settings: dict[str, Any] | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
    baseline: bool = True,
) -> Comparison:
    """Compare ``options`` (None = no force) as of ``as_of`` (default: the scenario's decision date).

    ``arrival="timeline"`` takes each option's arrival from the pledges (scenario's, else illustrative);
    a number puts every option's posts on duty that many days after the decision. ``settings`` fixes
    model settings (e.g. ``{"officer_weight": 1.0}``) instead of drawing them.
    Raises :class:`~kalkan.simulate.spec.NotCalibratedError` if the scenario has no posterior.
    """
    from kalkan.simulate.calibration import load_posterior
    from kalkan.simulate.engine import Case, check_counts, check_options, run_seeds, with_baseline
    from kalkan.simulate.geo import GeoModel
    from kalkan.simulate.scenario import (
        as_scenario,
        forecast_sparks,
        replay_seeds,
        scenario_places,
        scenario_response_minutes,
    )
    from kalkan.simulate.spec import simulation_spec

    scenario = as_scenario(scenario)
    check_counts(
        draws=(draws, 1),
        seeds_per_draw=(seeds_per_draw, 1),
        seed=(seed, 0),
        outbreak_within=(outbreak_within, 1),
    )
    check_options(options)
    if not (
        arrival == "timeline"
        or (isinstance(arrival, int | float) and not isinstance(arrival, bool) and arrival >= 0)
    ):
        raise InputError(f"arrival must be 'timeline' or a number of days >= 0; got {arrival!r}.")
    spec = simulation_spec(scenario)
    posterior = load_posterior(scenario)
    day = as_of or spec.decision_date
    n_days = int(days or spec.days)
    wanted = with_baseline(options, baseline, task="compare")
    if response_minutes is None:
        response_minutes = scenario_response_minutes(scenario)
    places = scenario_places(scenario, as_of=day)
    model = GeoModel.from_places(places, None, response_minutes=float(response_minutes))
    # Posts and risk as of the decision date.
    post_tables, sitings = [], []
    for option in wanted:
        table, how = _posts(places, option, plans, float(response_minutes), siting)
        post_tables.append(table)
        sitings.append(how)
    if arrival == "timeline":
        from kalkan.plan.timeline import load_pledges

        pledge_table = (
            load_pledges(pledges, scenario=scenario)
            if pledges is None or "day_in_place" not in pledges.columns
            else pledges
        )
        generation = [
            (0.0, "no force") if o is None else force_generation_day(o, pledge_table) for o in wanted
        ]
    else:
        generation = [
            (0.0, "no force")
            if o is None
            else (float(arrival), f"on duty {arrival:g} days after the decision (given)")
            for o in wanted
        ]
    n_sparks = max(1, replay_seeds(scenario.incidents, start=spec.start, spark_days=spec.spark_days))
    risk = places["weight"].to_numpy(float)
    params = posterior.sample(draws, seed)
    rng = np.random.default_rng([seed, 11])
    fixed = dict(settings or {})
    cases: list[Case] = []
    situations = []
    run_seed = run_seeds([seed, 13], draws * seeds_per_draw)
    for d in range(draws):
        base = {str(k): float(v) for k, v in params.iloc[d].items()}
        force = {p.name: float(p.from_unit(np.array(rng.random()))) for p in FORCE}
        for s in range(seeds_per_draw):
            sparks = forecast_sparks(
                places, risk, n_sparks, spark_days=spec.spark_days, rng=rng, spark_km=spec.spark_km
            )
            start_day = float(rng.integers(0, outbreak_within))
            kseed = run_seed[d * seeds_per_draw + s]
            situations.append({"draw": d, "seed": kseed, "outbreak_day": start_day, **base, **force})
            for o in range(len(wanted)):
                late = max(0.0, generation[o][0] - start_day)
                merged: dict[str, float] = {**base, **force, **fixed}
                cases.append(
                    Case(
                        settings=merged, sparks=sparks, seed=kseed, option=o, arrival_day=late, key=(o, d, s)
                    )
                )
    results = _run_or_copy(model, post_tables, cases, wanted, n_days, scheduler, progress)
    labels = [option_label(o) for o in wanted]
    long = pd.DataFrame(
        [
            {
                "option": labels[r["key"][0]],
                "draw": r["key"][1],
                "seed_index": r["key"][2],
                "arrival_day": cases[i].arrival_day,
                **{k: r[k] for k in OUTCOMES},
            }
            for i, r in enumerate(results)
        ]
    )
    deaths = np.stack([long.loc[long["option"] == lab, "deaths"].to_numpy(float) for lab in labels])
    n_runs = deaths.shape[1]
    best = deaths.min(axis=0)
    tie = (deaths == best).sum(axis=0)
    p_best = pd.Series(((deaths == best) / tie).mean(axis=1), index=labels, name="p_best")
    beats = pd.DataFrame(
        [
            [
                float(np.mean(deaths[i] < deaths[j]) + 0.5 * np.mean(deaths[i] == deaths[j]))
                if i != j
                else np.nan
                for j in range(len(labels))
            ]
            for i in range(len(labels))
        ],
        index=labels,
        columns=labels,
    )
    rows = []
    for o, option in enumerate(wanted):
        sub = long[long["option"] == labels[o]]
        sited = post_tables[o]
        row: dict[str, Any] = {
            "option": labels[o],
            "unit": "none" if option is None else option.unit,
            "officers": 0 if option is None else option.officers,
            "armed": False if option is None else bool(option.unit_type.armed),
            "posts": 0 if sited is None else len(sited),
            "covered_share": 0.0
            if sited is None or not len(sited)
            else float(sited["covered_share"].iloc[0]),
            "siting": sitings[o],
            "generation_day": generation[o][0],
            "generation_source": generation[o][1],
            "arrived_before_outbreak": float(np.mean(sub["arrival_day"] <= 0))
            if option is not None
            else np.nan,
        }
        for what in OUTCOMES:
            p5, med, p95 = _percentiles(sub[what].to_numpy(float))
            row.update({f"{what}_p5": p5, f"{what}_median": med, f"{what}_p95": p95})
        row["p_best"] = float(p_best[labels[o]])
        row["runs"] = int(len(sub))
        row["draws"] = int(draws)
        rows.append(row)
    table = pd.DataFrame(rows)
    note = (
        f"Each range is the 5th to 95th percentile of {n_runs} runs per option: {draws} parameter sets "
        f"drawn from the calibration and the priors x {seeds_per_draw} random outbreaks each; it covers "
        "doubt about the parameters and chance, not doubt about the model's form."
    )
    flash = (
        f"{n_sparks} flashpoint(s) per run, drawn where the risk forecast of {day.isoformat()} puts people "
        f"at risk; the outbreak starts within {outbreak_within} days of the decision; no later incident "
        "is used."
    )
    posts = (
        pd.concat(
            [t.assign(option=labels[o]) for o, t in enumerate(post_tables) if t is not None],
            ignore_index=True,
        )
        if any(t is not None for t in post_tables)
        else pd.DataFrame()
    )
    return Comparison(
        table=table,
        p_best=p_best,
        beats=beats,
        runs=long,
        interval_note=note,
        flashpoints=flash,
        calibration=posterior.provenance,
        posts=posts,
        notes=[n for n in [posterior.stale(spec)] if n] + monotone_notes(table, beats),
        attrs={
            "as_of": day.isoformat(),
            "days": n_days,
            "seed": seed,
            "situations": pd.DataFrame(situations),
            "copied_runs": sum(
                1
                for c in cases
                if None in wanted and c.key[0] != wanted.index(None) and c.arrival_day >= n_days
            ),
        },
    )
