"""Load a scenario (package data or a folder of your own) into typed tables, or check one.

A scenario is a folder with ``scenario.toml``, ``SOURCES.md``, ``facts.md``, ``settlements.csv``,
``villages.csv``, ``neighbourhoods.csv``, ``districts.csv``, ``incidents.csv``, ``admin1.geojson`` and
``admin2.geojson`` (the format: docs/scenarios.md). Every file is checked on load and every problem
found is one sentence naming the file, the row and the fix; :func:`load_scenario` raises them together
as a :class:`kalkan.errors.ScenarioCheckError`, :func:`check_scenario` returns them with the
placeholders still "to fill".
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kalkan.errors import ScenarioCheckError, ScenarioError
from kalkan.scenarios._displacement import read as read_displacement
from kalkan.scenarios._incidents import build_events
from kalkan.scenarios._known import as_timestamps, earliest_known, iso_date, known_date
from kalkan.scenarios._markdown import read_facts, read_sources
from kalkan.scenarios._places import DistrictLocator, build_places
from kalkan.scenarios._scenario import (
    ANSWERED_BY,
    CENSUS_FIGURES,
    Ask,
    Census,
    KnownLater,
    Mandate,
    Option,
    Request,
    Scenario,
    Simulation,
    Target,
)
from kalkan.tables import read_csv_listing

DEFAULT_SCENARIO = "kyrgyzstan_2010"

#: A value starting with this is a placeholder the analyst must replace (``kalkan scenario check``).
PLACEHOLDER = "TO FILL"

#: Unit kinds of kalkan.plan.units an option or mandate may name.
KINDS = ("monitors", "police", "fpu")

# file -> (required columns, numeric columns that must parse where filled, numeric columns that
# must be filled, columns whose numbers must not be negative)
_CSV_SCHEMAS: dict[str, tuple[list[str], list[str], list[str], list[str]]] = {
    "settlements.csv": (
        [
            "geonameid",
            "name",
            "latitude",
            "longitude",
            "admin1",
            "population",
            "population_source",
            "alt_name",
        ],
        ["population", "group_count"],
        ["geonameid", "latitude", "longitude"],
        ["population", "group_count"],
    ),
    "villages.csv": (
        [
            "name",
            "latitude",
            "longitude",
            "oblast",
            "district",
            "district_code",
            "population",
            "population_source",
            "geonameid",
            "wof_id",
        ],
        ["population", "geonameid"],
        ["latitude", "longitude", "wof_id"],
        ["population"],
    ),
    "neighbourhoods.csv": (
        ["name", "source_name", "latitude", "longitude", "district", "geonameid", "wof_id", "named_in"],
        [],
        ["latitude", "longitude", "geonameid"],
        [],
    ),
    "districts.csv": (
        [
            "district",
            "oblast",
            "population",
            "population_note",
            "group_share_pct",
            "ethnic_note",
            "source_ids",
        ],
        [*CENSUS_FIGURES],
        [],
        [*CENSUS_FIGURES],
    ),
    "incidents.csv": (
        [
            "date",
            "place",
            "latitude",
            "longitude",
            "coord_precision",
            "type",
            "victims_group",
            "deaths",
            "deaths_note",
            "source_ids",
            "notes",
        ],
        ["latitude", "longitude", "deaths"],
        [],
        ["deaths"],
    ),
}
#: The columns kalkan writes for each CSV (required first, then the optional ones it knows).
COLUMNS: dict[str, list[str]] = {
    name: [*required, *[c for c in numeric if c not in required]]
    for name, (required, numeric, _, _) in _CSV_SCHEMAS.items()
}
COLUMNS["districts.csv"] = [
    *COLUMNS["districts.csv"],
    "group_count_estimated",
    "group_count_known_on",
    "known_on",
]
#: Values of districts.csv ``group_count_estimated`` read as yes (anything else filled is no).
_YES = ("yes", "true", "1", "estimate", "estimated")
#: Optional settlements.csv columns: people of the group counted at a place, sourced and dated.
GROUP_COUNT_COLUMNS = ["group_count", "group_count_note", "group_count_source_ids", "group_count_known_on"]
COLUMNS["settlements.csv"] = [
    c for c in COLUMNS["settlements.csv"] if c != "group_count"
] + GROUP_COUNT_COLUMNS
COLUMNS["incidents.csv"] = [*COLUMNS["incidents.csv"], "perpetrator", "perpetrator_type", "known_on"]
FILES = ["scenario.toml", "SOURCES.md", "facts.md", *_CSV_SCHEMAS, "admin1.geojson", "admin2.geojson"]
_POINT_FILES = ("settlements.csv", "villages.csv", "neighbourhoods.csv", "incidents.csv")

# An incident this far (degrees, ~20 km) from every unit of admin2.geojson is an error, not a fact.
_FAR_DEG = 0.2
# The default area is the extent of admin2.geojson plus this margin (degrees).
_AREA_MARGIN_DEG = 0.25


@dataclass
class CheckReport:
    """What ``kalkan scenario check`` found: problems (must be fixed) and placeholders still to fill."""

    folder: Path
    problems: list[str] = field(default_factory=list)
    to_fill: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the folder loads: no problems (placeholders may remain)."""
        return not self.problems


