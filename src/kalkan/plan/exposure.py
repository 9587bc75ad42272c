"""Populations at risk: who lives where, how many of them belong to the group at risk, and how exposed.

For each place the planner needs one number, its demand ``weight = at_risk * risk_weight``:

* ``population``: the place's own figure where the data has one. Most villages have none, so it is
  **estimated** (``population_estimated`` is True) by the first rule that applies:

  1. *district remainder*: the district's 2009 census population minus the places with a figure in
     that district, shared equally by the district's places without one;
  2. *oblast remainder*: where the district total is unknown, the oblast total minus the known district
     totals and the known places of the unknown districts, shared equally by all places without a figure
     in those districts;
  3. *median per place*: where neither leaves a remainder of at least one person a place (the Osh
     oblast total of 1 Jan 2009 is *smaller* than the sum of its districts' census counts, so rule 2
     fails there), the median
     per-place figure of rule 1 in the same oblast (or in the whole scenario if the oblast has none).

* ``group_share``: the district's census share of the group at risk (fraction 0-1). Where a district has
  none, the oblast's share (or the oblast named in the scenario's ``share_fallback``), capped at
  ``1 - kyrgyz share`` when the census gives the majority's share; flagged as estimated.
* ``at_risk = population * group_share`` (people), estimated if either factor is.
* ``risk_weight``: a multiplier >= 0 from a :data:`RiskWeight` function of the places, the events and the
  day; by default :func:`incident_kernel_weight`. The hotspot forecaster provides another one
  (``kalkan.risk.hotspots.forecast_risk_weight``) with the same signature.

Every estimated number carries its flag and the rule that made it (``population_rule``, ``share_rule``),
so tables, the brief and the CLI can mark it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kalkan.errors import ScenarioError
from kalkan.plan.travel import haversine_km

if TYPE_CHECKING:
    from kalkan.scenarios import Scenario

RiskWeight = Callable[[pd.DataFrame, pd.DataFrame, date], np.ndarray]
"""``f(places, events, as_of) -> one multiplier >= 0 per place``.

