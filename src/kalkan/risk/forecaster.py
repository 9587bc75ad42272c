"""The shared base of the hotspot forecasters: the history before a cut-off and the forecast cells.

Every hotspot forecaster (the Hawkes model, gradient boosting, the baselines) is fitted the same way:
the located events on or before the cut-off (:func:`history_before`; no look-ahead) are put in the
cells of a grid, and the forecast covers every cell with an event and its neighbours
(:func:`~kalkan.risk.grids.forecast_cells`), so the models' scores compare like with like.
:class:`CellForecaster` does that once, on the shared conventions of :mod:`kalkan._base` (parameter
rules checked in ``fit``, ``get_params`` from the signature, one fitted check); a forecaster adds what
it learns in :meth:`CellForecaster._learn`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from kalkan import _base
from kalkan.errors import InputError
from kalkan.risk.grids import Grid, forecast_cells, parse_grid, require_located

__all__ = [
    "FIT_CALL",
    "CellForecaster",
    "History",
    "check_horizon",
    "event_fatalities",
    "history_before",
]

FIT_CALL = "fit(events, until=...)"
"""How a hotspot forecaster is fitted, as the not-fitted message says it."""


@dataclass(frozen=True)
class History:
    """Located events on or before the cut-off, on the model's time axis."""

    times: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    until: date
    end_day: float
    frame: pd.DataFrame


def history_before(events: pd.DataFrame, until: date | str | None) -> History:
    """Events with ``date_start`` on or before ``until``, checked, with continuous times (days).

    Events dated to the day (no time of day) are put at mid-day, so events of the same day cannot
    trigger one another (their order is unknown); events with a time of day keep it.
    """
    if not isinstance(events, pd.DataFrame):
        raise InputError(
            f"events must be a pandas DataFrame in kalkan.model columns, got {type(events).__name__}."
        )
    if len(events) == 0:
        raise InputError("The event table is empty: give a file with at least one dated, located event.")
    located = require_located(events)
    stamps = pd.to_datetime(located["date_start"])
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    days = stamps.dt.normalize()
    cut = pd.Timestamp(until) if until is not None else days.max()
    if pd.isna(cut):
        raise InputError(f"Cannot read the cut-off date {until!r}: give an ISO date such as 2010-06-10.")
    cut = cut.normalize()
    keep = (days <= cut).to_numpy()
    if not keep.any():
        raise InputError(
            f"No events on or before {cut.date()} (the {len(events)} events start on "
            f"{days.min().date()}): choose a later cut-off date or add earlier events."
        )
    frame = located.loc[keep]
    stamps = stamps[keep]
    ns = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    t = ns / 86_400e9
    whole = (ns % 86_400_000_000_000) == 0
    t = np.where(whole, t + 0.5, t)  # a day-precision event happened at some time that day: mid-day
    order = np.argsort(t, kind="stable")
    end_day = float(cut.to_datetime64().astype("datetime64[D]").astype(np.int64)) + 1.0
    return History(
        times=t[order],
        latitude=frame["latitude"].to_numpy(float)[order],
        longitude=frame["longitude"].to_numpy(float)[order],
        until=cut.date(),
        end_day=end_day,
        frame=frame.iloc[order],
    )


def check_horizon(horizon_days: Any) -> int:
    """The forecast horizon as a whole number of days >= 1, or a clear error."""
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int | np.integer) or horizon_days < 1:
        raise InputError(
            f"The forecast horizon must be a whole number of days >= 1, got {horizon_days!r}: "
            "use e.g. --horizon-days 30."
        )
    return int(horizon_days)


_NO_FATALITIES = (
    "The event table has no fatalities_best column: fatality forecasts need the "
    "number of people killed per event (GED 'best', ACLED 'fatalities')."
)


def event_fatalities(frame: pd.DataFrame) -> np.ndarray:
    """Deaths per event (``fatalities_best``; blank counts as 0), or a clear error without the column."""
    if "fatalities_best" not in frame.columns:
        raise InputError(_NO_FATALITIES)
    values = pd.to_numeric(frame["fatalities_best"], errors="coerce").fillna(0.0).to_numpy(float)
    return np.asarray(np.maximum(values, 0.0))


