"""Forecast grids: PRIO-GRID 0.5 degree cells (UCDP's ``priogrid_gid``) and H3 hexagons.

Hotspot forecasts are made per grid cell. PRIO-GRID is what UCDP GED and ViEWS use, so GED events
carry the same cell id (``priogrid_gid``); H3 (Uber's hierarchical hexagons, via the ``h3`` package)
gives finer, nearly equal-area cells for town- and district-level work.

Both grids answer the same questions: which cell holds a point, where is a cell's centre, what is its
area (km^2), which cells touch it. Cell ids are ``int64`` in both (H3 ids as their 64-bit integer
form); :meth:`Grid.format_ids` turns them into what users see (PRIO-GRID integer, H3 hex string).

References
----------
Tollefsen, Strand & Buhaug (2012), PRIO-GRID: A unified spatial data structure. *Journal of Peace
Research* 49(2). Cell ``gid = row * 720 + col + 1`` with ``row = floor((lat + 90) / 0.5)`` and
``col = floor((lon + 180) / 0.5)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from kalkan.distance import EARTH_RADIUS_KM, to_xyz_km
from kalkan.errors import InputError, OptionError

__all__ = [
    "EARTH_RADIUS_KM",
    "Grid",
    "H3Grid",
    "Period",
    "PrioGrid",
    "cell_counts",
    "cell_size_km",
    "days_since_epoch",
    "forecast_cells",
    "offset_points",
    "parse_grid",
    "require_located",
    "to_xyz_km",
]

"""Mean Earth radius (IUGG), km."""

Period = Literal["day", "week", "month"]


class Grid:
    """A set of cells covering the globe; subclasses say how points map to cells."""

    name: str = "grid"

    def cell_ids(self, latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
        """Cell id (int64) of each point; coordinates in decimal degrees (WGS84)."""
        raise NotImplementedError

    def centroids(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latitude and longitude (degrees) of each cell's centre."""
        raise NotImplementedError

    def areas_km2(self, ids: np.ndarray) -> np.ndarray:
        """Area of each cell, km^2."""
        raise NotImplementedError

    def neighbours(self, ids: np.ndarray) -> np.ndarray:
        """The cells that share an edge or a corner with any of ``ids``, ``ids`` included, sorted."""
        raise NotImplementedError

    def format_ids(self, ids: np.ndarray) -> list[int] | list[str]:
        """Cell ids as users see them (PRIO-GRID integers, H3 hex strings)."""
        raise NotImplementedError


