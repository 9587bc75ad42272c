"""Baselines on hand-built series: one cell, events on known days, forecasts worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kalkan.errors import InputError, NotFittedError
from kalkan.risk.baselines import (
    CellForecaster,
    ConflictologyBaseline,
    LastValueBaseline,
    MeanBaseline,
    ZeroBaseline,
    make_baseline,
)

CUT = "2014-01-30"  # cut-off day; with a 10-day horizon the periods are Jan 21-30, Jan 11-20, Jan 1-10


def _series() -> pd.DataFrame:
    """Cell A (6.2N 20.3E): 2 events in the last period, 0 in the one before, 3 in the third.
    Cell B (8.2N 20.3E): 1 event on Dec 25, in the 4th period back (Dec 22-31), outside a 3-period window."""
    a = ["2014-01-25", "2014-01-30", "2014-01-01", "2014-01-05", "2014-01-10"]
    b = ["2013-12-25"]
    later = ["2014-01-31", "2014-02-05"]  # after the cut-off: must be ignored
    return pd.DataFrame(
        {
            "date_start": pd.to_datetime(a + b + later),
            "latitude": [6.2] * 5 + [8.2] + [6.2] * 2,
            "longitude": 20.3,
        }
    )


def _row(forecast: pd.DataFrame, lat: float) -> pd.Series:
    cell = forecast[((forecast["latitude"] - lat).abs() < 0.3) & (forecast["longitude"] == 20.25)]
    assert len(cell) == 1
    return cell.iloc[0]


def _index(model: CellForecaster) -> int:
    """Row of cell A (centre 6.25N 20.25E) in a fitted baseline's cells."""
    lat, lon = model.cell_latitude_, model.cell_longitude_
    return int(np.flatnonzero((np.abs(lat - 6.25) < 0.3) & (lon == 20.25))[0])


def test_zero_baseline_forecasts_nothing() -> None:
    fc = ZeroBaseline().fit(_series(), until=CUT).predict(10)
    assert (fc["probability"] == 0).all() and (fc["expected_events"] == 0).all()
    # forecast cells: the two history cells and their neighbours (two 3x3 blocks, 18 cells)
    assert len(fc) == 18


def test_last_value_baseline_repeats_the_last_period() -> None:
    model = LastValueBaseline().fit(_series(), until=CUT)
    fc = model.predict(10)
    a, b = _row(fc, 6.25), _row(fc, 8.25)
    assert (a["expected_events"], a["probability"]) == (2.0, 1.0)
    assert (b["expected_events"], b["probability"]) == (0.0, 0.0)
    cdf = model.predict_cdf(10, 3)
    row = int(np.flatnonzero(((fc["latitude"] - 6.25).abs() < 0.3) & (fc["longitude"] == 20.25))[0])
    np.testing.assert_array_equal(cdf[row], [0, 0, 1, 1])


def test_mean_baseline_is_the_poisson_mean_of_the_window() -> None:
    model = MeanBaseline(n_periods=3).fit(_series(), until=CUT)
    counts = model.period_counts(10, 3)
    row = _index(model)
    np.testing.assert_array_equal(counts[row], [2, 0, 3])
    a = _row(model.predict(10), 6.25)
    assert a["expected_events"] == pytest.approx(5 / 3)
    assert a["probability"] == pytest.approx(1 - np.exp(-5 / 3))
    b = _row(model.predict(10), 8.25)
    assert b["expected_events"] == 0  # its event is in the 4th period back
    assert _row(MeanBaseline(n_periods=4).fit(_series(), until=CUT).predict(10), 8.25)[
        "expected_events"
    ] == pytest.approx(0.25)


def test_conflictology_is_the_empirical_distribution_of_recent_periods() -> None:
    model = ConflictologyBaseline(n_periods=3).fit(_series(), until=CUT)
    a = _row(model.predict(10), 6.25)
    assert a["probability"] == pytest.approx(2 / 3)  # 2 of 3 periods had an event
    assert a["expected_events"] == pytest.approx(5 / 3)
    row = _index(model)
    np.testing.assert_allclose(model.predict_cdf(10, 3)[row], [1 / 3, 1 / 3, 2 / 3, 1.0])


@pytest.mark.parametrize("name", ["zero", "last", "mean12", "conflictology"])
def test_baselines_ignore_events_after_the_cut_off(name: str) -> None:
    ev = _series()
    early = ev[ev["date_start"] <= CUT]
    a = make_baseline(name).fit(ev, until=CUT).predict(10)
    b = make_baseline(name).fit(early, until=CUT).predict(10)
    pd.testing.assert_frame_equal(a, b)


def test_baseline_errors() -> None:
    with pytest.raises(NotFittedError, match="call fit"):
        MeanBaseline().predict(10)
    with pytest.raises(InputError, match="'n_periods' parameter of MeanBaseline must be an int >= 1. Got 0"):
        MeanBaseline(n_periods=0).fit(_series())
    with pytest.raises(InputError, match="Unknown baseline 'median'"):
        make_baseline("median")
    with pytest.raises(InputError, match="horizon must be a whole number of days >= 1, got 0"):
        LastValueBaseline().fit(_series()).predict(0)
    assert make_baseline("mean6").get_params() == {"grid": "priogrid", "n_periods": 6}