class _Findings:
    """Collects one sentence per problem while a folder is read, so a check reports them all at once."""

    def __init__(self, folder: Path) -> None:
        self.report = CheckReport(folder=folder)

    def problem(self, text: str) -> None:
        self.report.problems.append(text)

    def fill(self, text: str) -> None:
        self.report.to_fill.append(text)


class _Stop(Exception):
    """A file cannot be read at all: stop reading this folder (its problem is already recorded)."""


def _package_root() -> Path:
    return Path(str(resources.files("kalkan.scenarios")))


def list_scenarios() -> list[str]:
    """Names of the scenarios shipped with kalkan."""
    root = _package_root()
    return sorted(p.name for p in root.iterdir() if (p / "scenario.toml").is_file())


def _resolve(name: str) -> Path:
    candidate = Path(name)
    if (candidate / "scenario.toml").is_file():
        return candidate
    root = _package_root() / name
    if (root / "scenario.toml").is_file():
        return root
    if candidate.is_dir():
        raise ScenarioError(
            f"Scenario folder {candidate} is missing scenario.toml: a scenario needs {', '.join(FILES)}; "
            "write one with `kalkan scenario new`, or restore the file."
        )
    known = ", ".join(list_scenarios())
    raise ScenarioError(
        f"Unknown scenario {name!r}: the shipped scenarios are {known}; "
        "or give a folder that holds a scenario.toml (see `kalkan scenario list`)."
    )


def _require(folder: Path, file_name: str, found: _Findings) -> Path:
    path = folder / file_name
    if not path.is_file():
        found.problem(
            f"Scenario folder {folder} is missing {file_name}: a scenario needs {', '.join(FILES)}; "
            "restore the file (a new folder: `kalkan scenario new`)."
        )
        raise _Stop
    return path