@dataclass(frozen=True)
class PrioGrid(Grid):
    """PRIO-GRID: 0.5 x 0.5 degree cells, ids as in UCDP GED's ``priogrid_gid`` (1 .. 259,200)."""

    name: str = "priogrid"
    size_deg: float = 0.5

    def _row_col(self, latitude: np.ndarray, longitude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lat = np.asarray(latitude, dtype=float)
        lon = np.asarray(longitude, dtype=float)
        row = np.clip(np.floor((lat + 90.0) / self.size_deg), 0, 359).astype(np.int64)
        col = np.floor((lon + 180.0) / self.size_deg).astype(np.int64) % 720
        return row, col

    def cell_ids(self, latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
        row, col = self._row_col(latitude, longitude)
        return np.asarray(row * 720 + col + 1)

    def centroids(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gid = np.asarray(ids, dtype=np.int64) - 1
        row, col = gid // 720, gid % 720
        return -90.0 + (row + 0.5) * self.size_deg, -180.0 + (col + 0.5) * self.size_deg

    def areas_km2(self, ids: np.ndarray) -> np.ndarray:
        lat, _ = self.centroids(ids)
        half = self.size_deg / 2
        band = np.sin(np.radians(lat + half)) - np.sin(np.radians(lat - half))
        return np.asarray(EARTH_RADIUS_KM**2 * np.radians(self.size_deg) * band)

    def neighbours(self, ids: np.ndarray) -> np.ndarray:
        gid = np.asarray(ids, dtype=np.int64) - 1
        row, col = gid // 720, gid % 720
        out = []
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                r = row + dr
                ok = (r >= 0) & (r < 360)
                out.append(r[ok] * 720 + (col[ok] + dc) % 720 + 1)
        return np.unique(np.concatenate(out)) if out else np.empty(0, np.int64)

    def format_ids(self, ids: np.ndarray) -> list[int]:
        return [int(i) for i in ids]


@dataclass(frozen=True)
class H3Grid(Grid):
    """Uber H3 hexagons at ``resolution`` (0-15; 5 is ~250 km^2, 7 is ~5 km^2)."""

    resolution: int = 5
    name: str = "h3"

    def __post_init__(self) -> None:
        if not 0 <= self.resolution <= 15:
            raise OptionError(f"H3 resolution must be 0-15, got {self.resolution}: use e.g. --grid h3:5.")

    def cell_ids(self, latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
        import h3

        res = self.resolution
        return np.array(
            [
                h3.str_to_int(h3.latlng_to_cell(float(a), float(b), res))
                for a, b in zip(np.asarray(latitude), np.asarray(longitude), strict=True)
            ],
            dtype=np.int64,
        )

    def centroids(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import h3

        pts = [h3.cell_to_latlng(h3.int_to_str(int(i))) for i in ids]
        arr = np.array(pts, dtype=float).reshape(-1, 2)
        return arr[:, 0], arr[:, 1]

    def areas_km2(self, ids: np.ndarray) -> np.ndarray:
        import h3

        return np.array([h3.cell_area(h3.int_to_str(int(i)), unit="km^2") for i in ids], dtype=float)

    def neighbours(self, ids: np.ndarray) -> np.ndarray:
        import h3

        out = {h3.str_to_int(c) for i in np.asarray(ids) for c in h3.grid_disk(h3.int_to_str(int(i)), 1)}
        return np.array(sorted(out), dtype=np.int64)

    def format_ids(self, ids: np.ndarray) -> list[str]:
        import h3

        return [h3.int_to_str(int(i)) for i in ids]


def parse_grid(text: str | Grid) -> Grid:
    """Read ``"priogrid"`` or ``"h3:RES"`` (e.g. ``"h3:5"``) into a :class:`Grid`."""
    if isinstance(text, Grid):
        return text
    spec = str(text).strip().lower()
    if spec in ("priogrid", "prio-grid", "prio"):
        return PrioGrid()
    if spec.startswith("h3:"):
        res = spec[3:]
        if res.isdigit():
            return H3Grid(resolution=int(res))
    raise OptionError(f"Unknown grid {text!r}: use 'priogrid' or 'h3:RES' with RES 0-15 (e.g. 'h3:5').")


def offset_points(
    latitude: np.ndarray, longitude: np.ndarray, east_km: np.ndarray, north_km: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Move points by east/north offsets (km) in the local tangent plane; returns degrees."""
    lat = np.asarray(latitude, dtype=float)
    dlat = np.degrees(np.asarray(north_km) / EARTH_RADIUS_KM)
    coslat = np.maximum(np.cos(np.radians(lat)), 1e-6)
    dlon = np.degrees(np.asarray(east_km) / (EARTH_RADIUS_KM * coslat))
    new_lat = np.clip(lat + dlat, -89.999, 89.999)
    new_lon = (np.asarray(longitude, dtype=float) + dlon + 180.0) % 360.0 - 180.0
    return new_lat, new_lon


def forecast_cells(grid: Grid, event_cells: np.ndarray) -> np.ndarray:
    """The cells a forecast must list: every cell with an event in the history, and its neighbours."""
    return grid.neighbours(np.unique(np.asarray(event_cells, dtype=np.int64)))


def cell_counts(
    events: pd.DataFrame, grid: Grid | str = "priogrid", period: Period = "month"
) -> pd.DataFrame:
    """Count events per cell and period.

    Parameters
    ----------
    events
        Event table with ``date_start``, ``latitude`` and ``longitude`` (kalkan.model columns).
    grid
        A :class:`Grid` or its spec (``"priogrid"``, ``"h3:5"``).
    period
        ``"day"``, ``"week"`` (weeks starting Monday) or ``"month"``.

    Returns
    -------
    DataFrame with ``cell_id, period_start, events`` (one row per cell and period with at least one event).
    """
    g = parse_grid(grid)
    freq = {"day": "D", "week": "W-MON", "month": "MS"}.get(period)
    if freq is None:
        raise OptionError(f"Unknown period {period!r}: use 'day', 'week' or 'month'.")
    located = require_located(events)
    dates = pd.to_datetime(located["date_start"])
    if period == "day":
        start = dates.dt.normalize()
    elif period == "week":
        start = (dates - pd.to_timedelta(dates.dt.day_of_week, unit="D")).dt.normalize()
    else:
        start = dates.dt.to_period("M").dt.start_time
    ids = g.cell_ids(located["latitude"].to_numpy(), located["longitude"].to_numpy())
    frame = pd.DataFrame({"cell_id": ids, "period_start": start.to_numpy()})
    out = frame.groupby(["cell_id", "period_start"]).size().rename("events").reset_index()
    return out.sort_values(["period_start", "cell_id"], ignore_index=True)


def require_located(events: pd.DataFrame) -> pd.DataFrame:
    """Check the event table has dates and coordinates; raise :class:`InputError` naming the bad rows."""
    missing = [c for c in ("date_start", "latitude", "longitude") if c not in events.columns]
    if missing:
        from kalkan.errors import SchemaError

        raise SchemaError(
            f"The event table lacks column(s) {', '.join(missing)}: hotspot forecasts need "
            "date_start, latitude and longitude (kalkan.model columns; read files with "
            "kalkan.ingest.read_events)."
        )
    lat = pd.to_numeric(events["latitude"], errors="coerce")
    lon = pd.to_numeric(events["longitude"], errors="coerce")
    dates = pd.to_datetime(events["date_start"], errors="coerce")
    bad_coord = lat.isna() | lon.isna() | (lat.abs() > 90) | (lon.abs() > 180)
    if bad_coord.any():
        rows = _row_list(np.flatnonzero(bad_coord.to_numpy()))
        raise InputError(
            f"{int(bad_coord.sum())} of {len(events)} events have no valid coordinates "
            f"(rows {rows}): add latitude/longitude or drop those rows before forecasting."
        )
    if dates.isna().any():
        rows = _row_list(np.flatnonzero(dates.isna().to_numpy()))
        raise InputError(
            f"{int(dates.isna().sum())} of {len(events)} events have no valid date_start "
            f"(rows {rows}): give an ISO date (YYYY-MM-DD) or drop those rows."
        )
    out = events.copy()
    out["latitude"] = lat.astype(float)
    out["longitude"] = lon.astype(float)
    out["date_start"] = dates
    return out


def _row_list(idx: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(i) + 1) for i in idx[:limit])
    return shown + (f" and {len(idx) - limit} more" if len(idx) > limit else "")


def days_since_epoch(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Dates as float days since 1970-01-01 (the time axis of the point process)."""
    values = pd.to_datetime(dates).to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    return values.astype(np.int64).astype(float)


def cell_size_km(grid: Grid, latitude: float) -> float:
    """Typical edge length of a cell near ``latitude`` (km), for choosing kernel truncation."""
    if isinstance(grid, PrioGrid):
        return EARTH_RADIUS_KM * math.radians(grid.size_deg)
    ids = grid.cell_ids(np.array([latitude]), np.array([0.0]))
    return float(np.sqrt(grid.areas_km2(ids)[0]))
