"""Reading demand/site files and writing the planner's tables, GeoJSON and plots.

Input CSVs (``kalkan plan coverage``): demand has ``id``, ``weight`` and either ``x``, ``y`` or
``latitude``, ``longitude``; sites have ``id`` and the same coordinate columns. Errors name the file
and its line numbers (line 1 is the header).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from kalkan.errors import InputError, SchemaError
from kalkan.plan._tables import read_csv_table


def _lines(index: Sequence[int] | np.ndarray, limit: int = 8) -> str:
    lines = [int(i) + 2 for i in index]  # +1 for 0-based, +1 for the header line
    shown = ", ".join(map(str, lines[:limit]))
    return shown + (f" and {len(lines) - limit} more" if len(lines) > limit else "")


def rows(frame: pd.DataFrame) -> list[Any]:
    """The rows of ``frame`` as simple objects with one attribute per column (typed loosely on purpose)."""
    return [SimpleNamespace(**{str(k): v for k, v in record.items()}) for record in frame.to_dict("records")]


def read_points(path: str | Path, what: str, *, weight: bool) -> tuple[pd.DataFrame, str]:
    """Read a demand or site CSV; return the frame and its coordinate kind (``"xy"`` or ``"latlon"``).

    Raises SchemaError for a missing column and InputError for bad rows (missing or out-of-range
    coordinates, swapped latitude/longitude, negative or missing weights, duplicate ids), naming the
    lines and the fix.
    """
    path = Path(path)
    frame = read_csv_table(path, what, required=("id",))
    if {"latitude", "longitude"} <= set(frame.columns):
        kind, cols = "latlon", ["latitude", "longitude"]
    elif {"lat", "lon"} <= set(frame.columns):
        frame = frame.rename(columns={"lat": "latitude", "lon": "longitude"})
        kind, cols = "latlon", ["latitude", "longitude"]
    elif {"x", "y"} <= set(frame.columns):
        kind, cols = "xy", ["x", "y"]
    else:
        raise SchemaError(
            f"The {what} file {path} needs coordinates as 'x','y' or 'latitude','longitude'; "
            f"its columns are {', '.join(map(str, frame.columns))}."
        )
    if weight and "weight" not in frame.columns:
        raise SchemaError(f"The {what} file {path} has no 'weight' column (people at risk per point).")
    for c in cols + (["weight"] if weight else []):
        frame[c] = pd.to_numeric(frame[c], errors="coerce")
    missing = np.flatnonzero(frame[cols].isna().any(axis=1).to_numpy())
    if missing.size:
        raise InputError(
            f"{missing.size} rows of {path} have missing or non-numeric coordinates (lines "
            f"{_lines(missing)}): fill them in or drop those rows."
        )
    if kind == "latlon":
        lat, lon = frame["latitude"].to_numpy(), frame["longitude"].to_numpy()
        bad = np.flatnonzero((np.abs(lat) > 90) | (np.abs(lon) > 180))
        if bad.size:
            swapped = np.flatnonzero((np.abs(lat) > 90) & (np.abs(lat) <= 180) & (np.abs(lon) <= 90))
            hint = (
                " They look swapped: exchange the latitude and longitude columns."
                if swapped.size == bad.size
                else " Check the columns."
            )
            raise InputError(
                f"{bad.size} rows of {path} have latitude outside [-90, 90] or longitude outside "
                f"[-180, 180] (lines {_lines(bad)}).{hint}"
            )
    if weight:
        w = frame["weight"]
        bad = np.flatnonzero(w.isna().to_numpy() | ~np.isfinite(w.to_numpy(dtype=float, na_value=np.nan)))
        if bad.size:
            raise InputError(
                f"{bad.size} rows of {path} have a missing or non-numeric weight (lines "
                f"{_lines(bad)}): give every point a weight >= 0."
            )
        neg = np.flatnonzero((w < 0).to_numpy())
        if neg.size:
            raise InputError(
                f"{neg.size} rows of {path} have a negative weight (lines {_lines(neg)}): weights "
                f"are people at risk and must be >= 0."
            )
    dup = frame["id"].duplicated(keep=False).to_numpy()
    if dup.any():
        ids = ", ".join(map(str, pd.unique(frame.loc[dup, "id"])[:5]))
        raise InputError(
            f"{int(dup.sum())} rows of {path} share an id ({ids}; lines {_lines(np.flatnonzero(dup))}): "
            f"make every id unique."
        )
    return frame, kind


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as CSV or Parquet (by suffix: .csv, .parquet); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        raise InputError(f"Cannot write {path}: use a .csv or .parquet file name.")
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def points_geojson(frame: pd.DataFrame, properties: Sequence[str]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of points (``latitude``/``longitude`` columns) with ``properties``."""
    features = []
    for record in frame.to_dict("records"):
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [float(record["longitude"]), float(record["latitude"])],
                },
                "properties": {k: _jsonable(record[k]) for k in properties if k in record},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def plan_geojson(plan: Any, demand: pd.DataFrame) -> dict[str, Any]:
    """Posts and covered places of an :class:`~kalkan.plan.force.OptionPlan` as one FeatureCollection.

    Each feature has ``role`` ("post" or "place"); places carry ``covered`` and ``coverage_kind``
    ("protected" or "observed") so the two are never mixed up on a map.
    """
    posts = plan.selected.copy()
    posts["role"] = "post"
    posts["option"] = plan.option.label
    posts["coverage_kind"] = plan.coverage_kind
    frame = demand.copy()
    if "id" not in frame.columns and "place_id" in frame.columns:
        frame["id"] = frame["place_id"]
    covered = set(plan.covered_ids)
    frame["role"] = "place"
    frame["covered"] = frame["id"].isin(covered)
    frame["coverage_kind"] = np.where(frame["covered"], plan.coverage_kind, "none")
    frame["option"] = plan.option.label
    a = points_geojson(posts, ["role", "id", "name", "option", "coverage_kind", "covered_weight"])
    b = points_geojson(frame, ["role", "id", "name", "option", "covered", "coverage_kind", "weight"])
    return {"type": "FeatureCollection", "features": a["features"] + b["features"]}


