"""Populations at risk: who lives where, how many of them belong to the group at risk, and how exposed.

For each place the planner needs one number, its demand ``weight = at_risk * risk_weight``:

* ``population``: the place's own figure where the data has one. Most villages have none, so it is
  **estimated** (``population_estimated`` is True) by the first rule that applies:

  0. *census total wins*: where a unit (district or city) has a census total and its places' own
     figures already add up to more (a city's undated GeoNames figure against its census count), all its
     places are scaled to add up to the census total;
  1. *district remainder*: the district's census population minus the places with a figure in
     that district, shared equally by the district's places without one;
  2. *oblast remainder*: where the district total is unknown, the oblast total minus the known district
     totals and the known places of the unknown districts, shared equally by all places without a figure
     in those districts;
  3. *median per place*: where neither leaves a remainder of at least one person a place, the median
     per-place figure of rule 1 in the same oblast (or in the whole scenario if the oblast has none).

* ``group_share``: the unit's own census share of the group at risk (fraction 0-1). Where the census
  share is not known the share is **unknown** (``group_share_known`` False; NaN in
  :func:`district_estimates`, 0 in :func:`places_at_risk`, which counts nobody there): no larger unit's
  share stands in for it. ``group_share_max`` is its stated bound (see :func:`district_estimates`).
* ``at_risk = population * group_share`` (people) where the share is known; 0 where it is unknown
  (``at_risk_known`` False), so the planner counts only people known to be at risk, and
  ``at_risk_max = population * group_share_max`` says how many it could be at most.
  :func:`reconcile` checks the sums against the census counts of the group.
* ``risk_weight``: a multiplier >= 0 from a :data:`RiskWeight` function of the places, the events and the
  day; by default :func:`incident_kernel_weight`. The hotspot forecaster provides another one
  (``kalkan.risk.hotspots.forecast_risk_weight``) with the same signature.

Every estimated number carries its flag and the rule that made it (``population_rule``, ``share_rule``),
so tables, the brief and the CLI can mark it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kalkan.errors import ScenarioError
from kalkan.plan.defaults import RISK_DECAY_DAYS, RISK_FLOOR, RISK_KERNEL_KM
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
    "population_estimated", "population_rule", "group_share", "group_share_known", "group_share_max",
    "share_rule", "at_risk", "at_risk_known", "at_risk_max", "at_risk_estimated", "risk_weight", "weight",
]  # fmt: skip

_CHUNK_CELLS = 1_000_000


def kernel_settings(scenario: Scenario) -> dict[str, Any]:
    """The incident kernel's ``distance_km``, ``decay_days`` and ``floor``: the scenario's ``[risk_kernel]``
    where it sets them, else the defaults of :mod:`kalkan.plan.defaults`."""
    given = scenario.settings.get("risk_kernel", {})
    return {"distance_km": RISK_KERNEL_KM, "decay_days": RISK_DECAY_DAYS, "floor": RISK_FLOOR, **given}


def incident_kernel_weight(
    places: pd.DataFrame,
    events: pd.DataFrame,
    as_of: date,
    *,
    distance_km: float = RISK_KERNEL_KM,
    decay_days: float = RISK_DECAY_DAYS,
    floor: float = RISK_FLOOR,
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
        Kernel bandwidth in km (default 25: about the distance from a city to the neighbouring towns that
        violence can reach within days).
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
    return np.asarray(floor + (1 - floor) * raw / top)


def _column(frame: pd.DataFrame, *names: str) -> str | None:
    """The first of ``names`` that ``frame`` has (scenario files renamed columns over time), else None."""
    return next((n for n in names if n in frame.columns), None)


def _population_column(frame: pd.DataFrame) -> str:
    name = _column(frame, "population", "population_2009")
    if name is None:
        raise ScenarioError(
            "The scenario's districts have no census population column ('population'); add it."
        )
    return name


def _share_column(scenario: Scenario) -> str:
    settings = scenario.settings
    wanted = str(settings.get("group_share_column", "group_share_pct"))
    name = _column(scenario.districts, wanted, "group_share_pct")
    if name is None:
        raise ScenarioError(
            "The scenario's districts have no group share column ('group_share_pct'); "
            "add it to districts.csv."
        )
    return name


def district_estimates(scenario: Scenario) -> pd.DataFrame:
    """Per district: the census share of the group (fraction), or NaN when unknown, with a stated bound.

    A district without its own census share is *unknown*: no larger unit's share stands in for it (an
    oblast's average puts people of the group in districts where almost none live). Its bound
    ``group_share_max`` is the scenario's ``group_share_max_pct`` where given, else 100% minus the
    census share of the majority (``majority_share_pct``) where known, else 100%.

    A unit may instead carry ``group_count`` (people of the group in the unit, often an estimate derived
    from larger units' census counts, flagged by ``group_count_estimated``): its share stays NaN here and
    :func:`places_at_risk` spreads the count over the unit's places in proportion to their population.

    Columns: ``district, group_share`` (0-1, NaN if unknown) ``, group_share_known, group_share_max``
    (0-1) ``, share_rule, share_source_ids, group_count`` (people, NaN if none) ``, group_count_estimated,
    group_count_max`` (a stated upper bound of the unit's people of the group: never counted, only
    ``at_risk_max``).
    """
    share_column = _share_column(scenario)
    d = scenario.districts
    majority_wanted = str(scenario.settings.get("majority_share_column", "majority_share_pct"))
    majority = _column(d, majority_wanted, "majority_share_pct", "kyrgyz_share_pct")
    cap = _column(d, "group_share_max_pct")
    census = scenario.settings.get("census", {})
    year = f" {census['year']}" if isinstance(census, dict) and "year" in census else ""
    rows = []
    for _, row in d.iterrows():
        share = float(row[share_column]) if pd.notna(row[share_column]) else np.nan
        sources = str(row.get("source_ids", "") or "")
        count = float(row["group_count"]) if pd.notna(row.get("group_count", np.nan)) else np.nan
        most = float(row["group_count_max"]) if pd.notna(row.get("group_count_max", np.nan)) else np.nan
        estimated = bool(row.get("group_count_estimated", False)) and np.isfinite(count)
        if np.isfinite(share):
            rows.append(
                (
                    row["district"],
                    share / 100,
                    True,
                    share / 100,
                    f"census{year} share of the unit",
                    sources,
                    np.nan,
                    False,
                    np.nan,
                )
            )
            continue
        if np.isfinite(count):
            word = "estimate" if estimated else "count"
            rows.append(
                (
                    row["district"],
                    np.nan,
                    False,
                    1.0,
                    f"{word}: {count:,.0f} people of the group in the unit, spread over its places by people",
                    sources,
                    count,
                    estimated,
                    np.nan,
                )
            )
            continue
        if np.isfinite(most):  # a stated upper bound of the unit's count: nobody counted, at most this many
            rows.append(
                (
                    row["district"],
                    np.nan,
                    False,
                    np.nan,
                    f"no census share found; at most {most:,.0f} people of the group in the unit (a stated "
                    "bound, not a count)",
                    sources,
                    np.nan,
                    False,
                    most,
                )
            )
            continue
        bound, why = 1.0, "no census share found; no bound"
        if cap is not None and pd.notna(row[cap]):
            bound, why = (
                float(row[cap]) / 100,
                f"no census share found; at most {float(row[cap]):g}% (stated bound)",
            )
        elif majority is not None and pd.notna(row[majority]):
            bound = max(0.0, 100 - float(row[majority])) / 100
            group = scenario.settings.get("group", {})
            word = str(group.get("majority", "the majority")) if isinstance(group, dict) else "the majority"
            why = (
                f"no census share found; at most {bound:.1%} "
                f"(the census gives {float(row[majority]):g}% to {word})"
            )
        rows.append((row["district"], np.nan, False, bound, why, sources, np.nan, False, np.nan))
    return pd.DataFrame(
        rows,
        columns=[
            "district",
            "group_share",
            "group_share_known",
            "group_share_max",
            "share_rule",
            "share_source_ids",
            "group_count",
            "group_count_estimated",
            "group_count_max",
        ],
    )


def estimate_population(scenario: Scenario) -> pd.DataFrame:
    """Places with ``population`` filled by the rules of the module docstring, flagged and explained.

    Returns the scenario's places with ``population`` (people), ``population_estimated`` (bool) and
    ``population_rule`` (text).
    """
    places = scenario.places.copy()
    known = places["population"].notna()
    places["population_estimated"] = ~known
    places["population_rule"] = np.where(known, "measured: " + places["population_source"].astype(str), "")
    column = _population_column(scenario.districts)
    totals = dict(zip(scenario.districts["district"], scenario.districts[column], strict=True))
    district_oblast = dict(zip(scenario.districts["district"], scenario.districts["oblast"], strict=True))
    per_place: dict[str, float] = {}  # district -> rule-1 figure
    over_full: list[str] = []  # districts whose places with a figure leave no census remainder

    # Rule 1: district remainder.
    for district, group in places.groupby("district"):
        total = totals.get(str(district), np.nan)
        missing = group.index[group["population"].isna()]
        if pd.isna(total):
            continue
        remainder = total - group["population"].sum(skipna=True)
        if not len(missing):
            if remainder < 0:
                over_full.append(str(district))
            continue
        if remainder >= len(missing):  # a remainder of less than one person a place is no remainder
            share = remainder / len(missing)
            per_place[str(district)] = share
            places.loc[missing, "population"] = share
            places.loc[missing, "population_rule"] = (
                f"estimated: {district} census total {total:,.0f} minus its places with a figure, "
                f"shared by its {len(missing)} places without one"
            )
        else:
            over_full.append(str(district))

    scenario_median = float(np.median(list(per_place.values()))) if per_place else np.nan

    def median_for(oblast: str) -> tuple[float, str]:
        values = [v for d, v in per_place.items() if district_oblast.get(d) == oblast]
        return (float(np.median(values)), f"{oblast} oblast") if values else (scenario_median, "scenario")

    # Rule 0: a unit's census total wins over the places' own figures (a city's undated figure, say).
    for district in over_full:
        rows = places.index[places["district"] == district]
        total = float(totals[district])
        figures = places.loc[rows, "population"]
        prior, _ = median_for(str(district_oblast.get(district, "")))
        if not np.isfinite(prior) or prior <= 0:
            prior = float(figures.mean()) if figures.notna().any() else 1.0
        raw = figures.fillna(prior)
        scaled = raw * (total / raw.sum()) if raw.sum() > 0 else pd.Series(total / len(rows), index=rows)
        places.loc[rows, "population"] = scaled
        places.loc[rows, "population_estimated"] = True
        places.loc[rows, "population_rule"] = (
            f"estimated: scaled so that the {len(rows)} places of {district} add up to its census total "
            f"{total:,.0f} (their own figures, undated or estimated, added up to more)"
        )

    # Rule 2: oblast remainder over the districts without a total.
    oblast_column = _population_column(scenario.oblasts) if len(scenario.oblasts) else column
    oblast_total = dict(zip(scenario.oblasts["oblast"], scenario.oblasts[oblast_column], strict=True))
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
    for index in places.index[places["population"].isna()]:
        figure, where = median_for(str(places.at[index, "oblast"]))
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


def reconcile(exposure: pd.DataFrame, scenario: Scenario) -> None:
    """Stop when the people at risk add up to more than the census counts of the group.

    Two checks, both generic: (1) in every unit with a census total and a census share, the group's
    people at risk over its places are at most ``total x share``; (2) over all places, at most the
    scenario's census count of the group (``[census] group_total`` in scenario.toml: the count in the
    units the scenario covers, or in the whole country, which bounds them). Raises
    :class:`~kalkan.errors.ScenarioError` naming the units, largest first.
    """
    by_unit = exposure.groupby("district")["at_risk"].sum()
    d = scenario.districts.set_index("district")
    column, share = _population_column(scenario.districts), _share_column(scenario)
    totals = d[column].astype(float).to_dict()
    shares = d[share].astype(float).to_dict()
    over = []
    for unit, people in by_unit.items():
        total, pct = totals.get(unit, np.nan), shares.get(unit, np.nan)
        if np.isfinite(total) and np.isfinite(pct):
            count = total * pct / 100
            if people > count * (1 + 1e-9) + 0.5:
                over.append(f"{unit} ({people:,.0f} against {count:,.0f})")
    if over:
        raise ScenarioError(
            "People at risk exceed the census count of the group in "
            + ", ".join(over)
            + "; check these units' places and census rows in districts.csv."
        )
    census = scenario.settings.get("census", {})
    limit = census.get("group_total") if isinstance(census, dict) else None
    if limit is None:
        return
    total = float(exposure["at_risk"].sum())
    if total > float(limit) * (1 + 1e-9):
        largest = by_unit.sort_values(ascending=False).head(6)
        names = ", ".join(f"{u} {v:,.0f}" for u, v in largest.items())
        area = census.get("group_total_area", census.get("area", "the scenario's area"))
        raise ScenarioError(
            f"People at risk add up to {total:,.0f}, more than the census count of {limit:,.0f} "
            f"{scenario.group_at_risk} in {area}; the largest units: {names}. Check their census totals "
            "and shares in districts.csv."
        )


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
    places = places.merge(
        shares.rename(columns={"group_count": "unit_group_count"}), on="district", how="left"
    )
    if places["group_share_known"].isna().any():
        lost = places.loc[places["group_share_known"].isna(), "district"].unique().tolist()
        raise ScenarioError(f"Places lie in districts {lost} that districts.csv does not list; add them.")
    places["group_share_known"] = places["group_share_known"].astype(bool)
    # A unit's count of the group (no census share): its places share it in proportion to population.
    unit_count = places.pop("unit_group_count")
    unit_most = places.pop("group_count_max")
    counted_unit = unit_count.notna()
    unit_people = places.groupby("district")["population"].transform("sum")
    spread = (unit_count / unit_people.where(unit_people > 0)).clip(upper=1.0)
    # A unit's stated upper bound: nobody counted there, at most the bound spread over its places.
    bounded = unit_most.notna()
    places.loc[bounded, "group_share_max"] = (unit_most / unit_people.where(unit_people > 0)).clip(upper=1.0)[
        bounded
    ]
    places.loc[counted_unit, "group_share"] = spread[counted_unit]
    places.loc[counted_unit, "group_share_max"] = spread[counted_unit]
    places.loc[counted_unit, "group_share_known"] = True
    places["at_risk_known"] = places["group_share_known"]
    places["at_risk"] = (places["population"] * places["group_share"]).fillna(0.0)
    places["at_risk_max"] = places["population"] * places["group_share_max"]
    places["at_risk_estimated"] = (
        places["population_estimated"]
        | ~places["group_share_known"]
        | places["group_count_estimated"].fillna(False).astype(bool)
    )
    if "group_count" in places.columns:  # people of the group counted at a place, sourced and dated
        counted = pd.to_numeric(places["group_count"], errors="coerce")
        has = counted.notna() & (counted >= 0)
        places.loc[has, "at_risk"] = counted[has]
        places.loc[has, "at_risk_known"] = True
        places.loc[has, "at_risk_max"] = np.maximum(places.loc[has, "at_risk_max"].fillna(0), counted[has])
        places.loc[has, "share_rule"] = "people of the group counted at the place"
    # Counted share: 0 where unknown (as at_risk), so the planner and the simulation count only people
    # known to be of the group; group_share_known and at_risk_max keep the unknown visible.
    places["group_share"] = places["group_share"].fillna(0.0)
    if risk_weight is incident_kernel_weight:
        weights = incident_kernel_weight(places, scenario.incidents, day, **kernel_settings(scenario))
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


WHERE_COLUMNS = [
    *EXPOSURE_COLUMNS,
    "residents_at_risk",
    "moved_out",
    "change",
    "returned",
    "site_kind",
    "site_date",
    "site_source_ids",
]
"""Columns of :attr:`WhereTheyAre.places`: the exposure columns (``at_risk`` and ``weight`` where people
are on the day) plus ``residents_at_risk`` (by census residence), ``moved_out`` (people of the group gone
from the place to sites or out of the area), ``change = at_risk - residents_at_risk``, ``returned``
(returnees counted back in the place's unit, shown, already in ``at_risk``), and for site rows
``site_kind`` (camp, collective_centre, host_area, border_crossing; "" for a place of residence),
``site_date`` and ``site_source_ids``."""


@dataclass(frozen=True)
class WhereTheyAre:
    """People of the group at risk where they are on a day, beside where the census puts them.

    ``places`` has one row per place of residence and per site (columns :data:`WHERE_COLUMNS`); the
    planner plans on its ``weight`` as on :func:`places_at_risk`'s. The figures behind it (the latest of
    each series known by ``as_of``) are in ``figures``; the totals say where the rest are.
    """

    as_of: date
    group: str
    places: pd.DataFrame
    figures: pd.DataFrame
    residents: float  # people of the group by census residence (as places_at_risk counts them)
    now: float  # people of the group where they are: residence - moved out + at sites
    out_of_area: float  # people of the group gone out of the area
    in_sites: float  # people of the group at sites inside the area
    not_placed: float  # people of the group reported moved whose home units count none to move
    returned: float  # returnees of the group counted back home (shown; already in ``now``)
    displaced: float  # reported displaced people (any group): the latest whole-area figure; NaN if none
    uncounted_at_most: float = 0.0  # at most this many more in places whose share is unknown (never counted)

    @property
    def change(self) -> float:
        """People at risk where they are minus by residence (negative: people gone out of the area)."""
        return self.now - self.residents

    def by_unit(self) -> pd.DataFrame:
        """Per unit: ``residents_at_risk, at_risk`` (now) ``, change, moved_out, returned, in_sites``."""
        table = self.places.assign(
            in_sites=np.where(self.places["site_kind"] != "", self.places["at_risk"], 0.0)
        )
        summed = table.groupby("district")[
            ["residents_at_risk", "at_risk", "change", "moved_out", "in_sites"]
        ].sum()
        returned = table.groupby("district")["returned"].max()
        return summed.assign(returned=returned).reset_index()

    def describe(self) -> str:
        """One plain sentence for a reader: both figures, the change and where the difference is."""
        day = f"{self.as_of:%d %B %Y}".lstrip("0")
        parts = [
            f"As of {day}: {self.residents:,.0f} {self.group} counted where they live (census and dated "
            f"counts), {self.now:,.0f} where they are ({self.change:+,.0f})"
        ]
        if self.out_of_area:
            parts.append(f"{self.out_of_area:,.0f} reported gone out of the area")
        if self.in_sites:
            parts.append(f"{self.in_sites:,.0f} at sites")
        if self.returned:
            parts.append(f"{self.returned:,.0f} reported back home")
        if self.uncounted_at_most:
            parts.append(
                f"not counted: up to {self.uncounted_at_most:,.0f} more where the census share is unknown"
            )
        if self.not_placed:
            parts.append(
                f"{self.not_placed:,.0f} reported moved from units where none are counted (not moved)"
            )
        text = "; ".join(parts) + "."
        if np.isfinite(self.displaced):
            text += f" Reported displaced, all groups: {self.displaced:,.0f}."
        if self.figures.empty:
            text += " No displacement figure was known on that day: people are counted where they live."
        return text


def _displaced_total(displaced: pd.DataFrame) -> float:
    """The reported displaced total: the latest whole-area figure, else the units' figures added up."""
    if displaced.empty:
        return float("nan")
    whole = displaced[displaced["from_units"].map(len) == 0]
    return float(whole["people"].max() if len(whole) else displaced["people"].sum())


