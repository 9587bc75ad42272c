"""The map: reports by type and status over the district boundaries, and the latest hotspot forecast.

No tile server is needed: the basemap is the scenario's district outlines (OCHA COD-AB admin2,
shipped with the scenario), so the map works on a LAN without internet. A mission with its own tile
server sets ``KALKAN_TILE_URL``. Reports come as one compact JSON array (about 60 bytes a report)
drawn on a canvas, so 10,000 reports stay responsive on a cheap laptop.

The latest hotspot forecast is the newest file in ``<data_dir>/forecasts/``: the CSV or JSON that
``kalkan risk hotspots`` prints (``cell_id, latitude, longitude, probability, expected_events``; H3
cells are drawn as their hexagons, PRIO-GRID cells as their 0.5 degree squares), or a GeoJSON file
whose features carry a ``probability`` (0-1). Without one the page says so.
"""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from kalkan.register import service
from kalkan.register.app import register_of
from kalkan.register.auth import Actor
from kalkan.register.pages import _vocab
from kalkan.register.pages._browse import filters_from
from kalkan.register.pages._web import page, reading, render, tile_url
from kalkan.register.schemas import IncidentFilter

router = APIRouter()

SCENARIO_ENV = "KALKAN_SCENARIO"
MAP_FIELDS = ["id", "lat", "lon", "type", "status", "date", "lead"]
# One colour per event type (Okabe-Ito and Tol's palettes, readable by colour-blind users); the
# marker's outline shows the status (see map.js).
TYPE_COLOURS = {
    "killing": "#000000",
    "sexual_violence": "#cc79a7",
    "arson": "#d55e00",
    "looting": "#e69f00",
    "abduction": "#882255",
    "displacement": "#0072b2",
    "threat": "#f0e442",
    "marking_of_homes": "#999933",
    "armed_clash": "#332288",
    "explosion_remote_violence": "#661100",
    "riot": "#56b4e9",
    "protest": "#009e73",
    "assault": "#aa4499",
    "other": "#888888",
}


def map_rows(session: Session, actor: Actor, filters: IncidentFilter) -> list[list[Any]]:
    """The reports ``actor`` may see under ``filters`` as compact rows in :data:`MAP_FIELDS` order.

    The rows come from the service's own filter and access check (:func:`kalkan.register.service.map_rows`),
    so the map shows exactly the reports the list shows; only the columns a map needs are read.
    """
    return service.map_rows(session, actor, filters)


