"""The geographic model on an embedded scenario: places, flashpoints and each option's police posts.

* Places and both groups' populations come from :func:`kalkan.plan.exposure.places_at_risk` (group 0
  = the scenario's group at risk, ``at_risk`` people; group 1 = everyone else).
* Flashpoints, two ways. To *replay* an outbreak (calibration, validation): every located incident
  that started within ``spark_days`` of the scenario's ``[simulation] start`` lights the places within
  ``spark_km`` of it on that day. To *compare options as of a date* (no foresight): as many flashpoints
  as the replayed outbreak had are drawn at random, each at a place drawn with probability
  proportional to the risk forecast of that date (:func:`forecast_sparks`), never from later incidents.
* Posts: the planner's maximal-covering problem places each force option's 24/7 posts on the same
  demand (``weight``) the planner uses (:func:`option_posts`, deterministic); each post has
  ``officers_per_post`` on duty, armed or not as its unit type says (:mod:`kalkan.plan.units`).
  ``kalkan.plan.force.plan_option`` adds a time-limited MILP whose answer can depend on machine load;
  pass the plans you show (``simulate_options(plans=...)``) to simulate exactly those posts.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kalkan.distance import haversine_km
from kalkan.errors import ScenarioError
from kalkan.plan.defaults import RESPONSE_MINUTES
from kalkan.simulate.geo import GeoModel

if TYPE_CHECKING:
    from kalkan.plan.force import OptionPlan
    from kalkan.plan.units import ForceOption
    from kalkan.scenarios import Scenario

__all__ = [
    "as_scenario",
    "forecast_sparks",
    "option_posts",
    "posts_from_plan",
    "replay_seeds",
    "scenario_model",
    "scenario_places",
    "scenario_response_minutes",
    "spark_steps",
]


def scenario_places(scenario: Scenario, *, as_of: date | None = None) -> pd.DataFrame:
    """The scenario's places with population, group share and risk weight as known on ``as_of``.

    The scenario is cut to what was known that day first (:meth:`Scenario.as_of_view`): incidents
    reported later do not weigh on the risk, and a count of the group published later is not used.
    """
    from kalkan.plan.exposure import places_at_risk

    day = as_of or scenario.as_of
    places = places_at_risk(scenario.as_of_view(day).scenario, as_of=day)
    return places.reset_index(drop=True)


def as_scenario(scenario: Scenario | str) -> Scenario:
    """The scenario itself, or the one a name or folder names (:func:`kalkan.scenarios.load_scenario`)."""
    if isinstance(scenario, str):
        from kalkan.scenarios import load_scenario

        return load_scenario(scenario)
    return scenario


def scenario_response_minutes(scenario: Scenario) -> float:
    """Reach of a post in minutes: the scenario's ``[defaults] response_minutes``, else the planner's
    default (:data:`kalkan.plan.defaults.RESPONSE_MINUTES`)."""
    return float(scenario.settings.get("defaults", {}).get("response_minutes", RESPONSE_MINUTES))


def spark_steps(
    places: pd.DataFrame,
    incidents: pd.DataFrame,
    *,
    start: date,
    spark_days: int = 4,
    spark_km: float = 5.0,
    steps_per_day: int = 4,
) -> np.ndarray:
    """Step (1-based) at which each place becomes a flashpoint, 0 if never.

    An incident lights every place within ``spark_km`` of it at the first step of the day it started,
    if that day is within ``spark_days`` of ``start``; incidents without coordinates are skipped.
    """
    steps = np.zeros(len(places), dtype=np.int64)
    if incidents is None or len(incidents) == 0:
        return steps
    ev = incidents.dropna(subset=["latitude", "longitude", "date_start"])
    day = (pd.to_datetime(ev["date_start"]) - pd.Timestamp(start)).dt.days.to_numpy()
    keep = (day >= 0) & (day < spark_days)
    ev, day = ev[keep], day[keep]
    if len(ev) == 0:
        return steps
    lat, lon = places["latitude"].to_numpy(float), places["longitude"].to_numpy(float)
    km = haversine_km(
        lat[:, None],
        lon[:, None],
        ev["latitude"].to_numpy(float)[None, :],
        ev["longitude"].to_numpy(float)[None, :],
    )
    first = np.where(km <= spark_km, day[None, :] * steps_per_day + 1, np.iinfo(np.int64).max).min(axis=1)
    steps[first < np.iinfo(np.int64).max] = first[first < np.iinfo(np.int64).max]
    return steps


def scenario_model(
    scenario: Scenario,
    *,
    start: date | None = None,
    spark_days: int | None = None,
    spark_km: float | None = None,
    as_of: date | None = None,
    **settings: Any,
) -> GeoModel:
    """A :class:`GeoModel` of the scenario's places with the replayed outbreak's flashpoints, no force yet.

    ``start``, ``spark_days`` and ``spark_km`` default to the scenario's ``[simulation]`` table; a
    scenario without one raises :class:`~kalkan.simulate.spec.NotCalibratedError`. ``as_of`` is the
    day the places' risk weight is computed for (default the scenario's as_of).
    """
    from kalkan.simulate.spec import simulation_spec

    if start is None or spark_days is None or spark_km is None:
        spec = simulation_spec(scenario)
        start = spec.start if start is None else start
        spark_days = spec.spark_days if spark_days is None else spark_days
        spark_km = spec.spark_km if spark_km is None else spark_km
    places = scenario_places(scenario, as_of=as_of)
    missing = no_group_reason(scenario, places)
    if missing:
        from kalkan.simulate.spec import NotCalibratedError

        raise NotCalibratedError(missing)
    spd = int(settings.get("steps_per_day", 4))
    sparks = spark_steps(
        places, scenario.incidents, start=start, spark_days=spark_days, spark_km=spark_km, steps_per_day=spd
    )
    if not sparks.any():
        raise ScenarioError(
            f"No located incident of scenario {scenario.name!r} starts within {spark_days} days of {start}: "
            "the model needs at least one flashpoint; set [simulation] start to the outbreak's first day."
        )
    return GeoModel.from_places(places, None, spark_step=sparks, **settings)


def no_group_reason(scenario: Scenario, places: pd.DataFrame) -> str:
    """The sentence saying why the model cannot be run on the scenario's places, or "".

    The model's victims are the members of the group at risk living in each place (population x share).
    When no place has a known share, it has nobody to protect, and no share is invented in its place.
    """
    share = pd.to_numeric(places.get("group_share", pd.Series(dtype=float)), errors="coerce").fillna(0.0)
    if len(places) and float((share * places["population"].astype(float)).sum()) > 0:
        return ""
    group = str(scenario.settings.get("group", {}).get("name", "the group at risk"))
    return (
        f"The simulation is not calibrated to scenario {scenario.name!r}: it needs the share of {group} "
        "living in each place, and no place of the scenario has one known on the day it is as of (none in "
        "its sources, or only figures published later), so the model has nobody to protect. No share is "
        "assumed and no other crisis's fit is used in its place."
    )


def replay_seeds(incidents: pd.DataFrame, *, start: date, spark_days: int) -> int:
    """How many distinct flashpoints (located incident, day) the replayed outbreak has."""
    ev = incidents.dropna(subset=["latitude", "longitude", "date_start"])
    day = (pd.to_datetime(ev["date_start"]) - pd.Timestamp(start)).dt.days
    ev = ev[(day >= 0) & (day < spark_days)]
    return int(len(ev[["latitude", "longitude"]].round(3).drop_duplicates()))


def forecast_sparks(
    places: pd.DataFrame,
    risk: np.ndarray,
    n_sparks: int,
    *,
    spark_days: int,
    rng: np.random.Generator,
    spark_km: float = 5.0,
    steps_per_day: int = 4,
) -> np.ndarray:
    """Flashpoints drawn from a risk forecast: ``n_sparks`` places, each drawn with probability
    proportional to ``risk`` (e.g. people at risk x forecast weight on the decision day), lit on a day
    drawn uniformly in ``0 .. spark_days - 1`` with every place within ``spark_km``.
    """
    weight = np.clip(np.nan_to_num(np.asarray(risk, dtype=float)), 0.0, None)
    steps = np.zeros(len(places), dtype=np.int64)
    if len(places) == 0 or n_sparks < 1 or weight.sum() <= 0:
        return steps
    picks = rng.choice(len(places), size=n_sparks, replace=True, p=weight / weight.sum())
    days = rng.integers(0, spark_days, size=n_sparks)
    lat, lon = places["latitude"].to_numpy(float), places["longitude"].to_numpy(float)
    for place, day in zip(picks, days, strict=True):
        near = haversine_km(lat, lon, lat[place], lon[place]) <= spark_km
        step = int(day) * steps_per_day + 1
        steps[near] = np.where((steps[near] == 0) | (steps[near] > step), step, steps[near])
    return steps


def option_posts(
    places: pd.DataFrame,
    option: ForceOption | None,
    *,
    response_minutes: float = RESPONSE_MINUTES,
    siting: str = "reach",
) -> pd.DataFrame:
    """Posts of one force option on the places' demand (``weight``); None = no force.

    ``siting="reach"``: the planner's maximal covering (:class:`kalkan.plan.coverage.MaximalCovering`),
    the most weight within reach of one post. ``siting="depth"``: the maximum expected covering
    (:class:`kalkan.plan.depth.ExpectedCovering`), which stacks posts where the weight is. Both are
    solved by their deterministic heuristic stage only (``method="heuristic"``), so the same places
    give the same posts however loaded the machine. ``kalkan.plan.force.plan_option`` goes on to a
    time-limited MILP whose answer can depend on the time it gets; pass its plans to
    ``simulate_options(plans=...)`` to simulate those posts instead.
    """
    columns = ["id", "name", "latitude", "longitude", "officers_on_duty", "armed", "covered_share"]
    from kalkan.plan.force import check_siting

    check_siting(siting)
    if option is None:
        return pd.DataFrame(columns=columns)
    from kalkan.errors import OptionError
    from kalkan.plan.coverage import MaximalCovering
    from kalkan.plan.depth import ExpectedCovering
    from kalkan.plan.reach import reach_of
    from kalkan.plan.units import officers_for_posts, officers_per_post, posts_for

    n_posts = posts_for(option)
    if n_posts < 1:
        raise OptionError(
            f"{option.label} cannot staff one 24/7 post: a {option.unit} post takes "
            f"{officers_per_post(option.unit):.1f} officers; use at least "
            f"{officers_for_posts(option.unit, 1)} officers."
        )
    xy = places[["latitude", "longitude"]].to_numpy(float)
    ids = places["place_id"].tolist()
    kind = ExpectedCovering if siting == "depth" else MaximalCovering
    problem = kind.from_coordinates(
        xy,
        xy,
        places["weight"].to_numpy(float),
        p=n_posts,
        response_minutes=float(response_minutes),
        demand_ids=ids,
        site_ids=ids,
    ).solve(time_limit=120.0, method="heuristic")
    chosen = places.iloc[problem.selected_index]
    unit = option.unit_type
    covered_share = reach_of(places, problem.covered).covered_share
    return pd.DataFrame(
        {
            "id": chosen["place_id"].to_numpy(),
            "name": chosen["name"].to_numpy(),
            "latitude": chosen["latitude"].to_numpy(float),
            "longitude": chosen["longitude"].to_numpy(float),
            "officers_on_duty": float(unit.officers_per_post),
            "armed": bool(unit.armed),
            "covered_share": covered_share,
        }
    )


def posts_from_plan(plan: OptionPlan) -> pd.DataFrame:
    """The posts of a planner's :class:`~kalkan.plan.force.OptionPlan` as the model takes them.

    One row per selected post (``id, name, latitude, longitude``) with the unit's ``officers_on_duty``
    and ``armed``, and the plan's ``covered_share``.
    """
    unit = plan.option.unit_type
    posts = plan.selected[["id", "name", "latitude", "longitude"]].copy()
    posts["officers_on_duty"] = float(unit.officers_per_post)
    posts["armed"] = bool(unit.armed)
    posts["covered_share"] = plan.covered_share
    return posts.reset_index(drop=True)
