"""Displacement and return: where people of a scenario are on a date, from dated, sourced figures.

A scenario may hold ``displacement.csv``: one row per figure as a report gave it, a *stock* on its
``date`` (how many people were there that day), never a flow. The kinds:

* ``displaced``: people away from their homes in ``from_units`` (blank: the whole area), wherever they are;
  shown beside the census residence, never subtracted by itself (where they went is the other rows);
* ``out_of_area``: people gone out of the scenario's area, across a border or elsewhere in the country
  (subtracted from ``from_units``);
* ``camp``, ``collective_centre``, ``host_area``, ``border_crossing``: people at a site inside the area,
  at ``latitude, longitude`` (subtracted from ``from_units``, added at the site);
* ``return_area``: people back in ``unit`` (cumulative returns as reported): they live at home again and
  are counted there; the figure is shown, never added twice.

``group`` is who the figure counts: the scenario's group at risk (its ``[group] name``, or the words
"group at risk") or anyone else ("all" for figures that do not say). Only the group's figures move its
people at risk; the others are shown. The series of a site is ``(kind, site, group)``: as of a day the
latest figure known by then stands for it (see :func:`latest_figures`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from kalkan.scenarios._known import earliest_known, iso_date
from kalkan.tables import read_csv_listing

FILE = "displacement.csv"
#: kind -> what a row of that kind counts (for people and docs).
KINDS: dict[str, str] = {
    "displaced": "people away from their homes, wherever they are",
    "out_of_area": "people gone out of the area (across a border, or elsewhere in the country)",
    "camp": "people in a camp inside the area",
    "collective_centre": "people in a collective centre (school, public building) inside the area",
    "host_area": "people staying with host families in a place inside the area",
    "border_crossing": "people gathered at a border crossing inside the area",
    "return_area": "people back in their home unit (cumulative returns)",
}
#: Kinds that are a place inside the area: they need coordinates and hold people of the group there.
SITE_KINDS = ("camp", "collective_centre", "host_area", "border_crossing")
#: Kinds whose people left their home units (subtracted there).
MOVED_KINDS = ("out_of_area", *SITE_KINDS)
REQUIRED = ["site", "kind", "group", "people", "date", "source_ids"]
COLUMNS = [
    "site", "kind", "unit", "from_units", "latitude", "longitude", "group", "people", "date",
    "known_on", "source_ids", "estimate", "note",
]  # fmt: skip
#: The parsed table's columns (``from_units`` a tuple of admin2 names, () = the whole area).
PARSED = [
    "row", "site", "kind", "unit", "from_units", "latitude", "longitude", "group", "of_group", "people",
    "date", "known_on", "source_ids", "estimate", "note",
]  # fmt: skip
_YES = ("yes", "true", "1", "estimate", "estimated")
_GROUP_WORDS = ("group at risk", "the group at risk")
_PLACEHOLDER = "TO FILL"

Report = Callable[[str], None]


def empty() -> pd.DataFrame:
    """A displacement table with no rows (a scenario without displacement.csv)."""
    frame = pd.DataFrame({column: pd.Series(dtype=object) for column in PARSED})
    for column in ("latitude", "longitude", "people"):
        frame[column] = frame[column].astype(float)
    for column in ("date", "known_on"):
        frame[column] = pd.to_datetime(frame[column])
    for column in ("of_group", "estimate"):
        frame[column] = frame[column].astype(bool)
    return frame


def _split_units(text: object) -> list[str]:
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return []
    return [part.strip() for part in str(text).split(";") if part.strip()]


def read(
    folder: Path,
    *,
    group: str,
    unit_names: Mapping[str, str],
    listed_sources: set[str],
    known: Mapping[str, date | None],
    locate: Callable[[np.ndarray, np.ndarray], np.ndarray],
    area: tuple[float, float, float, float],
    problem: Report,
    fill: Report,
) -> pd.DataFrame:
    """Read and check ``displacement.csv`` if the folder has one (else an empty table).

    ``unit_names`` maps every name a row may use for a unit (admin2 names and the census names of
    ``[district_names]``) to its admin2 name; ``locate(lat, lon)`` gives the admin2 unit of each point
    ("" outside every unit). Each problem is one sentence naming the row and the fix.
    """
    path = folder / FILE
    if not path.exists():
        return empty()
    raw = read_csv_listing(path, problem, required=REQUIRED, see="docs/scenarios.md")
    if raw is None:
        return empty()
    for column in COLUMNS:
        if column not in raw.columns:
            raw[column] = np.nan
    rows: list[dict[str, object]] = []
    for index, row in raw.iterrows():
        number = int(str(index)) + 2
        where = f"{FILE} row {number} ({row['site']})" if pd.notna(row["site"]) else f"{FILE} row {number}"
        parsed = _row(row, where, group, unit_names, listed_sources, known, area, problem, fill)
        if parsed is not None:
            parsed["row"] = number
            rows.append(parsed)
    if not rows:
        return empty()
    frame = pd.DataFrame(rows)[PARSED]
    sites = frame["kind"].isin(SITE_KINDS).to_numpy()
    if sites.any():
        lat = frame.loc[sites, "latitude"].to_numpy(float)
        lon = frame.loc[sites, "longitude"].to_numpy(float)
        located = np.asarray(locate(lat, lon), dtype=object)
        given = frame.loc[sites, "unit"].to_numpy(object)
        frame.loc[sites, "unit"] = np.where(given == "", located, given)
        lost = frame[sites & (frame["unit"].to_numpy(object) == "")]
        for number, site in zip(lost["row"], lost["site"], strict=True):
            problem(
                f"{FILE} row {number} ({site}) lies in no unit of admin2.geojson; fix its coordinates, "
                "or name its unit in the unit column."
            )
    frame["date"] = pd.to_datetime(frame["date"])
    frame["known_on"] = pd.to_datetime(frame["known_on"])
    for column in ("latitude", "longitude", "people"):
        frame[column] = frame[column].astype(float)
    return frame.reset_index(drop=True)


def _row(
    row: pd.Series,
    where: str,
    group: str,
    unit_names: Mapping[str, str],
    listed: set[str],
    known: Mapping[str, date | None],
    area: tuple[float, float, float, float],
    problem: Report,
    fill: Report,
) -> dict[str, object] | None:
    """One row checked and parsed; None when a problem leaves it unusable (the problem is reported)."""
    ok = True
    if any(str(row[c]).upper().startswith(_PLACEHOLDER) for c in COLUMNS if pd.notna(row[c])):
        fill(f"{where}: a cell is still a placeholder ({_PLACEHOLDER}).")
        return None
    kind = str(row["kind"]).strip().lower().replace(" ", "_") if pd.notna(row["kind"]) else ""
    if kind not in KINDS:
        problem(f"{where} has kind {row['kind']!r}; use one of {', '.join(KINDS)}.")
        ok = False
    for column in ("site", "group"):
        if pd.isna(row[column]) or not str(row[column]).strip():
            problem(f"{where} has no {column}; fill it.")
            ok = False
    people = pd.to_numeric(pd.Series([row["people"]]), errors="coerce").iloc[0]
    if pd.isna(people) or people < 0:
        problem(f"{where} has people {row['people']!r}; write a number of people, 0 or more.")
        ok = False
    day = _date(row["date"], "date", where, problem)
    if day is None:
        ok = False
    ids = [part.strip() for part in str(row["source_ids"] or "").split(";") if part.strip()]
    unlisted = [i for i in ids if i not in listed]
    if not ids or unlisted:
        problem(f"{where} cites {unlisted or 'no source'}; cite sources listed in SOURCES.md in source_ids.")
        ok = False
    known_on = _date(row["known_on"], "known_on", where, problem) if pd.notna(row["known_on"]) else None
    if known_on is None and pd.isna(row["known_on"]):
        known_on = earliest_known(";".join(ids), dict(known))
        if known_on is None:
            fill(f"{where}: known_on (no date known and no dated source).")
    if day is not None and known_on is not None and known_on < day:
        problem(
            f"{where} is known on {known_on} but counts people on {day}; a figure cannot be known "
            "before the day it counts: fix date or known_on."
        )
        ok = False
    unit = str(row["unit"]).strip() if pd.notna(row["unit"]) else ""
    names = ([unit] if unit else []) + _split_units(row["from_units"])
    for name in names:
        if name not in unit_names:
            problem(
                f"{where} names the unit {name!r}, which is no unit of the scenario; use a name of "
                "admin2.geojson (or of districts.csv)."
            )
            ok = False
    lat = pd.to_numeric(pd.Series([row["latitude"]]), errors="coerce").iloc[0]
    lon = pd.to_numeric(pd.Series([row["longitude"]]), errors="coerce").iloc[0]
    if kind in SITE_KINDS:
        if pd.isna(lat) or pd.isna(lon):
            problem(f"{where} is a {kind} without latitude and longitude; give the site's coordinates.")
            ok = False
        else:
            west, south, east, north = area
            if not (south <= lat <= north and west <= lon <= east):
                swapped = south <= lon <= north and west <= lat <= east
                problem(
                    f"{where} has latitude {lat:g} and longitude {lon:g}, which look swapped; swap the two "
                    "cells."
                    if swapped
                    else f"{where} has latitude {lat:g}, longitude {lon:g}, outside the scenario's area; "
                    "fix the coordinates (people who left the area are kind out_of_area)."
                )
                ok = False
    if not ok:
        return None
    estimate = pd.notna(row["estimate"]) and str(row["estimate"]).strip().lower() in _YES
    who = str(row["group"]).strip()
    return {
        "site": str(row["site"]).strip(),
        "kind": kind,
        "unit": unit_names.get(unit, "") if unit else "",
        "from_units": tuple(unit_names[n] for n in _split_units(row["from_units"])),
        "latitude": float(lat) if pd.notna(lat) else np.nan,
        "longitude": float(lon) if pd.notna(lon) else np.nan,
        "group": who,
        "of_group": who.lower() == group.lower() or who.lower() in _GROUP_WORDS,
        "people": float(people),
        "date": day,
        "known_on": known_on,
        "source_ids": ";".join(ids),
        "estimate": bool(estimate),
        "note": str(row["note"]) if pd.notna(row["note"]) else "",
    }


def _date(value: object, column: str, where: str, problem: Report) -> date | None:
    try:
        parsed = iso_date(value)
    except ValueError:
        parsed = None
    if parsed is None:
        problem(f"{where} has {column} {value!r}; write YYYY-MM-DD.")
    return parsed


def known_by(table: pd.DataFrame, day: date) -> pd.Series:
    """Which rows were known on ``day``: counted on or before it and published by then."""
    cut = pd.Timestamp(day)
    return (table["date"] <= cut) & table["known_on"].notna() & (table["known_on"] <= cut)


def latest_figures(table: pd.DataFrame, day: date) -> pd.DataFrame:
    """The figure that stands for each series ``(kind, site, group)`` on ``day``: the latest known by then.

    A later count of the same site replaces an earlier one (a camp of 9,000 people on the 16th and of 1,200
    on the 22nd holds 1,200 on the 25th); a series with no figure known by ``day`` is absent.
    """
    known = table[known_by(table, day)]
    if known.empty:
        return known.reset_index(drop=True)
    ordered = known.sort_values(["date", "known_on", "row"], kind="stable")
    return ordered.groupby(["kind", "site", "group"], sort=False).tail(1).reset_index(drop=True)
