"""Travel time between places: straight line x circuity / speed by default, or a road network.

Default model (``travel_minutes``): great-circle (haversine) distance on a sphere of radius
6,371.0088 km (the IUGG mean Earth radius), times a circuity factor of 1.3 (road distance over
straight-line distance), over an average speed of 40 km/h.

- Circuity 1.3: Newell (1980) found network distances in cities about 1.2 x the straight line;
  O'Sullivan (1996) 1.21-1.23 around transit stations; national road networks run higher (Ballou,
  Rahardja & Sakai 2002, "Selected country circuity factors for road travel distance estimation",
  Transportation Research A 36:843-848). Summary: Wikibooks, "Transportation Geography and Network
  Science/Circuity". We take 1.3 for the mixed town/village roads of a foothill valley: an
  assumption above the urban 1.2, to be replaced by a road network where one is available.
- Speed 40 km/h: an assumption (a police vehicle on mixed urban and rural roads in a tense
  situation), not a measured figure. Change it with ``speed_kmh``.

With these defaults a 30-minute response reaches 20 km by road, about 15.4 km in a straight line.

Road networks: :func:`network_minutes` takes GeoJSON LineStrings (each with an optional
``speed_kmh`` or ``maxspeed`` property), snaps every point to its nearest network node (the snap
distance is walked at ``access_speed_kmh``) and runs Dijkstra (``scipy.sparse.csgraph``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from kalkan.distance import EARTH_RADIUS_KM, haversine_km
from kalkan.errors import InputError, SchemaError
from kalkan.plan.defaults import ACCESS_SPEED_KMH, CIRCUITY, SPEED_KMH

__all__ = [
    "ACCESS_SPEED_KMH",
    "CIRCUITY",
    "EARTH_RADIUS_KM",
    "SPEED_KMH",
    "haversine_km",
    "network_minutes",
    "planar_distance",
    "reach_km",
    "travel_minutes",
]


ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]


def travel_minutes(
    lat1: ArrayLike,
    lon1: ArrayLike,
    lat2: ArrayLike,
    lon2: ArrayLike,
    *,
    circuity: float = CIRCUITY,
    speed_kmh: float = SPEED_KMH,
) -> FloatArray:
    """Travel time in minutes: haversine distance x ``circuity`` / ``speed_kmh`` (see module docs).

    Broadcasts like numpy: pass column vectors for one side to get a matrix.
    """
    if not circuity >= 1.0:
        raise InputError(
            f"circuity must be >= 1 (road distance is never shorter than the straight line); got {circuity}."
        )
    if not speed_kmh > 0:
        raise InputError(f"speed_kmh must be > 0; got {speed_kmh}.")
    return haversine_km(lat1, lon1, lat2, lon2) * circuity / speed_kmh * 60.0


def reach_km(response_minutes: float, *, circuity: float = CIRCUITY, speed_kmh: float = SPEED_KMH) -> float:
    """Straight-line distance in km reached within ``response_minutes`` under the default model."""
    return response_minutes / 60.0 * speed_kmh / circuity


def planar_distance(x1: ArrayLike, y1: ArrayLike, x2: ArrayLike, y2: ArrayLike) -> FloatArray:
    """Euclidean distance between planar points (same units as the coordinates)."""
    dx = np.asarray(x1, dtype=float) - np.asarray(x2, dtype=float)
    dy = np.asarray(y1, dtype=float) - np.asarray(y2, dtype=float)
    return np.asarray(np.hypot(dx, dy), dtype=float)


def _edge_speed(properties: Mapping[str, Any] | None, default: float) -> float:
    props = properties or {}
    for key in ("speed_kmh", "maxspeed"):
        value = props.get(key)
        if value is None:
            continue
        try:
            speed = float(str(value).split()[0])
        except ValueError:
            continue
        if speed > 0:
            return speed
    return default


def network_minutes(
    geojson: Mapping[str, Any],
    lat1: ArrayLike,
    lon1: ArrayLike,
    lat2: ArrayLike,
    lon2: ArrayLike,
    *,
    speed_kmh: float = SPEED_KMH,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
    max_minutes: float | None = None,
) -> FloatArray:
    """Travel minutes from each point 1 to each point 2 over a road network (a matrix, rows = points 1).

    Parameters
    ----------
    geojson : mapping
        A FeatureCollection of LineString / MultiLineString features in longitude/latitude. Each
        feature may carry ``speed_kmh`` (or ``maxspeed``) in its properties; otherwise ``speed_kmh``.
        Consecutive vertices are edges; vertices shared by lines (same coordinates to 1e-6 degrees)
        join them.
    lat1, lon1, lat2, lon2 : array-like
        Origins and destinations in decimal degrees.
    access_speed_kmh : float
        Speed over the straight line from a point to its nearest network vertex (walking: 5 km/h).
    max_minutes : float, optional
        Stop searching beyond this time (faster on large networks); farther pairs get ``inf``.

    Returns
    -------
    ndarray of shape (len(lat1), len(lat2))
        Minutes; ``inf`` where the network does not connect the two points.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    if not isinstance(geojson, Mapping) or geojson.get("type") != "FeatureCollection":
        raise SchemaError("The road network must be a GeoJSON FeatureCollection of LineStrings.")
    nodes: dict[tuple[float, float], int] = {}
    rows: list[int] = []
    cols: list[int] = []
    minutes: list[float] = []

    def node(lon: float, lat: float) -> int:
        key = (round(float(lon), 6), round(float(lat), 6))
        if key not in nodes:
            nodes[key] = len(nodes)
        return nodes[key]

    for number, feature in enumerate(geojson.get("features") or []):
        geometry = (feature or {}).get("geometry") or {}
        kind = geometry.get("type")
        if kind == "LineString":
            lines = [geometry.get("coordinates") or []]
        elif kind == "MultiLineString":
            lines = geometry.get("coordinates") or []
        else:
            raise SchemaError(
                f"Road network feature {number} is a {kind!r}, not a LineString: keep only "
                f"road lines in the file."
            )
        speed = _edge_speed(feature.get("properties"), speed_kmh)
        for line in lines:
            for a, b in zip(line[:-1], line[1:], strict=True):
                u, v = node(a[0], a[1]), node(b[0], b[1])
                if u == v:
                    continue
                km = float(haversine_km(a[1], a[0], b[1], b[0]))
                rows += [u, v]
                cols += [v, u]
                minutes += [km / speed * 60.0] * 2
    if not nodes:
        raise SchemaError(
            "The road network has no line segments: give a GeoJSON FeatureCollection of "
            "LineStrings in longitude/latitude."
        )
    coords = np.array(list(nodes.keys()), dtype=float)  # lon, lat
    graph = coo_matrix((minutes, (rows, cols)), shape=(len(nodes), len(nodes))).tocsr()

    # Snap points to the nearest vertex on a local equirectangular projection (fine at city scale).
    lat0 = np.radians(coords[:, 1].mean())

    def project(lon: FloatArray, lat: FloatArray) -> FloatArray:
        return np.column_stack([np.radians(lon) * np.cos(lat0), np.radians(lat)]) * EARTH_RADIUS_KM

    tree = cKDTree(project(coords[:, 0], coords[:, 1]))
    la1, lo1, la2, lo2 = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    _, near1 = tree.query(project(lo1, la1))
    _, near2 = tree.query(project(lo2, la2))
    access1 = haversine_km(la1, lo1, coords[near1, 1], coords[near1, 0]) / access_speed_kmh * 60.0
    access2 = haversine_km(la2, lo2, coords[near2, 1], coords[near2, 0]) / access_speed_kmh * 60.0
    sources, inverse = np.unique(near1, return_inverse=True)
    limit = np.inf if max_minutes is None else float(max_minutes)
    dist = dijkstra(graph, directed=False, indices=sources, limit=limit)
    result = dist[inverse][:, near2] + access1[:, None] + access2[None, :]
    return np.asarray(result, dtype=float)