@contextmanager
def _figure(path: Path) -> Iterator[Any]:
    """The axes of one 7 x 4.2 inch plot, saved to ``path`` (PNG or SVG by suffix) when the block ends."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    try:
        yield ax
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)


def plot_curve(
    curve: pd.DataFrame,
    path: str | Path,
    *,
    unit: str,
    response_minutes: float,
    requirement: pd.DataFrame | None = None,
    marks: pd.DataFrame | None = None,
    title: str | None = None,
) -> Path:
    """Force requirement curve: officers (x) against the share covered (y), with the bound drawn.

    ``marks`` (columns ``officers``, ``covered_share``, ``label``) marks force options on the curve.
    PNG or SVG by suffix.
    """
    path = Path(path)
    with _figure(path) as ax:
        ax.step(
            curve["officers"],
            100 * curve["covered_share"],
            where="post",
            color="#1f5f8b",
            label=f"best placement found ({unit})",
        )
        if "bound_share" in curve.columns:
            ax.step(
                curve["officers"],
                100 * curve["bound_share"],
                where="post",
                color="#1f5f8b",
                alpha=0.35,
                linestyle="--",
                label="upper bound (no placement can do better)",
            )
        if requirement is not None:
            for row in rows(requirement):
                ax.axhline(100 * row.target, color="#999999", linewidth=0.7, linestyle=":")
                ax.annotate(
                    f"{row.target:.0%}: {row.officers:,} officers",
                    (row.officers, 100 * row.target),
                    textcoords="offset points",
                    xytext=(4, -11),
                    fontsize=8,
                    color="#444444",
                )
        if marks is not None:
            ax.scatter(marks["officers"], 100 * marks["covered_share"], color="#b22222", zorder=3, s=18)
            for row in rows(marks):
                ax.annotate(
                    str(row.label),
                    (row.officers, 100 * row.covered_share),
                    textcoords="offset points",
                    xytext=(4, 4),
                    fontsize=8,
                    color="#b22222",
                )
        kind = str(curve["coverage_kind"].iloc[0]) if "coverage_kind" in curve.columns and len(curve) else ""
        ax.set_xlabel(f"officers ({unit}, 24/7 posts)")
        ax.set_ylabel(f"% of at-risk weight {kind} within {response_minutes:g} min")
        ax.set_ylim(0, 102)
        ax.set_xlim(left=0)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        ax.set_title(title or "Force requirement curve", fontsize=10)
    return path


def plot_timeline(
    timeline: pd.DataFrame,
    path: str | Path,
    *,
    reference: pd.DataFrame | None = None,
    title: str | None = None,
) -> Path:
    """Officers in place and coverage by day after authorisation, with reference deployment times."""
    path = Path(path)
    with _figure(path) as ax:
        ax.step(
            timeline["day"],
            timeline["officers_in_place"],
            where="post",
            color="#444444",
            label="officers in place",
        )
        ax.set_xlabel("days after authorisation")
        ax.set_ylabel("officers in place")
        ax2 = ax.twinx()
        for column, color, style, label in (
            ("protected_share", "#1f5f8b", "-", "% protected (armed)"),
            ("observed_share", "#d08c00", "--", "% observed (any unit)"),
        ):
            ax2.step(
                timeline["day"],
                100 * timeline[column],
                where="post",
                color=color,
                linestyle=style,
                label=label,
            )
        ax2.set_ylim(0, 102)
        ax2.set_ylabel("% of at-risk weight within reach")
        if reference is not None:
            for row in rows(reference):
                ax.axvline(row.day, color="#b22222", linewidth=0.8, linestyle=":")
                ax.annotate(
                    str(row.label),
                    (row.day, 0.03),
                    xycoords=("data", "axes fraction"),
                    textcoords="offset points",
                    xytext=(3, 0),
                    rotation=90,
                    fontsize=7,
                    color="#b22222",
                    va="bottom",
                )
        lines = ax.get_legend_handles_labels()
        lines2 = ax2.get_legend_handles_labels()
        ax.legend(
            lines[0] + lines2[0],
            lines[1] + lines2[1],
            loc="upper right",
            bbox_to_anchor=(1.0, 0.9),
            fontsize=8,
        )
        ax.set_ylim(bottom=0)
        ax.set_xlim(0, float(timeline["day"].max()))
        ax.grid(alpha=0.3)
        ax.set_title(title or "Deployment timeline", fontsize=10)
    return path