``places`` has ``latitude, longitude`` (degrees); ``events`` has the ``kalkan.model`` event columns
(``latitude, longitude, date_start, date_end``; rows without coordinates are ignored); only events that
started on or before ``as_of`` may count.
"""

EXPOSURE_COLUMNS = [
    "place_id", "name", "kind", "latitude", "longitude", "district", "oblast", "population",
    "population_estimated", "population_rule", "group_share", "group_share_estimated", "share_rule",
    "at_risk", "at_risk_estimated", "risk_weight", "weight",
]  # fmt: skip

_CHUNK_CELLS = 1_000_000


def incident_kernel_weight(
    places: pd.DataFrame,
    events: pd.DataFrame,
    as_of: date,
    *,
    distance_km: float = 25.0,
    decay_days: float = 14.0,
    floor: float = 0.1,
) -> np.ndarray:
    """Risk multiplier per place from documented incidents: a Gaussian in distance times a decay in time.

    ``r_i = sum_e exp(-d_ie^2 / (2 distance_km^2)) * exp(-age_e / decay_days)`` over the located events
    that started on or before ``as_of``, where ``d_ie`` is the great-circle distance (km) and ``age_e`` the
    days from the event's last day (capped at ``as_of``) to ``as_of``. The result is
    ``floor + (1 - floor) * r_i / max(r)``: 1 at the most exposed place, never below ``floor``, so places
    far from any documented incident still count (the documentation is incomplete, not the danger).
    With no located event before ``as_of`` every place gets 1.

    Parameters
    ----------
    distance_km : float
        Kernel bandwidth in km (default 25: about the distance from Osh to Kara-Suu and Aravan, the places
        the violence reached within days).
    decay_days : float
        E-folding time in days (default 14: an incident two weeks old counts e^-1 of a new one).
    floor : float
        Weight of a place far from every incident, in [0, 1].
    """
    if not distance_km > 0 or not decay_days > 0 or not 0 <= floor <= 1:
        raise ScenarioError(
            f"incident_kernel_weight needs distance_km > 0, decay_days > 0 and 0 <= floor <= 1; "
            f"got {distance_km}, {decay_days}, {floor}."
        )
    n = len(places)
    lat = events["latitude"].to_numpy(float)
    lon = events["longitude"].to_numpy(float)
    start = pd.to_datetime(events["date_start"]).dt.date.to_numpy()
    end = pd.to_datetime(events["date_end"]).dt.date.to_numpy()
    usable = np.isfinite(lat) & np.isfinite(lon) & np.array([s <= as_of for s in start], dtype=bool)
    if not usable.any():
        return np.ones(n)
    age_days = np.array([(as_of - min(e, as_of)).days for e in end[usable]], dtype=float)
    decay = np.exp(-age_days / decay_days)
    ev_lat, ev_lon = lat[usable][None, :], lon[usable][None, :]
    p_lat, p_lon = places["latitude"].to_numpy(float), places["longitude"].to_numpy(float)
    raw = np.empty(n)
    # Places in chunks, so the place x event matrices stay near 1 million cells (8 MB) whatever the size.
    step = max(1, _CHUNK_CELLS // max(ev_lat.size, 1))
    for first in range(0, n, step):
        rows = slice(first, first + step)
        distance = haversine_km(p_lat[rows, None], p_lon[rows, None], ev_lat, ev_lon)
        raw[rows] = np.exp(-(distance**2) / (2 * distance_km**2)) @ decay
    top = raw.max()
    if top <= 0:
        return np.ones(n)
    return floor + (1 - floor) * raw / top


def district_estimates(scenario: Scenario) -> pd.DataFrame:
    """Per district: the group share used (fraction), whether it is estimated, and the rule that gave it."""
    share_column = "group_share_pct"
    fallback = scenario.settings.get("share_fallback", {})
    oblast_share = dict(zip(scenario.oblasts["oblast"], scenario.oblasts["group_share_pct"], strict=True))
    oblast_sources = dict(zip(scenario.oblasts["oblast"], scenario.oblasts["source_ids"], strict=True))
    rows = []
    for _, d in scenario.districts.iterrows():
        share = d[share_column]
        if pd.notna(share):
            rows.append((d["district"], share / 100, False, "census share of the district", d["source_ids"]))
            continue
        source_oblast = fallback.get(d["oblast"], d["oblast"])
        share = oblast_share.get(source_oblast, np.nan)
        if pd.isna(share):
            raise ScenarioError(
                f"District {d['district']} has no {share_column} and its oblast {source_oblast} none either; "
                f"add the district's share to districts.csv or an oblast total row."
            )
        rule = f"estimated: {source_oblast} oblast share ({share:g}%)"
        if pd.notna(d["majority_share_pct"]) and share > 100 - d["majority_share_pct"]:
            share = max(0.0, 100 - d["majority_share_pct"])
            majority = str(scenario.settings.get("group", {}).get("majority", "the majority"))
            rule = (
                f"estimated: at most {share:.1f}% (the census gives {d['majority_share_pct']:g}% {majority})"
            )
        rows.append((d["district"], share / 100, True, rule, oblast_sources.get(source_oblast, "")))
    return pd.DataFrame(rows, columns=["district", "group_share", "group_share_estimated", "share_rule",
                                       "share_source_ids"])  # fmt: skip


def estimate_population(scenario: Scenario) -> pd.DataFrame:
    """Places with ``population`` filled by the rules of the module docstring, flagged and explained.

    Returns the scenario's places with ``population`` (people), ``population_estimated`` (bool) and
    ``population_rule`` (text).
    """
    places = scenario.places.copy()
    known = places["population"].notna()
    places["population_estimated"] = ~known
    places["population_rule"] = np.where(known, "measured: " + places["population_source"].astype(str), "")
    totals = dict(zip(scenario.districts["district"], scenario.districts["population"], strict=True))
    district_oblast = dict(zip(scenario.districts["district"], scenario.districts["oblast"], strict=True))
    per_place: dict[str, float] = {}  # district -> rule-1 figure

    # Rule 1: district remainder.
    for district, group in places.groupby("district"):
        total = totals.get(str(district), np.nan)
        missing = group.index[group["population"].isna()]
        if pd.isna(total) or not len(missing):
            continue
        remainder = total - group["population"].sum(skipna=True)
        if remainder >= len(missing):  # a remainder of less than one person a place is no remainder
            share = remainder / len(missing)
            per_place[str(district)] = share
            places.loc[missing, "population"] = share
            places.loc[missing, "population_rule"] = (
                f"estimated: {district} 2009 census total {total:,.0f} minus its places with a figure, "
                f"shared by its {len(missing)} places without one"
            )

    # Rule 2: oblast remainder over the districts without a total.
    oblast_total = dict(zip(scenario.oblasts["oblast"], scenario.oblasts["population"], strict=True))
    for oblast, group in places.groupby("oblast"):
        total = oblast_total.get(str(oblast), np.nan)
        unknown_districts = [d for d in group["district"].unique() if pd.isna(totals.get(d, np.nan))]
        in_unknown = group[group["district"].isin(unknown_districts)]
        missing = in_unknown.index[in_unknown["population"].isna()]
        if pd.isna(total) or not len(missing):
            continue
        known_districts = sum(
            t for d, t in totals.items() if district_oblast.get(d) == oblast and pd.notna(t)
        )
        remainder = total - known_districts - in_unknown["population"].sum(skipna=True)
        if remainder >= len(missing):  # at least one person a place, as in rule 1
            places.loc[missing, "population"] = remainder / len(missing)
            places.loc[missing, "population_rule"] = (
                f"estimated: {oblast} oblast total {total:,.0f} minus its districts' census totals and "
                f"known places, shared by {len(missing)} places in districts without a total"
            )

    # Rule 3: median rule-1 figure of the oblast (or of the scenario).
    scenario_median = float(np.median(list(per_place.values()))) if per_place else np.nan
    for index in places.index[places["population"].isna()]:
        oblast = str(places.at[index, "oblast"])
        values = [v for d, v in per_place.items() if district_oblast.get(d) == oblast]
        figure, where = (
            (float(np.median(values)), f"{oblast} oblast") if values else (scenario_median, "scenario")
        )
        if pd.isna(figure):
            raise ScenarioError(
                f"Cannot estimate the population of {places.at[index, 'name']}: no district in the scenario "
                f"has a "
                "census total larger than its known places; add district totals to districts.csv."
            )
        places.at[index, "population"] = figure
        places.at[index, "population_rule"] = (
            f"estimated: median per-place figure of the {where} districts with a census total "
            f"({figure:,.0f}); "
            "the district and oblast totals leave no remainder"
        )
    return places


def places_at_risk(
    scenario: Scenario,
    *,
    risk_weight: RiskWeight = incident_kernel_weight,
    as_of: date | None = None,
) -> pd.DataFrame:
    """One row per place: its population, the share and number at risk, the risk weight and the demand.

    Parameters
    ----------
    scenario : Scenario
        From :func:`kalkan.scenarios.load_scenario`.
    risk_weight : RiskWeight
        Multiplier per place (default :func:`incident_kernel_weight` with the scenario's
        ``[risk_kernel]`` settings).
    as_of : date, optional
        The day to look from (default: the scenario's ``as_of``).

    Returns
    -------
    DataFrame
        Columns :data:`EXPOSURE_COLUMNS`. ``population`` and ``at_risk`` are people; ``group_share`` is a
        fraction; ``weight = at_risk * risk_weight`` is the planner's demand.
    """
    day = as_of or scenario.as_of
    places = estimate_population(scenario)
    shares = district_estimates(scenario)
    places = places.merge(shares, on="district", how="left")
    if places["group_share"].isna().any():
        lost = places.loc[places["group_share"].isna(), "district"].unique().tolist()
        raise ScenarioError(f"Places lie in districts {lost} that districts.csv does not list; add them.")
    places["group_share_estimated"] = places["group_share_estimated"].astype(bool)
    places["at_risk"] = places["population"] * places["group_share"]
    places["at_risk_estimated"] = places["population_estimated"] | places["group_share_estimated"]
    if risk_weight is incident_kernel_weight:
        kernel = scenario.settings.get("risk_kernel", {})
        weights = incident_kernel_weight(places, scenario.incidents, day, **kernel)
    else:
        weights = risk_weight(places, scenario.incidents, day)
    weights = np.asarray(weights, dtype=float)
    if weights.shape != (len(places),) or not np.all(np.isfinite(weights)) or (weights < 0).any():
        bad = int(np.sum(~np.isfinite(weights))) + int(np.sum(weights[np.isfinite(weights)] < 0))
        raise ScenarioError(
            f"The risk weight function returned {weights.size} values, {bad} of them negative or not finite; "
            f"it must return {len(places)} finite values >= 0, one per place."
        )
    places["risk_weight"] = weights
    places["weight"] = places["at_risk"] * places["risk_weight"]
    return places[EXPOSURE_COLUMNS]
