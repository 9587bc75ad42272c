"""Load a scenario (package data or a folder of your own) into typed tables.

A scenario is a folder with ``scenario.toml``, ``SOURCES.md``, ``facts.md``, ``settlements.csv``,
``villages.csv``, ``neighbourhoods.csv``, ``districts.csv``, ``incidents.csv``, ``admin1.geojson`` and
``admin2.geojson``. Every file is checked on load; a missing or malformed file raises
:class:`kalkan.errors.ScenarioError` naming the file, the rows and the fix.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kalkan.errors import ScenarioError
from kalkan.scenarios._incidents import build_events
from kalkan.scenarios._markdown import read_facts, read_sources
from kalkan.scenarios._places import DistrictLocator, build_places

DEFAULT_SCENARIO = "kyrgyzstan_2010"

# file -> (required columns, numeric columns that must parse where filled, numeric columns that
# must be filled)
_CSV_SCHEMAS: dict[str, tuple[list[str], list[str], list[str]]] = {
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
        ["population"],
        ["geonameid", "latitude", "longitude"],
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
    ),  # fmt: skip
    "neighbourhoods.csv": (
        ["name", "source_name", "latitude", "longitude", "district", "geonameid", "wof_id", "named_in"],
        [],
        ["latitude", "longitude", "geonameid"],
    ),
    "districts.csv": (
        [
            "district",
            "oblast",
            "population_2009",
            "population_note",
            "kyrgyz_share_pct",
            "ethnic_note",
            "source_ids",
        ],
        ["population_2009", "kyrgyz_share_pct"],
        [],
    ),  # fmt: skip
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
    ),  # fmt: skip
}
FILES = ["scenario.toml", "SOURCES.md", "facts.md", *_CSV_SCHEMAS, "admin1.geojson", "admin2.geojson"]


@dataclass
class Scenario:
    """A place and time to plan for: where people live, who is at risk, what happened, and the sources.

    Attributes
    ----------
    places : DataFrame
        ``place_id, name, kind (town/village/neighbourhood), latitude, longitude (degrees), district,
        district_code, oblast, population`` (people; NaN if unknown) ``, population_source, geonameid,
        wof_id, named_in``.
    districts : DataFrame
        One row per admin2 unit of the scenario: ``district, district_code, oblast, population_2009``
        (people, NaN if unknown) ``, uzbek_share_pct`` (percent, NaN if unknown; the column is the
        scenario's ``group_share_column``) ``, kyrgyz_share_pct, source_ids, ...``.
    oblasts : DataFrame
        Oblast totals: ``oblast, population_2009, group_share_pct, source_ids, note``.
    incidents : DataFrame
        Events in ``kalkan.model`` columns plus ``source_ids, raw_date, raw_location, located``
        (rows without coordinates are kept, with ``located`` False).
    facts : DataFrame
        ``topic, figure, value, unit, what, source_ids, status, headline``; ``headline`` rows are the
        figures a brief shows.
    sources : DataFrame
        ``source_id, title, publisher, date, url``.
    dropped : DataFrame
        Rows of the input files merged into another place or left out, with the reason.
    """

    name: str
    title: str
    path: Path
    places: pd.DataFrame
    districts: pd.DataFrame
    oblasts: pd.DataFrame
    incidents: pd.DataFrame
    admin1: dict[str, Any]
    admin2: dict[str, Any]
    facts: pd.DataFrame
    sources: pd.DataFrame
    settings: dict[str, Any]
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def as_of(self) -> date:
        """The day the scenario looks at (``as_of`` in scenario.toml)."""
        value = self.settings.get("as_of")
        return value if isinstance(value, date) else date.fromisoformat(str(value))

    @property
    def group_at_risk(self) -> str:
        """Who the scenario protects, in words (e.g. "ethnic Uzbeks")."""
        return str(self.settings.get("group_at_risk", "the group at risk"))

    @property
    def headlines(self) -> pd.DataFrame:
        """The figures a brief shows, each with its sources."""
        return self.facts[self.facts["headline"]].reset_index(drop=True)


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
        _require(candidate, "scenario.toml")
    known = ", ".join(list_scenarios())
    raise ScenarioError(
        f"Unknown scenario {name!r}: the shipped scenarios are {known}; "
        "or give a folder that holds a scenario.toml (see `kalkan scenario list`)."
    )


def _require(folder: Path, file_name: str) -> Path:
    path = folder / file_name
    if not path.is_file():
        raise ScenarioError(
            f"Scenario folder {folder} is missing {file_name}: a scenario needs {', '.join(FILES)}; "
            "restore the file (the shipped copy is in kalkan/scenarios/)."
        )
    return path


def _read_csv(folder: Path, file_name: str) -> pd.DataFrame:
    path = _require(folder, file_name)
    required, numeric, filled = _CSV_SCHEMAS[file_name]
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ScenarioError(
            f"{file_name} in {folder} is not a readable CSV ({error}); fix or restore it."
        ) from None
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ScenarioError(
            f"{file_name} lacks the column(s) {', '.join(missing)}; it needs {', '.join(required)}."
        )
    for column in numeric + filled:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = frame.index[values.isna() & frame[column].notna()]
        if len(bad):
            rows = ", ".join(str(i + 2) for i in bad[:5])
            raise ScenarioError(
                f"{file_name} has {len(bad)} non-numeric {column} value(s) (rows {rows}, e.g. "
                f"{frame.loc[bad[0], column]!r}); write a number or leave the cell empty."
            )
        frame[column] = values
    for column in filled:
        empty = frame.index[frame[column].isna()]
        if len(empty):
            rows = ", ".join(str(i + 2) for i in empty[:5])
            raise ScenarioError(
                f"{file_name} has {len(empty)} row(s) without {column} (rows {rows}); fill them."
            )
    return frame


def _read_json(folder: Path, file_name: str) -> dict[str, Any]:
    path = _require(folder, file_name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ScenarioError(
            f"{file_name} in {folder} is not valid JSON ({error}); fix or restore it."
        ) from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not data.get("features"):
        raise ScenarioError(f"{file_name} must be a GeoJSON FeatureCollection with features.")
    return data


def _read_settings(folder: Path) -> dict[str, Any]:
    path = _require(folder, "scenario.toml")
    try:
        settings = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"scenario.toml in {folder} is not valid TOML ({error}); fix it.") from None
    for key in ("name", "title", "as_of", "group_share_column", "oblasts", "district_names"):
        if key not in settings:
            raise ScenarioError(f"scenario.toml in {folder} lacks the setting {key!r}; add it.")
    return settings


def _districts(
    raw: pd.DataFrame, settings: dict[str, Any], admin2: dict[str, Any], share_column: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per admin2 unit in the scenario's oblasts, joined to the census rows; and the oblast totals."""
    if share_column not in raw.columns:
        raise ScenarioError(
            f"districts.csv lacks the group share column {share_column!r} named in scenario.toml."
        )
    raw = raw.copy()
    raw[share_column] = pd.to_numeric(raw[share_column], errors="coerce")
    oblast_rows = settings.get("oblast_rows", {})
    oblast_names = settings.get("oblast_names", {})
    names = settings["district_names"]

    totals = raw[raw["district"].isin(oblast_rows)]
    oblasts = pd.DataFrame(
        {
            "oblast": [oblast_rows[d] for d in totals["district"]],
            "population_2009": totals["population_2009"].astype(float).to_numpy(),
            "group_share_pct": totals[share_column].astype(float).to_numpy(),
            "source_ids": totals["source_ids"].fillna("").to_numpy(),
            "note": totals["population_note"].fillna("").to_numpy(),
        }
    )
    units = raw[~raw["district"].isin(oblast_rows)]
    unknown = sorted(set(units["district"]) - set(names))
    if unknown:
        raise ScenarioError(
            f"districts.csv rows {unknown} have no entry in [district_names] of scenario.toml; "
            "add 'census name' = 'admin2 name' lines."
        )
    census = units.assign(census_name=units["district"], district=units["district"].map(names))
    census["oblast_census"] = census["oblast"].map(lambda o: oblast_names.get(o, o))

    features = [
        f["properties"] for f in admin2["features"] if f["properties"].get("oblast") in settings["oblasts"]
    ]
    frame = pd.DataFrame(
        {
            "district": [p["name"] for p in features],
            "district_code": [p["code"] for p in features],
            "oblast": [p["oblast"] for p in features],
            "unit_type": [p.get("type", "") for p in features],
        }
    )
    not_mapped = sorted(set(census["district"]) - set(frame["district"]))
    if not_mapped:
        raise ScenarioError(
            f"[district_names] in scenario.toml maps to {not_mapped}, which are not admin2.geojson units "
            "in the scenario's oblasts; use the admin2 names."
        )
    keep = ["district", "census_name", "population_2009", "population_note", share_column, "kyrgyz_share_pct",
            "ethnic_note", "source_ids"]  # fmt: skip
    frame = frame.merge(census[keep], on="district", how="left")
    frame["source_ids"] = frame["source_ids"].fillna("")
    for column in ("census_name", "population_note", "ethnic_note"):
        frame[column] = frame[column].fillna("")
    frame["population_2009"] = frame["population_2009"].astype(float)
    frame[share_column] = frame[share_column].astype(float)
    frame["kyrgyz_share_pct"] = frame["kyrgyz_share_pct"].astype(float)
    return frame.sort_values(["oblast", "district"]).reset_index(drop=True), oblasts


def _headlines(settings: dict[str, Any], facts_text: str, source_ids: set[str]) -> pd.DataFrame:
    rows = []
    for number, item in enumerate(settings.get("headline", []), start=1):
        for key in ("topic", "label", "value", "unit", "quote", "source_ids"):
            if key not in item:
                raise ScenarioError(f"headline {number} in scenario.toml lacks {key!r}; add it.")
        if item["quote"] not in facts_text:
            raise ScenarioError(
                f"headline {number} quotes {item['quote']!r}, which is not in facts.md; "
                "quote facts.md exactly."
            )
        digits = f"{int(item['value']):,}"
        if digits not in item["quote"]:
            raise ScenarioError(
                f"headline {number} gives the value {item['value']} but its quote {item['quote']!r} "
                f"does not contain {digits}; make them agree."
            )
        missing = [s for s in item["source_ids"] if s not in source_ids]
        if not item["source_ids"] or missing:
            raise ScenarioError(
                f"headline {number} cites {missing or 'no source'}, not listed in SOURCES.md or "
                "[[data_source]]; "
                "cite a listed source."
            )
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
            }
        )
    return pd.DataFrame(rows)


