"""Forecast grids: PRIO-GRID ids as UCDP's, H3 cells, neighbours, areas, counts per period."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kalkan.errors import InputError, OptionError, SchemaError
from kalkan.risk.grids import (
    EARTH_RADIUS_KM,
    H3Grid,
    PrioGrid,
    cell_counts,
    forecast_cells,
    parse_grid,
    require_located,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ged" / "ged_caf_2013-09_2014-02.csv"


def test_priogrid_ids_match_ucdp() -> None:
    ged = pd.read_csv(FIXTURE)
    ids = PrioGrid().cell_ids(ged["latitude"].to_numpy(), ged["longitude"].to_numpy())
    np.testing.assert_array_equal(ids, ged["priogrid_gid"].to_numpy())


def test_priogrid_centroid_round_trip_and_corners() -> None:
    g = PrioGrid()
    ids = np.array([1, 720, 721, 129_600, 259_200])
    lat, lon = g.centroids(ids)
    np.testing.assert_array_equal(g.cell_ids(lat, lon), ids)
    # gid 1 is the south-west corner cell, 259,200 the north-east one
    assert (lat[0], lon[0]) == (-89.75, -179.75)
    assert (lat[-1], lon[-1]) == (89.75, 179.75)


def test_priogrid_areas_sum_to_the_sphere() -> None:
    areas = PrioGrid().areas_km2(np.arange(1, 259_201))
    assert areas.sum() == pytest.approx(4 * np.pi * EARTH_RADIUS_KM**2, rel=1e-9)
    # a cell at the equator is about 55.6 km x 55.3 km
    eq = PrioGrid().areas_km2(PrioGrid().cell_ids(np.array([0.1]), np.array([10.1])))[0]
    assert 3_000 < eq < 3_120


def test_priogrid_neighbours_interior_and_dateline() -> None:
    g = PrioGrid()
    c = g.cell_ids(np.array([6.2]), np.array([20.3]))
    nb = g.neighbours(c)
    assert len(nb) == 9 and c[0] in nb
    lat, lon = g.centroids(nb)
    assert np.all(np.abs(lat - 6.25) <= 0.5) and np.all(np.abs(lon - 20.25) <= 0.5)
    # a cell on the date line has neighbours across it
    east = g.cell_ids(np.array([0.1]), np.array([179.9]))
    west_lon = g.centroids(g.neighbours(east))[1]
    assert (west_lon < -179).sum() == 3


def test_h3_cells_round_trip_and_have_six_neighbours() -> None:
    g = H3Grid(resolution=6)
    ids = g.cell_ids(np.array([40.53, 40.94]), np.array([72.80, 73.0]))
    lat, lon = g.centroids(ids)
    np.testing.assert_array_equal(g.cell_ids(lat, lon), ids)
    assert len(g.neighbours(ids[:1])) == 7
    labels = g.format_ids(ids)
    assert all(isinstance(x, str) and len(x) == 15 for x in labels)
    assert 25 < g.areas_km2(ids)[0] < 45  # resolution 6 hexagons are ~36 km^2


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("priogrid", PrioGrid()),  # the default
        ("PRIOGRID", PrioGrid()),  # case does not matter
        ("h3:5", H3Grid(resolution=5)),  # resolution after the colon
    ],
)
def test_parse_grid(spec: str, expected: object) -> None:
    assert parse_grid(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("hex", "Unknown grid 'hex'"),  # no such grid
        ("h3:x", "Unknown grid 'h3:x'"),  # resolution not a number
        ("h3:16", "H3 resolution must be 0-15"),  # out of range
    ],
)
def test_parse_grid_errors(spec: str, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        parse_grid(spec)


def _events(dates: list[str], lat: float = 6.2, lon: float = 20.3) -> pd.DataFrame:
    return pd.DataFrame({"date_start": pd.to_datetime(dates), "latitude": lat, "longitude": lon})


def test_cell_counts_per_day_week_month() -> None:
    ev = pd.concat(
        [_events(["2014-01-06", "2014-01-06", "2014-01-08", "2014-02-03"]), _events(["2014-01-07"], lat=7.2)],
        ignore_index=True,
    )
    day = cell_counts(ev, "priogrid", "day")
    assert day["events"].tolist() == [2, 1, 1, 1]
    week = cell_counts(ev, "priogrid", "week")
    first = week[week["period_start"] == pd.Timestamp("2014-01-06")]
    assert sorted(first["events"].tolist()) == [1, 3]
    month = cell_counts(ev, "priogrid", "month")
    assert month.groupby("period_start")["events"].sum().tolist() == [4, 1]
    with pytest.raises(OptionError, match="Unknown period 'year'"):
        cell_counts(ev, "priogrid", "year")  # type: ignore[arg-type]


def test_forecast_cells_are_history_cells_and_neighbours() -> None:
    g = PrioGrid()
    ids = g.cell_ids(np.array([6.2, 6.2]), np.array([20.3, 22.3]))
    cells = forecast_cells(g, ids)
    assert len(cells) == 18 and set(ids) <= set(cells)


def test_require_located_names_bad_rows() -> None:
    ev = _events(["2014-01-06"] * 8)
    ev.loc[[2, 5], "latitude"] = np.nan
    with pytest.raises(InputError, match=r"2 of 8 events have no valid coordinates \(rows 3, 6\)"):
        require_located(ev)
    bad = pd.DataFrame({"date_start": ["2014-01-06", "not a date"], "latitude": 6.2, "longitude": 20.3})
    with pytest.raises(InputError, match=r"1 of 2 events have no valid date_start \(rows 2\)"):
        require_located(bad)
    with pytest.raises(SchemaError, match="lacks column"):
        require_located(pd.DataFrame({"date_start": ["2014-01-01"]}))