class CellForecaster(_base.Params):
    """Base of the hotspot forecasters: the fitted history per cell, period counts and the output table.

    ``fit`` checks the parameter rules, keeps the located events on or before the cut-off, sets the
    forecast cells (``grid_``, ``until_``, ``cells_``, ``cell_latitude_``, ``cell_longitude_``) and
    calls :meth:`_learn`, where a forecaster learns what it needs. ``_fitted`` names the attribute
    that ``fit`` sets last: methods that need a fitted model check it with
    :func:`kalkan._base.check_is_fitted` through :meth:`_check_is_fitted`.
    """

    _fitted: ClassVar[str] = "cells_"

    def __init__(self, *, grid: str | Grid = "priogrid") -> None:
        self.grid = grid

    def fit(self, events: pd.DataFrame, *, until: date | str | None = None) -> Self:
        """Fit on the events with ``date_start`` on or before ``until`` (default: the last event's day).

        Parameters
        ----------
        events
            Event table in kalkan.model columns (``date_start``, ``latitude``, ``longitude`` used;
            ``fatalities_best`` for fatality forecasts).
        until
            The forecast's cut-off day; later events are ignored (no look-ahead).
        """
        self._validate_params()
        grid = parse_grid(self.grid)
        hist = history_before(events, until)
        self.grid_ = grid
        self.until_ = hist.until
        cells = grid.cell_ids(hist.latitude, hist.longitude)
        self.cells_ = forecast_cells(grid, cells)
        self.cell_latitude_, self.cell_longitude_ = grid.centroids(self.cells_)
        self._cell_index = np.searchsorted(self.cells_, cells)
        self._days_before = hist.end_day - hist.times  # > 0, days before the end of the cut-off day
        frame = hist.frame
        self._deaths = (
            event_fatalities(frame) if "fatalities_best" in frame.columns else np.full(len(frame), np.nan)
        )
        self._learn(hist)
        return self

    def _learn(self, hist: History) -> None:
        """What a forecaster learns from the history (the baselines only count, so nothing here)."""

    def _check_is_fitted(self, method: str) -> None:
        _base.check_is_fitted(self, self._fitted, method=method, fit_call=FIT_CALL)

    def period_counts(self, horizon_days: int, n_periods: int, *, deaths: bool = False) -> np.ndarray:
        """Events (or, with ``deaths``, people killed) per cell in each of the last ``n_periods``
        periods of ``horizon_days`` (column 0 = the last)."""
        self._check_is_fitted("period_counts")
        h = check_horizon(horizon_days)
        k = np.floor(self._days_before / h).astype(np.int64)
        keep = k < n_periods
        if deaths and np.isnan(self._deaths).any():
            raise InputError(_NO_FATALITIES)
        weight = self._deaths[keep] if deaths else 1.0
        out = np.zeros((len(self.cells_), n_periods))
        np.add.at(out, (self._cell_index[keep], k[keep]), weight)
        return out

    def _mean_and_probability(self, horizon_days: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError(f"{type(self).__name__} forecasts with its own predict")

    def predict(self, horizon_days: int) -> pd.DataFrame:
        """Forecast table ``cell_id, latitude, longitude, probability, expected_events`` per forecast cell."""
        self._check_is_fitted("predict")
        mean, prob = self._mean_and_probability(check_horizon(horizon_days))
        return pd.DataFrame(
            {
                "cell_id": self.cells_,
                "latitude": self.cell_latitude_,
                "longitude": self.cell_longitude_,
                "probability": prob,
                "expected_events": mean,
            }
        )

    def predict_cdf(self, horizon_days: int, max_count: int) -> np.ndarray:
        """P(count <= k), k = 0..max_count, per forecast cell."""
        raise NotImplementedError(f"{type(self).__name__} has no count distribution")