def _stamp(path: Path) -> tuple[tuple[str, int, int], ...]:
    # Cache key: a file edited on disk gives a new key, so a fix is seen without restarting.
    return tuple(
        (p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(path.iterdir()) if p.is_file()
    )


@lru_cache(maxsize=8)
def _load(path: Path, stamp: tuple[tuple[str, int, int], ...]) -> Scenario:
    settings = _read_settings(path)
    admin1 = _read_json(path, "admin1.geojson")
    admin2 = _read_json(path, "admin2.geojson")
    sources = read_sources(_require(path, "SOURCES.md"))
    extra = pd.DataFrame(settings.get("data_source", []), columns=sources.columns)
    sources = pd.concat([sources, extra], ignore_index=True)
    facts_path = _require(path, "facts.md")
    facts = read_facts(facts_path)
    headlines = _headlines(settings, facts_path.read_text(encoding="utf-8"), set(sources["source_id"]))
    facts = pd.concat([headlines, facts], ignore_index=True) if len(headlines) else facts
    facts["headline"] = facts["headline"].astype(bool)

    locator = DistrictLocator(admin2)
    places, dropped = build_places(
        _read_csv(path, "settlements.csv"),
        _read_csv(path, "villages.csv"),
        _read_csv(path, "neighbourhoods.csv"),
        locator,
        list(settings["oblasts"]),
    )
    districts, oblasts = _districts(
        _read_csv(path, "districts.csv"), settings, admin2, str(settings["group_share_column"])
    )
    incidents = build_events(
        _read_csv(path, "incidents.csv"),
        scenario=str(settings["name"]),
        country_iso3=str(settings.get("country_iso3", "")),
        file_name="incidents.csv",
    )
    where = locator.locate(incidents["latitude"].to_numpy(float), incidents["longitude"].to_numpy(float))
    incidents["admin1"] = np.where(incidents["located"], where["oblast"], "")
    incidents["admin2"] = np.where(incidents["located"], where["district"], "")
    return Scenario(
        name=str(settings["name"]),
        title=str(settings["title"]),
        path=path,
        places=places,
        districts=districts,
        oblasts=oblasts,
        incidents=incidents,
        admin1=admin1,
        admin2=admin2,
        facts=facts,
        sources=sources,
        settings=settings,
        dropped=dropped,
    )


def load_scenario(name: str = DEFAULT_SCENARIO) -> Scenario:
    """Load a shipped scenario by name, or a folder of your own that holds a ``scenario.toml``.

    Raises
    ------
    ScenarioError
        If the name is unknown, or a file is missing or malformed (the message names the file and rows).
    """
    path = _resolve(name).resolve()
    scenario = _load(path, _stamp(path))
    # Callers may add columns; give each a copy of the tables, not the cached objects.
    return Scenario(
        name=scenario.name,
        title=scenario.title,
        path=scenario.path,
        places=scenario.places.copy(),
        districts=scenario.districts.copy(),
        oblasts=scenario.oblasts.copy(),
        incidents=scenario.incidents.copy(),
        admin1=scenario.admin1,
        admin2=scenario.admin2,
        facts=scenario.facts.copy(),
        sources=scenario.sources.copy(),
        settings=dict(scenario.settings),
        dropped=scenario.dropped.copy(),
    )