def _number_text(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else f"{value:,.0f}"


def _label(frame: pd.DataFrame, index: Any) -> str:
    for column in ("name", "district", "place", "source_name"):
        value = frame.at[index, column] if column in frame.columns else None
        if isinstance(value, str) and value:
            return f" ({value})"
    return ""


def _ranges(numbers: list[int]) -> str:
    """``[2, 3, 4, 7]`` -> ``"2-4, 7"``."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs)


def _read_csv(folder: Path, file_name: str, found: _Findings) -> pd.DataFrame:
    path = _require(folder, file_name, found)
    required, numeric, filled, non_negative = _CSV_SCHEMAS[file_name]
    frame = read_csv_listing(path, found.problem, required=required, see="docs/scenarios.md")
    if frame is None:
        raise _Stop
    bad_rows = False
    for column in [c for c in numeric + filled if c in frame.columns]:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = frame.index[values.isna() & frame[column].notna()]
        for index in bad:
            text = str(frame.at[index, column])
            if text.upper().startswith(PLACEHOLDER):
                found.fill(f"{file_name} row {index + 2}{_label(frame, index)}: {column} is {text!r}.")
            else:
                found.problem(
                    f"{file_name} row {index + 2}{_label(frame, index)} has {column} {text!r}, which is "
                    "not a number; write a number or leave the cell empty."
                )
                bad_rows = True
        frame[column] = values
    for column in filled:
        for index in frame.index[frame[column].isna()]:
            found.problem(f"{file_name} row {index + 2}{_label(frame, index)} has no {column}; fill it.")
            bad_rows = True
    for column in [c for c in non_negative if c in frame.columns]:
        for index in frame.index[frame[column] < 0]:
            found.problem(
                f"{file_name} row {index + 2}{_label(frame, index)} has {column} "
                f"{_number_text(float(frame[column].loc[index]))}; write a number of 0 or more, or leave "
                "the cell empty if it is unknown."
            )
            bad_rows = True
    for column in ("group_share_pct", "group_share_max_pct", "majority_share_pct"):
        if column in frame.columns:
            for index in frame.index[frame[column] > 100]:
                found.problem(
                    f"{file_name} row {index + 2}{_label(frame, index)} has {column} "
                    f"{_number_text(float(frame[column].loc[index]))}; a share is a percent from 0 to 100."
                )
                bad_rows = True
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            marked = frame[column].astype(str).str.upper().str.startswith(PLACEHOLDER)
            # One line per placeholder text, with its rows: 20 units to fill are one item, not 20.
            flagged = frame.loc[marked.to_numpy(), column]
            for value, rows in flagged.groupby(flagged, sort=False).groups.items():
                numbers = [int(i) + 2 for i in rows]
                where = (
                    f"row {numbers[0]}{_label(frame, rows[0])}"
                    if len(numbers) == 1
                    else f"rows {_ranges(numbers)} ({len(numbers)} rows)"
                )
                found.fill(f"{file_name} {where}: {column} is {str(value)!r}.")
    if bad_rows:
        frame.attrs["bad"] = True
    return frame


def _read_json(folder: Path, file_name: str, found: _Findings) -> dict[str, Any]:
    path = _require(folder, file_name, found)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        found.problem(f"{file_name} is not valid JSON ({error}); fix or restore it.")
        raise _Stop from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not data.get("features"):
        found.problem(f"{file_name} must be a GeoJSON FeatureCollection with features; fix or restore it.")
        raise _Stop
    needed = ("name", "code", "oblast") if file_name == "admin2.geojson" else ("name",)
    broken = False
    for number, feature in enumerate(data["features"], start=1):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict) or not isinstance(feature.get("geometry"), dict):
            found.problem(f"{file_name} feature {number} has no properties or no geometry; give it both.")
            broken = True
            continue
        for key in needed:
            if props.get(key) in (None, ""):
                called = f" ({props['name']})" if props.get("name") else ""
                what = {"code": "a unique code", "name": "its name", "oblast": "its admin1 region's name"}[
                    key
                ]
                found.problem(
                    f"{file_name} feature {number}{called} has no {key!r} property; add {what} "
                    f"to its properties."
                )
                broken = True
    if file_name == "admin2.geojson" and not broken:
        codes = pd.Series([f["properties"]["code"] for f in data["features"]])
        for code in codes[codes.duplicated()].unique():
            found.problem(
                f"{file_name} has the code {code!r} on more than one feature; codes must be unique."
            )
            broken = True
    if broken:
        raise _Stop
    return data


def _read_settings(folder: Path, found: _Findings) -> dict[str, Any]:
    path = _require(folder, "scenario.toml", found)
    try:
        settings = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        found.problem(f"scenario.toml is not valid TOML ({error}); fix it.")
        raise _Stop from None
    missing = [key for key in ("name", "title", "as_of", "oblasts", "group") if key not in settings]
    for key in missing:
        found.problem(f"scenario.toml lacks the setting {key!r}; add it (see docs/scenarios.md).")
    if missing:
        raise _Stop
    if not isinstance(settings["group"], dict) or not settings["group"].get("name"):
        found.problem(
            'scenario.toml [group] needs name = "..." (who the scenario protects, e.g. "ethnic X").'
        )
    try:
        settings["as_of"] = _toml_date(settings["as_of"])
    except ValueError:
        found.problem(
            f"scenario.toml has as_of = {settings['as_of']!r}, which is not a date; write it as a date "
            "without quotes, e.g. as_of = 2031-03-28."
        )
        raise _Stop from None
    if settings["as_of"] is None:
        found.problem(
            "scenario.toml has an empty as_of; write the day the brief looks at, e.g. as_of = 2031-03-28."
        )
        raise _Stop
    for key in ("group_share_column", "letter"):
        if key in settings:
            new = {
                "group_share_column": "the districts.csv column group_share_pct",
                "letter": "[request] text",
            }[key]
            found.problem(f"scenario.toml has the old setting {key!r}; use {new} instead.")
    defaults = settings.get("defaults", {})
    if isinstance(defaults, dict) and "options" in defaults:
        found.problem(
            "scenario.toml has [defaults] options; write each preset option as an [[option]] with words, "
            "count and kind."
        )
    _placeholders(settings, "scenario.toml", found)
    return settings


def _placeholders(value: Any, where: str, found: _Findings) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _placeholders(item, f"{where} {key}", found)
    elif isinstance(value, list):
        for number, item in enumerate(value, start=1):
            _placeholders(item, f"{where} #{number}", found)
    elif isinstance(value, str) and value.strip().upper().startswith(PLACEHOLDER):
        found.fill(f"{where}: {value.strip()}")


def _toml_date(value: Any) -> date | None:
    """A TOML date, or an ISO date string; ValueError for anything else."""
    if isinstance(value, date):
        return value
    return iso_date(value)


def _ids(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.replace(",", ";").split(";") if v.strip())
    return tuple(str(v) for v in value)


def _table_date(item: dict[str, Any], key: str, where: str, found: _Findings) -> date | None:
    try:
        return _toml_date(item.get(key))
    except ValueError:
        found.problem(
            f"scenario.toml {where} has {key} = {item.get(key)!r}, which is not a date; write "
            "YYYY-MM-DD without quotes."
        )
        return None


def _parts(settings: dict[str, Any], found: _Findings) -> dict[str, Any]:
    """The typed parts of scenario.toml: census, request, asks, options, mandates, later items, simulation."""
    census_raw = settings.get("census", {})
    census = Census(
        year=int(census_raw["year"]) if census_raw.get("year") not in (None, "") else None,
        group_total=float(census_raw["group_total"])
        if isinstance(census_raw.get("group_total"), int | float)
        else None,
        group_total_area=str(census_raw.get("group_total_area", "")),
        source_ids=_ids(census_raw.get("source_ids")),
        known_on=_table_date(census_raw, "known_on", "[census]", found),
    )
    if census.group_total is not None and census.group_total < 0:
        found.problem("scenario.toml [census] group_total is negative; write the group's census count.")
    request = None
    if "request" in settings:
        raw = settings["request"]
        request = Request(
            kind=str(raw.get("kind", "request")),
            by=str(raw.get("by", "")),
            to=str(raw.get("to", "")),
            date=_table_date(raw, "date", "[request]", found),
            text=str(raw.get("text", "")),
            source_ids=_ids(raw.get("source_ids")),
        )
        if not request.text:
            found.problem('scenario.toml [request] needs text = "..." (what the request argued).')
    asks = []
    for number, raw in enumerate(settings.get("ask", []), start=1):
        shown = str(raw.get("shown_by", ""))
        if shown not in ANSWERED_BY:
            found.problem(
                f"scenario.toml [[ask]] {number} has shown_by = {shown!r}; use one of "
                f"{', '.join(ANSWERED_BY)}."
            )
        if not raw.get("text"):
            found.problem(f'scenario.toml [[ask]] {number} needs text = "..." (the ask, in plain words).')
        asks.append(
            Ask(
                topic=str(raw.get("topic", "")),
                text=str(raw.get("text", "")),
                shown_by=shown,
                known=str(raw.get("known", "")),
                source_ids=_ids(raw.get("source_ids")),
                known_on=_table_date(raw, "known_on", f"[[ask]] {number}", found),
            )
        )
    options = []
    for number, raw in enumerate(settings.get("option", []), start=1):
        kind, count = str(raw.get("kind", "")), raw.get("count")
        if kind not in KINDS:
            found.problem(
                f"scenario.toml [[option]] {number} has kind = {kind!r}; use monitors (unarmed "
                "monitors), police (armed individual police) or fpu (formed police units)."
            )
            continue
        if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
            found.problem(
                f"scenario.toml [[option]] {number} has count = {count!r}; write a whole number of "
                "officers above 0."
            )
            continue
        options.append(Option(words=str(raw.get("words", f"{count:,} {kind}")), count=count, kind=kind))
    mandates = []
    for number, raw in enumerate(settings.get("mandate", []), start=1):
        if str(raw.get("kind", "")) not in KINDS:
            found.problem(
                f"scenario.toml [[mandate]] {number} has kind = {raw.get('kind')!r}; use {', '.join(KINDS)}."
            )
            continue
        mandates.append(
            Mandate(
                kind=str(raw["kind"]),
                label=str(raw.get("label", raw["kind"])),
                powers=str(raw.get("powers", "")),
                protects=str(raw.get("protects", "")),
                cost=str(raw.get("cost", "")),
                cost_source_ids=_ids(raw.get("cost_source_ids")),
                consent=str(raw.get("consent", "")),
                consent_source_ids=_ids(raw.get("consent_source_ids")),
                consent_known_on=_table_date(raw, "consent_known_on", f"[[mandate]] {number}", found),
            )
        )
    later = []
    for number, raw in enumerate(settings.get("known_later", []), start=1):
        when = _table_date(raw, "date", f"[[known_later]] {number}", found)
        if when is None or not raw.get("text"):
            found.problem(f'scenario.toml [[known_later]] {number} needs date = YYYY-MM-DD and text = "...".')
            continue
        later.append(KnownLater(date=when, text=str(raw["text"]), source_ids=_ids(raw.get("source_ids"))))
    raw_sim = settings.get("simulation", {})
    targets = []
    for number, raw in enumerate(raw_sim.get("target", []), start=1):
        low, high = raw.get("low"), raw.get("high", float("inf"))  # no high: "at least low"
        if (
            not all(isinstance(v, int | float) for v in (low, high))
            or float(low) > float(high)
            or float(low) < 0
        ):
            found.problem(
                f"scenario.toml [[simulation.target]] {number} needs low <= high, both numbers of 0 or more."
            )
            continue
        targets.append(
            Target(
                what=str(raw.get("what", "")),
                low=float(low),
                high=float(high),
                unit=str(raw.get("unit", "")),
                window_start=_table_date(raw, "window_start", f"[[simulation.target]] {number}", found),
                window_end=_table_date(raw, "window_end", f"[[simulation.target]] {number}", found),
                source_ids=_ids(raw.get("source_ids")),
                known_on=_table_date(raw, "known_on", f"[[simulation.target]] {number}", found),
                note=str(raw.get("note", "")),
                through_day=int(raw["through_day"]) if isinstance(raw.get("through_day"), int) else None,
                region=str(raw.get("region", "")),
            )
        )
    days = raw_sim.get("days")
    simulation = Simulation(
        start=_table_date(raw_sim, "start", "[simulation]", found),
        decision=_table_date(raw_sim, "decision", "[simulation]", found) or settings["as_of"],
        days=int(days) if isinstance(days, int) else None,
        targets=tuple(targets),
        calibrated=dict(raw_sim.get("calibrated", {})),
    )
    return {
        "census": census,
        "request": request,
        "asks": tuple(asks),
        "options": tuple(options),
        "mandates": tuple(mandates),
        "known_later": tuple(later),
        "simulation": simulation,
    }


def _districts(
    raw: pd.DataFrame, settings: dict[str, Any], admin2: dict[str, Any], found: _Findings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per admin2 unit in the scenario's regions, joined to the census rows; and the admin1 totals."""
    raw = raw.copy()
    for column in (
        "group_share_max_pct",
        "majority_share_pct",
        "group_count",
        "group_count_max",
        "group_count_estimated",
        "group_count_known_on",
        "known_on",
    ):
        if column not in raw.columns:
            raw[column] = np.nan
    counts = pd.to_numeric(raw["group_count"], errors="coerce")
    people = pd.to_numeric(raw["population"], errors="coerce")
    for index in raw.index[counts > people]:
        found.problem(
            f"districts.csv row {index + 2} ({str(raw.at[index, 'district'])}) counts {counts[index]:,.0f} "
            f"people of the group, more than its population {people[index]:,.0f}; fix one of them."
        )
    oblast_rows = settings.get("oblast_rows", {})
    oblast_names = settings.get("oblast_names", {})
    names = settings.get("district_names", {})

    totals = raw[raw["district"].isin(oblast_rows)]
    oblasts = pd.DataFrame(
        {
            "oblast": [oblast_rows[d] for d in totals["district"]],
            "population": totals["population"].astype(float).to_numpy(),
            "group_share_pct": totals["group_share_pct"].astype(float).to_numpy(),
            "source_ids": totals["source_ids"].fillna("").to_numpy(),
            "note": totals["population_note"].fillna("").to_numpy(),
            "known_on": totals["known_on"].to_numpy(),
        }
    )
    units = raw[~raw["district"].isin(oblast_rows)]
    features = [
        f["properties"] for f in admin2["features"] if f["properties"].get("oblast") in settings["oblasts"]
    ]
    unit_names = {str(p["name"]) for p in features}
    mapped = units["district"].map(lambda d: names.get(d, d))
    for index in units.index[~mapped.isin(unit_names)]:
        census_name = str(units["district"].loc[index])
        target = names.get(census_name)
        if target is None:
            found.problem(
                f"districts.csv row {index + 2} ({census_name}) is not an admin2.geojson unit of the "
                f"scenario's regions and has no entry in [district_names] of scenario.toml; add "
                f'\'"{census_name}" = "<admin2 name>"\' there, or name the row as the unit is named.'
            )
        else:
            found.problem(
                f"[district_names] in scenario.toml maps {census_name!r} to {target!r}, which is not an "
                "admin2.geojson unit in the scenario's regions; use the admin2 name."
            )
    census = units.assign(census_name=units["district"], district=mapped)
    frame = pd.DataFrame(
        {
            "district": [p["name"] for p in features],
            "district_code": [p["code"] for p in features],
            "oblast": [p["oblast"] for p in features],
            "unit_type": [p.get("type", "") for p in features],
        }
    )
    keep = [
        "district",
        "census_name",
        *[c for c in COLUMNS["districts.csv"] if c not in ("district", "oblast")],
    ]
    census = census[census["district"].isin(unit_names)].drop_duplicates("district")
    frame = frame.merge(census[keep], on="district", how="left")
    frame["source_ids"] = frame["source_ids"].fillna("")
    for column in ("census_name", "population_note", "ethnic_note"):
        frame[column] = frame[column].fillna("")
    for column in CENSUS_FIGURES:
        frame[column] = frame[column].astype(float)
    frame["group_count_estimated"] = [
        str(v).strip().lower() in _YES if pd.notna(v) else False for v in frame["group_count_estimated"]
    ]
    del oblast_names  # spelling table kept in the file for people; the admin2 layer names the regions
    return frame.sort_values(["oblast", "district"]).reset_index(drop=True), oblasts


def _headlines(
    settings: dict[str, Any], facts_text: str, source_ids: set[str], found: _Findings
) -> pd.DataFrame:
    rows = []
    for number, item in enumerate(settings.get("headline", []), start=1):
        lacking = [k for k in ("topic", "label", "value", "unit", "quote", "source_ids") if k not in item]
        if lacking:
            found.problem(f"scenario.toml [[headline]] {number} lacks {', '.join(lacking)}; add it.")
            continue
        if item["quote"] not in facts_text:
            found.problem(
                f"scenario.toml [[headline]] {number} quotes {item['quote']!r}, which is not in facts.md; "
                "quote facts.md exactly."
            )
        digits = f"{int(item['value']):,}"
        if digits not in item["quote"]:
            found.problem(
                f"scenario.toml [[headline]] {number} gives the value {item['value']} but its quote "
                f"{item['quote']!r} does not contain {digits}; make them agree."
            )
        missing = [s for s in item["source_ids"] if s not in source_ids]
        if not item["source_ids"] or missing:
            found.problem(
                f"scenario.toml [[headline]] {number} cites {missing or 'no source'}, not listed in "
                "SOURCES.md or [[data_source]]; cite a listed source."
            )
        known_on = _table_date(item, "known_on", f"[[headline]] {number}", found)
        rows.append(
            {
                "topic": item["topic"],
                "figure": item["quote"],
                "value": float(item["value"]),
                "unit": item["unit"],
                "what": ("about " if item.get("approximate") else "") + item["label"],
                "source_ids": ";".join(item["source_ids"]),
                "status": "sourced",
                "headline": True,
                "known_on": known_on.isoformat() if known_on else "",
            }
        )
    return pd.DataFrame(rows)


def _area(
    settings: dict[str, Any], locator: DistrictLocator, found: _Findings
) -> tuple[float, float, float, float]:
    """``(west, south, east, north)``: ``bbox`` in scenario.toml, else admin2.geojson's extent + a margin."""
    box = settings.get("bbox")
    if box is not None:
        ok = isinstance(box, list) and len(box) == 4 and all(isinstance(v, int | float) for v in box)
        if ok and -180 <= box[0] < box[2] <= 180 and -90 <= box[1] < box[3] <= 90:
            return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
        found.problem(
            f"scenario.toml has bbox = {box!r}; write [west, south, east, north] in degrees, "
            "e.g. bbox = [14.4, 2.2, 27.5, 11.0]."
        )
    west, south, east, north = locator.bounds
    m = _AREA_MARGIN_DEG
    return (west - m, south - m, east + m, north + m)


def _check_points(
    frame: pd.DataFrame, file_name: str, area: tuple[float, float, float, float], found: _Findings
) -> np.ndarray:
    """Rows whose coordinates are outside the area (each reported, swapped latitude/longitude named)."""
    west, south, east, north = area
    lat = frame["latitude"].to_numpy(float)
    lon = frame["longitude"].to_numpy(float)

    def inside(la: np.ndarray, lo: np.ndarray) -> np.ndarray:
        return (la >= south) & (la <= north) & (lo >= west) & (lo <= east)

    given = np.isfinite(lat) & np.isfinite(lon)
    outside = given & ~inside(lat, lon)
    swapped = outside & inside(lon, lat)
    box = f"[{west:.2f}, {south:.2f}, {east:.2f}, {north:.2f}]"
    for position in np.flatnonzero(outside):
        index = frame.index[int(position)]
        where = f"{file_name} row {index + 2}{_label(frame, index)}"
        if swapped[position]:
            found.problem(
                f"{where} has latitude {lat[position]:g} and longitude {lon[position]:g}, which look swapped "
                f"(the other way round the point is inside the scenario's area); swap the two cells."
            )
        else:
            found.problem(
                f"{where} has latitude {lat[position]:g}, longitude {lon[position]:g}, outside the "
                f"scenario's area {box} (west, south, east, north); fix the coordinates, or widen bbox in "
                "scenario.toml."
            )
    return np.asarray(outside)


def _group_counts(
    places: pd.DataFrame,
    towns: pd.DataFrame,
    known: dict[str, date | None],
    listed: set[str],
    found: _Findings,
) -> pd.DataFrame:
    """Carry settlements.csv's optional group counts onto the places (by GeoNames id), dated and checked."""
    if "group_count" not in towns.columns:
        return places
    towns = towns.copy()
    for column in GROUP_COUNT_COLUMNS[1:]:
        if column not in towns.columns:
            towns[column] = ""
    towns["source_ids"] = towns["group_count_source_ids"].fillna("")
    towns["known_on"] = towns["group_count_known_on"]
    counted = towns[towns["group_count"].notna()]
    for index, row in counted.iterrows():
        ids = _ids(row["source_ids"])
        missing = [i for i in ids if i not in listed]
        if not ids or missing:
            found.problem(
                f"settlements.csv row {int(str(index)) + 2}{_label(towns, index)} gives a group_count citing "
                f"{missing or 'no source'}; cite sources listed in SOURCES.md in group_count_source_ids."
            )
    dated = _fill_known_on(counted, known, "settlements.csv", found, "name")
    by_id = {
        str(int(float(gid))): (
            row["group_count"],
            row["group_count_note"],
            row["source_ids"],
            day,
        )
        for (_, row), gid, day in zip(counted.iterrows(), counted["geonameid"], dated.to_list(), strict=True)
    }
    places = places.copy()
    values = [by_id.get(str(g), (np.nan, "", "", pd.NaT)) for g in places["geonameid"]]
    places["group_count"] = [float(v[0]) for v in values]
    places["group_count_note"] = ["" if pd.isna(v[1]) else str(v[1]) for v in values]
    places["group_count_source_ids"] = [str(v[2]) for v in values]
    places["group_count_known_on"] = pd.to_datetime(pd.Series([v[3] for v in values], dtype="datetime64[ns]"))
    for _, row in places[places["group_count"].notna() & places["group_count_known_on"].isna()].iterrows():
        found.fill(
            f"settlements.csv {row['name']}: group_count_known_on (no date known and no dated source)."
        )
    return places


def _stamp(path: Path) -> tuple[tuple[str, int, int], ...]:
    # Cache key: a file edited on disk gives a new key, so a fix is seen without restarting.
    return tuple(
        (p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(path.iterdir()) if p.is_file()
    )


def _known_on_sources(sources: pd.DataFrame, found: _Findings) -> dict[str, date | None]:
    known: dict[str, date | None] = {}
    for _, row in sources.iterrows():
        explicit = str(row.get("known_on", "") or "").strip()
        if explicit and explicit.lower() != "nan":
            try:
                known[str(row["source_id"])] = iso_date(explicit)
            except ValueError:
                found.problem(f"SOURCES.md {row['source_id']} has Known on {explicit!r}; write YYYY-MM-DD.")
                known[str(row["source_id"])] = None
        else:
            known[str(row["source_id"])] = known_date(row.get("date", ""))
    return known


def _fill_known_on(
    frame: pd.DataFrame, known: dict[str, date | None], file_name: str, found: _Findings, label: str
) -> pd.Series:
    """Explicit ``known_on`` where given (ISO), else the earliest date among the row's sources."""
    values: list[date | None] = []
    explicit = (
        frame["known_on"] if "known_on" in frame.columns else pd.Series([""] * len(frame), index=frame.index)
    )
    for index, row in frame.iterrows():
        text = explicit.at[index]
        value: date | None = None
        if isinstance(text, str) and text.strip() and not text.upper().startswith(PLACEHOLDER):
            try:
                value = iso_date(text)
            except ValueError:
                found.problem(
                    f"{file_name} row {int(str(index)) + 2} has known_on {text!r}; write YYYY-MM-DD."
                )
        if value is None:
            value = earliest_known(row.get("source_ids", ""), known)
        values.append(value)
    return as_timestamps(values).set_axis(frame.index)


def _load_into(path: Path, found: _Findings) -> Scenario | None:
    """Read and check every file; None if a problem stops the reading (all problems are in ``found``)."""
    try:
        settings = _read_settings(path, found)
    except _Stop:
        settings = None
    tables: dict[str, Any] = {}
    for file_name in ("admin1.geojson", "admin2.geojson"):
        try:
            tables[file_name] = _read_json(path, file_name, found)
        except _Stop:
            pass
    for file_name in _CSV_SCHEMAS:
        try:
            tables[file_name] = _read_csv(path, file_name, found)
        except _Stop:
            pass
    try:
        sources = read_sources(_require(path, "SOURCES.md", found))
    except _Stop:
        sources = None
    except ScenarioError as error:
        found.problem(str(error))
        sources = None
    try:
        facts_path = _require(path, "facts.md", found)
        facts = read_facts(facts_path)
        facts_text = facts_path.read_text(encoding="utf-8")
    except _Stop:
        facts = None
    except ScenarioError as error:
        found.problem(str(error))
        facts = None
    if settings is None or sources is None or facts is None or len(tables) < 7:
        return None
    for name in ("SOURCES.md", "facts.md"):
        text = (path / name).read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), start=1):
            if PLACEHOLDER in line.upper():
                found.fill(f"{name} line {number}: {line.strip().strip('|- ').strip()[:160]}")

    parts = _parts(settings, found)
    extra = pd.DataFrame(settings.get("data_source", []))
    for column in sources.columns:
        if column not in extra.columns:
            extra[column] = ""
    sources = pd.concat([sources, extra], ignore_index=True)
    for column in ("licence", "attribution"):
        if column not in sources.columns:
            sources[column] = ""
    sources[["licence", "attribution"]] = sources[["licence", "attribution"]].fillna("")
    sources["known_on"] = sources["known_on"].map(
        lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
    )
    known = _known_on_sources(sources, found)
    sources["known_on"] = as_timestamps([known[str(s)] for s in sources["source_id"]])
    headlines = _headlines(settings, facts_text, set(sources["source_id"]), found)
    facts = pd.concat([headlines, facts], ignore_index=True) if len(headlines) else facts
    facts["headline"] = facts["headline"].astype(bool)
    facts["known_on"] = _fill_known_on(facts, known, "facts.md", found, "figure")
    for _, row in facts[facts["headline"] & facts["known_on"].isna()].iterrows():
        found.fill(
            f"scenario.toml [[headline]] {row['figure']!r}: known_on (the day it was first published)."
        )

    admin2 = tables["admin2.geojson"]
    locator = DistrictLocator(admin2)
    area = _area(settings, locator, found)
    for file_name in _POINT_FILES:
        if _check_points(tables[file_name], file_name, area, found).any():
            tables[file_name].attrs["bad"] = True
    if any(tables[f].attrs.get("bad") for f in _CSV_SCHEMAS):
        return None

    places, dropped = build_places(
        tables["settlements.csv"],
        tables["villages.csv"],
        tables["neighbourhoods.csv"],
        locator,
        list(settings["oblasts"]),
    )
    places = _group_counts(places, tables["settlements.csv"], known, set(sources["source_id"]), found)
    districts, oblasts = _districts(tables["districts.csv"], settings, admin2, found)
    districts["known_on"] = _fill_known_on(districts, known, "districts.csv", found, "district")
    # A unit's group count may be published later than its census row: its own date known, else the row's.
    count_known = _fill_known_on(
        districts.assign(known_on=districts["group_count_known_on"]), {}, "districts.csv", found, "district"
    )
    districts["group_count_known_on"] = count_known.fillna(districts["known_on"])
    oblasts["known_on"] = _fill_known_on(oblasts, known, "districts.csv", found, "oblast")
    try:
        incidents = build_events(
            tables["incidents.csv"],
            scenario=str(settings["name"]),
            country_iso3=str(settings.get("country_iso3", "")),
            file_name="incidents.csv",
        )
    except ScenarioError as error:
        found.problem(str(error))
        return None
    incidents["known_on"] = _fill_known_on(
        tables["incidents.csv"], known, "incidents.csv", found, "place"
    ).to_numpy()
    lat, lon = incidents["latitude"].to_numpy(float), incidents["longitude"].to_numpy(float)
    where = locator.locate(lat, lon)
    incidents["admin1"] = np.where(incidents["located"], where["oblast"], "")
    incidents["admin2"] = np.where(incidents["located"], where["district"], "")
    far = locator.far_from_every_unit(lat, lon, _FAR_DEG) & incidents["located"].to_numpy(bool)
    for position in np.flatnonzero(far):
        found.problem(
            f"incidents.csv row {position + 2} ({incidents['place_name'].iloc[position]}) at "
            f"{lat[position]:g}, {lon[position]:g} is more than about 20 km from every unit of "
            "admin2.geojson; fix its coordinates, or leave them empty if the place is not known."
        )
    for position in np.flatnonzero(incidents["known_on"].isna().to_numpy()):
        found.fill(
            f"incidents.csv row {position + 2} ({incidents['place_name'].iloc[position]}): known_on "
            "(no date known and no dated source)."
        )
    cited = {i for ids in incidents["source_ids"] for i in _ids(ids)}
    for missing in sorted(cited - set(sources["source_id"])):
        found.problem(f"incidents.csv cites {missing}, which SOURCES.md does not list; add the source there.")
    place_names = set(places["name"])
    for city in settings.get("main_cities", []):
        if city not in place_names:
            found.problem(
                f"scenario.toml main_cities names {city!r}, which is not a place of the scenario; "
                "use a name from settlements.csv."
            )
    unit_names = {str(d): str(d) for d in districts["district"]}
    unit_names.update(
        {str(c): str(d) for c, d in zip(districts["census_name"], districts["district"], strict=True) if c}
    )
    group = settings.get("group", {})
    displacement = read_displacement(
        path,
        group=str(group.get("name", "")) if isinstance(group, dict) else str(group),
        unit_names=unit_names,
        listed_sources=set(sources["source_id"]),
        known=known,
        locate=lambda la, lo: locator.locate(la, lo)["district"].to_numpy(object),
        area=area,
        problem=found.problem,
        fill=found.fill,
    )
    settings = {**settings, "bbox": list(area)}
    return Scenario(
        name=str(settings["name"]),
        title=str(settings["title"]),
        path=path,
        places=places,
        districts=districts,
        oblasts=oblasts,
        incidents=incidents,
        admin1=tables["admin1.geojson"],
        admin2=admin2,
        facts=facts,
        sources=sources,
        settings=settings,
        dropped=dropped,
        displacement=displacement,
        **parts,
    )


@lru_cache(maxsize=8)
def _load(path: Path, stamp: tuple[tuple[str, int, int], ...]) -> Scenario:
    found = _Findings(path)
    scenario = _load_into(path, found)
    if found.report.problems or scenario is None:
        raise ScenarioCheckError(path, found.report.problems)
    return scenario


def check_scenario(folder: str | Path) -> CheckReport:
    """Every problem of a scenario folder (one sentence each) and the placeholders still to fill.

    Raises
    ------
    ScenarioError
        Only if ``folder`` is not a scenario folder at all (no scenario.toml).
    """
    path = _resolve(str(folder)).resolve()
    found = _Findings(path)
    _load_into(path, found)
    return found.report


def load_scenario(name: str = DEFAULT_SCENARIO) -> Scenario:
    """Load a shipped scenario by name, or a folder of your own that holds a ``scenario.toml``.

    Raises
    ------
    ScenarioError
        If the name is unknown; :class:`kalkan.errors.ScenarioCheckError` (a ScenarioError) if a file is
        missing or malformed, with one sentence per problem naming the file, the row and the fix.
    """
    path = _resolve(name).resolve()
    # Callers may add columns; give each a copy of the tables, not the cached objects.
    return _load(path, _stamp(path)).copy()
