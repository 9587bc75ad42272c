"""Table helpers of the planner, in one place (private module, public names inside).

- :func:`row_list` writes the rows a message names ("3, 7, 12 and 40 more").
- :func:`places_frame` checks a places table for a coverage problem and returns it with its ids.
- :func:`demand_frame` checks a demand or sites table for the force planner and fills ``id``/``name``.
- :func:`read_csv_table` reads a CSV the user gives (demand, sites, pledges): kalkan's one table
  reader (:mod:`kalkan.tables`), re-exported here for the planner's modules.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from kalkan.errors import SchemaError
from kalkan.tables import read_csv_table

__all__ = ["demand_frame", "places_frame", "read_csv_table", "row_list"]


def row_list(rows: npt.ArrayLike, limit: int = 8) -> str:
    """Up to ``limit`` row numbers, then "and N more"."""
    numbers = [int(r) for r in np.asarray(rows).ravel()]
    shown = ", ".join(str(r) for r in numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def _require_frame(frame: Any, what: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"The {what} table must be a pandas DataFrame; got {type(frame).__name__}.")
    return frame


def places_frame(
    frame: pd.DataFrame, *, weight: str | None, id_column: str | None, what: str
) -> tuple[pd.DataFrame, list[Any]]:
    """``frame`` (index reset) with ``latitude``, ``longitude`` and ``weight`` checked, and its ids
    (``id_column``, else ``id`` or ``place_id``, else 0..n-1)."""
    _require_frame(frame, what)
    needed = ["latitude", "longitude"] + ([weight] if weight else [])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"The {what} table lacks column(s) {', '.join(missing)}; it has "
            f"{', '.join(map(str, frame.columns))}."
        )
    column = id_column or next((c for c in ("id", "place_id") if c in frame.columns), None)
    ids = frame[column].tolist() if column else list(range(len(frame)))
    return frame.reset_index(drop=True), ids


def demand_frame(demand: pd.DataFrame, what: str = "demand", weight: bool = True) -> pd.DataFrame:
    """A copy of a demand (or, ``weight=False``, sites) table with ``id`` and ``name`` filled in
    (from ``place_id``, else row numbers) and ``latitude``, ``longitude`` (and ``weight``) checked."""
    frame = _require_frame(demand, what).reset_index(drop=True).copy()
    if "id" not in frame.columns:
        frame["id"] = frame["place_id"] if "place_id" in frame.columns else np.arange(len(frame))
    if "name" not in frame.columns:
        frame["name"] = frame["id"].astype(str)
    needed = ["latitude", "longitude"] + (["weight"] if weight else [])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"The {what} table lacks column(s) {', '.join(missing)}: it needs id, name, latitude, "
            f"longitude" + (", weight" if weight else "") + f"; it has {', '.join(map(str, demand.columns))}."
        )
    if len(frame) == 0:
        raise SchemaError(f"The {what} table is empty: give at least one place.")
    return frame