def _spread(people: float, units: tuple[str, ...], residents: pd.Series) -> dict[str, float]:
    """``people`` over ``units`` (() = every unit) in proportion to the group's residents there."""
    pool = residents if not units else residents.reindex(list(units)).fillna(0.0)
    total = float(pool.sum())
    if total <= 0:
        return {}
    return {str(u): people * float(v) / total for u, v in pool.items() if v > 0}


def people_where_they_are(
    scenario: Scenario,
    *,
    as_of: date | None = None,
    risk_weight: RiskWeight = incident_kernel_weight,
) -> WhereTheyAre:
    """People of the group at risk where they are on ``as_of``: residence minus the displaced plus sites.

    Starts from :func:`places_at_risk` (census residence) and applies the scenario's displacement figures
    (``displacement.csv``; see ``kalkan.scenarios._displacement``) known on the day, the latest of each
    series:

    * people of the group ``out_of_area`` or at a site (camp, collective centre, host area, border
      crossing) leave their home units (``from_units``, else the whole area), each unit in proportion to
      its residents of the group, never below zero (what cannot be taken from a unit is ``not_placed``);
    * each site of the group becomes a row at its coordinates, with its people as ``at_risk``;
    * returnees are counted at home already (a unit's residents); their figure is shown (``returned``);
    * figures of other groups (e.g. "all") and ``displaced`` totals are shown, never counted.

    The risk weight is computed on residence and sites together, so a camp near recent incidents weighs
    more. Without displacement figures the result equals :func:`places_at_risk` (no change).
    """
    from kalkan.scenarios._displacement import MOVED_KINDS, SITE_KINDS, latest_figures

    day = as_of or scenario.as_of
    base = places_at_risk(scenario, risk_weight=lambda p, e, d: np.ones(len(p)), as_of=day)
    figures = latest_figures(scenario.displacement, day)
    ours = figures[figures["of_group"]] if len(figures) else figures
    residents = base.groupby("district")["at_risk"].sum()
    moved: dict[str, float] = {}
    not_placed = 0.0
    for _, row in ours[ours["kind"].isin(MOVED_KINDS)].iterrows():
        shares = _spread(float(row["people"]), tuple(row["from_units"]), residents)
        not_placed += float(row["people"]) - sum(shares.values())
        for unit, people in shares.items():
            moved[unit] = moved.get(unit, 0.0) + people
    returned: dict[str, float] = {}
    for _, row in ours[ours["kind"] == "return_area"].iterrows():
        units = (row["unit"],) if row["unit"] else tuple(row["from_units"])
        for unit, people in _spread(float(row["people"]), units, residents).items():
            returned[unit] = returned.get(unit, 0.0) + people
    taken = {u: min(p, float(residents.get(u, 0.0))) for u, p in moved.items()}
    not_placed += sum(moved.values()) - sum(taken.values())
    keep = base["district"].map(
        lambda u: 1 - taken.get(u, 0.0) / residents[u] if residents.get(u, 0) > 0 else 1.0
    )
    places = base.copy()
    places["residents_at_risk"] = base["at_risk"]
    for column in ("at_risk", "at_risk_max"):
        places[column] = base[column] * keep
    places["moved_out"] = base["at_risk"] - places["at_risk"]
    places["returned"] = places["district"].map(lambda u: returned.get(u, 0.0))
    places["site_kind"] = ""
    places["site_date"] = pd.NaT
    places["site_source_ids"] = ""
    sites = figures[figures["kind"].isin(SITE_KINDS)] if len(figures) else figures
    if len(sites):
        oblast_of = dict(zip(scenario.districts["district"], scenario.districts["oblast"], strict=False))
        rows = pd.DataFrame(
            {
                "place_id": [f"site:{n}" for n in sites["row"]],
                "name": sites["site"].to_numpy(),
                "kind": sites["kind"].to_numpy(),
                "latitude": sites["latitude"].to_numpy(float),
                "longitude": sites["longitude"].to_numpy(float),
                "district": sites["unit"].to_numpy(),
                "oblast": [oblast_of.get(u, "") for u in sites["unit"]],
                "population": sites["people"].to_numpy(float),
                "population_estimated": sites["estimate"].to_numpy(bool),
                "population_rule": [
                    f"{'estimate' if e else 'count'}: {p:,.0f} at the {k.replace('_', ' ')} on {d:%d %b %Y}"
                    for p, k, d, e in zip(
                        sites["people"], sites["kind"], sites["date"], sites["estimate"], strict=True
                    )
                ],
                "group_share": np.where(sites["of_group"], 1.0, 0.0),
                "group_share_known": True,
                "group_share_max": np.where(sites["of_group"], 1.0, 0.0),
                "share_rule": np.where(
                    sites["of_group"],
                    "people of the group counted at the site",
                    "people of other groups (or not counted by group) at the site: not counted at risk",
                ),
                "at_risk": np.where(sites["of_group"], sites["people"].to_numpy(float), 0.0),
                "at_risk_known": True,
                "at_risk_max": np.where(sites["of_group"], sites["people"].to_numpy(float), 0.0),
                "at_risk_estimated": sites["estimate"].to_numpy(bool),
                "residents_at_risk": 0.0,
                "moved_out": 0.0,
                "returned": 0.0,
                "site_kind": sites["kind"].to_numpy(),
                "site_date": sites["date"].to_numpy(),
                "site_source_ids": sites["source_ids"].to_numpy(),
            }
        )
        places = pd.concat([places, rows], ignore_index=True)
    if risk_weight is incident_kernel_weight:
        weights = incident_kernel_weight(places, scenario.incidents, day, **kernel_settings(scenario))
    else:
        weights = np.asarray(risk_weight(places, scenario.incidents, day), dtype=float)
    places["risk_weight"] = weights
    places["weight"] = places["at_risk"] * places["risk_weight"]
    places["change"] = places["at_risk"] - places["residents_at_risk"]
    displaced = figures[figures["kind"] == "displaced"] if len(figures) else figures
    return WhereTheyAre(
        as_of=day,
        group=scenario.group_at_risk,
        places=places[WHERE_COLUMNS].reset_index(drop=True),
        figures=figures,
        residents=float(base["at_risk"].sum()),
        now=float(places["at_risk"].sum()),
        out_of_area=float(ours.loc[ours["kind"] == "out_of_area", "people"].sum()) if len(ours) else 0.0,
        in_sites=float(sites.loc[sites["of_group"], "people"].sum()) if len(sites) else 0.0,
        not_placed=max(0.0, not_placed),
        returned=float(ours.loc[ours["kind"] == "return_area", "people"].sum()) if len(ours) else 0.0,
        displaced=_displaced_total(displaced),
        uncounted_at_most=float(
            (places["at_risk_max"] - places["at_risk"])
            .where(~places["at_risk_known"].astype(bool), 0.0)
            .sum()
        ),
    )