@cache
def districts_geojson(scenario: str) -> bytes:
    """The scenario's district (admin2) boundaries as GeoJSON bytes, coordinates cut to ~100 m."""
    from kalkan.scenarios import load_scenario

    def cut(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, 3)
        if isinstance(value, list):
            return [cut(v) for v in value]
        return value

    admin2 = load_scenario(scenario).admin2
    features = [
        {
            "type": "Feature",
            "properties": {"name": f["properties"].get("name"), "oblast": f["properties"].get("oblast")},
            "geometry": {"type": f["geometry"]["type"], "coordinates": cut(f["geometry"]["coordinates"])},
        }
        for f in admin2["features"]
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")).encode()


FORECAST_SUFFIXES = (".csv", ".json", ".geojson")


@cache
def places_json(scenario: str) -> bytes:
    """The scenario's towns, villages and neighbourhoods as ``{"fields": [...], "rows": [...]}`` bytes."""
    from kalkan.scenarios import load_scenario

    places = load_scenario(scenario).places
    rows = [
        [
            str(p["name"]),
            str(p["kind"]),
            round(float(p["latitude"]), 5),
            round(float(p["longitude"]), 5),
            str(p["district"]),
        ]
        for p in places.to_dict("records")
    ]
    return json.dumps(
        {"fields": ["name", "kind", "lat", "lon", "district"], "rows": rows},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def latest_forecast(data_dir: Path) -> Path | None:
    """The newest hotspot forecast (CSV, JSON or GeoJSON) in ``data_dir/forecasts``, or None."""
    folder = Path(data_dir) / "forecasts"
    if not folder.is_dir():
        return None
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FORECAST_SUFFIXES]
    return max(files, key=lambda p: (p.stat().st_mtime, p.name)) if files else None


def _cell_ring(cell_id: Any, latitude: float, longitude: float) -> list[list[float]]:
    """The outline of a forecast cell as a GeoJSON ring (lon, lat): H3 hexagon or PRIO-GRID square."""
    import h3

    if isinstance(cell_id, str) and h3.is_valid_cell(cell_id):
        ring = [[round(lon, 5), round(lat, 5)] for lat, lon in h3.cell_to_boundary(cell_id)]
    else:
        half = 0.25  # PRIO-GRID cells are 0.5 degree squares around their centre
        ring = [
            [longitude - half, latitude - half],
            [longitude + half, latitude - half],
            [longitude + half, latitude + half],
            [longitude - half, latitude + half],
        ]
    return [*ring, ring[0]]


def forecast_geojson(path: Path) -> dict[str, Any]:
    """The forecast in ``path`` as GeoJSON polygons with ``cell_id, probability, expected_events``.

    Raises :class:`kalkan.errors.SchemaError` when a CSV/JSON forecast lacks the columns
    ``kalkan risk hotspots`` writes.
    """
    import pandas as pd

    from kalkan.tables import read_csv_table, require_columns

    if path.suffix.lower() == ".geojson":
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    columns = ("cell_id", "latitude", "longitude", "probability")
    needs = "Save the output of `kalkan risk hotspots --format csv` (or json) there."
    if path.suffix.lower() == ".csv":
        frame = read_csv_table(path, "forecast", required=columns, needs=needs)
    else:
        frame = pd.DataFrame(json.loads(path.read_text(encoding="utf-8")))
        require_columns(frame, columns, what="forecast", path=path.name, needs=needs)
    features = []
    records: list[dict[str, Any]] = frame.to_dict("records")  # type: ignore[assignment]
    for row in records:
        cell = str(row["cell_id"])
        expected: Any = row.get("expected_events")
        known = expected is not None and expected == expected  # NaN is not equal to itself
        properties = {
            "cell_id": cell,
            "probability": float(row["probability"]),
            "expected_events": float(expected) if known else None,
        }
        features.append(
            {
                "type": "Feature",
                "properties": properties,
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [_cell_ring(cell, float(row["latitude"]), float(row["longitude"]))],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _json(request: Request, body: bytes, media_type: str, cache: str) -> Response:
    """``body`` gzip-compressed when the browser accepts it (a map's data shrinks ~5x: it matters on
    a slow mission link)."""
    headers = {"Cache-Control": cache, "Vary": "Accept-Encoding"}
    if len(body) > 1024 and "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, compresslevel=5)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=media_type, headers=headers)


@router.get("/map", include_in_schema=False)
def map_page(request: Request) -> Response:
    """The map page (the reports themselves come from ``/map/incidents.json``)."""
    current = page(request, required="read_all")
    filters, values, error = filters_from(current, dict(request.query_params))
    if error:
        current.flashes.append({"kind": "error", "text": error})
    forecast = latest_forecast(register_of(request).data_dir)
    forecast_info = None
    if forecast is not None:
        written = datetime.fromtimestamp(forecast.stat().st_mtime, tz=UTC)
        forecast_info = {"name": forecast.name, "written": written}
    query = urlencode(values)
    types = _vocab.event_types(current.lang)
    return render(
        current,
        "map.html",
        values=values,
        event_types=types,
        statuses=[(code, current._(label)) for code, label in _vocab.STATUS_LABELS.items()],
        reliability=[str(g) for g in _vocab.RELIABILITY],
        colours=TYPE_COLOURS,
        forecast=forecast_info,
        tile_url=tile_url(),
        data_url="/map/incidents.json" + (f"?{query}" if query else ""),
        mission_url="/map/mission.json" + (f"?{query}" if query else ""),
        mission_labels={
            "patrol": current._("%(kind)s, %(day)s: %(who)s with %(whom)s"),
            "kinds": {
                "joint_patrol": current._("Joint patrol"),
                "co_location": current._("Co-location at a police station"),
            },
            "site": current._("Site: %(name)s"),
            "coverage": current._(
                "%(patrols)s patrols from %(from)s to %(to)s; of %(incidents)s incidents in that time, "
                "%(uncovered)s had no patrol within a day and inside its area."
            ),
            "none": current._("No joint patrol or co-location has been filed for this period."),
        },
        labels={
            "types": {c: label for c, label, _m in types},
            "statuses": {c: current._(label) for c, label in _vocab.STATUS_LABELS.items()},
            "open": current._("Open report %(id)s"),
            "shown": current._("%(n)s reports on the map"),
            "same_as": current._("same incident as %(id)s"),
            "more": current._("and %(n)s more here: zoom in or use the filters"),
        },
    )


@router.get("/map/incidents.json", include_in_schema=False)
def map_data(request: Request) -> Response:
    """The reports of the map as ``{"fields": [...], "rows": [[...], ...]}`` (no personal data)."""
    current = page(request, required="read_all")
    filters, _values, _error = filters_from(current, dict(request.query_params))
    assert current.user is not None
    with reading(request) as session:
        rows = map_rows(session, current.user, filters)
    body = json.dumps({"fields": MAP_FIELDS, "rows": rows}, separators=(",", ":")).encode()
    return _json(request, body, "application/json", "no-store")


@router.get("/map/mission.json", include_in_schema=False)
def mission_data(request: Request) -> Response:
    """Patrols (circles), sites (points) and the patrol coverage of the map's incidents, for the
    map's filter (no personal data)."""
    from kalkan.register import mission

    current = page(request, required="read_all")
    filters, _values, _error = filters_from(current, dict(request.query_params))
    assert current.user is not None
    with reading(request) as session:
        patrols = mission.list_patrols(
            session,
            current.user,
            date_from=filters.date_from,
            date_to=filters.date_to,
            limit=mission.MAX_LIST,
        )
        sites = mission.list_sites(session, current.user, limit=mission.MAX_LIST)
        coverage = None
        if patrols:
            first = filters.date_from or min(p.started_at.date() for p in patrols)
            last = filters.date_to or max((p.ended_at or p.started_at).date() for p in patrols)
            if first <= last:
                coverage = mission.patrol_coverage(
                    session,
                    current.user,
                    date_from=first,
                    date_to=last,
                    security_forces=filters.security_forces,
                )
    body = json.dumps(
        {
            "patrol_fields": ["id", "lat", "lon", "radius_km", "kind", "day", "mission_unit", "partner_unit"],
            "patrols": [
                [
                    p.id,
                    p.latitude,
                    p.longitude,
                    p.radius_km,
                    p.kind,
                    p.started_at.date().isoformat(),
                    p.mission_unit,
                    p.partner_unit,
                ]
                for p in patrols
            ],
            "site_fields": ["id", "lat", "lon", "kind", "name"],
            "sites": [
                [s.id, s.latitude, s.longitude, s.kind, s.name] for s in sites if s.latitude is not None
            ],
            "coverage": coverage,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return _json(request, body, "application/json", "no-store")


@router.get("/map/districts.geojson", include_in_schema=False)
def districts(request: Request) -> Response:
    """District boundaries of the mission's scenario (public data: OCHA COD-AB via the scenario)."""
    page(request, required="read")
    body = districts_geojson(os.environ.get(SCENARIO_ENV, "kyrgyzstan_2010"))
    return _json(request, body, "application/geo+json", "max-age=86400")


@router.get("/map/places.json", include_in_schema=False)
def places(request: Request) -> Response:
    """Towns and villages of the mission's scenario (GeoNames, via the scenario), for orientation."""
    page(request, required="read")
    body = places_json(os.environ.get(SCENARIO_ENV, "kyrgyzstan_2010"))
    return _json(request, body, "application/json", "max-age=86400")


@router.get("/map/forecast.geojson", include_in_schema=False)
def forecast(request: Request) -> Response:
    """The latest hotspot forecast file, as saved (404 when none is)."""
    page(request, required="read_all")
    path = latest_forecast(register_of(request).data_dir)
    if path is None:
        return Response(
            '{"type":"FeatureCollection","features":[]}', status_code=404, media_type="application/geo+json"
        )
    body = json.dumps(forecast_geojson(path), separators=(",", ":"))
    return Response(body, media_type="application/geo+json", headers={"Cache-Control": "no-store"})
