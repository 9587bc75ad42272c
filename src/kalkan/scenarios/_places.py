"""Assemble one table of places from towns, villages and neighbourhoods, and place points in districts.

The three files overlap: most towns and every neighbourhood are also a village row with the same GeoNames
id. A place is kept once, as a town if it is in the town list (which carries the population),
else as a neighbourhood (named in the incidents), else as a village. Places outside the scenario's oblasts
are dropped; every merge and drop is listed with its reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

PLACE_COLUMNS = [
    "place_id", "name", "kind", "latitude", "longitude", "district", "district_code", "oblast",
    "population", "population_source", "geonameid", "wof_id", "named_in",
]  # fmt: skip
DROP_COLUMNS = ["file", "name", "geonameid", "reason"]

# Nearest-polygon fallback for points just outside a simplified boundary, in degrees (~2 km).
_NEAREST_TOLERANCE_DEG = 0.02


class DistrictLocator:
    """Point-in-polygon lookup of district and oblast from an admin2 GeoJSON layer."""

    def __init__(self, admin2: dict[str, Any]) -> None:
        from shapely.geometry import shape

        features = admin2["features"]
        self._shapes = [shape(feature["geometry"]) for feature in features]
        self._props = [feature["properties"] for feature in features]

    def locate(self, latitude: np.ndarray, longitude: np.ndarray) -> pd.DataFrame:
        """District name, code and oblast for each point (empty strings where no unit is near)."""
        import shapely

        lat = np.asarray(latitude, dtype=float)
        lon = np.asarray(longitude, dtype=float)
        found = np.full(lat.shape, -1)
        for index, geometry in enumerate(self._shapes):
            inside = shapely.contains_xy(geometry, lon, lat) & (found < 0)
            found[inside] = index
        points = shapely.points(lon, lat)
        for row in np.flatnonzero((found < 0) & np.isfinite(lat) & np.isfinite(lon)):
            distances = [geometry.distance(points[row]) for geometry in self._shapes]
            best = int(np.argmin(distances))
            if distances[best] <= _NEAREST_TOLERANCE_DEG:
                found[row] = best
        return pd.DataFrame(
            {
                "district": [self._props[i]["name"] if i >= 0 else "" for i in found],
                "district_code": [self._props[i]["code"] if i >= 0 else "" for i in found],
                "oblast": [self._props[i]["oblast"] if i >= 0 else "" for i in found],
            }
        )

    def far_from_every_unit(self, latitude: np.ndarray, longitude: np.ndarray, degrees: float) -> np.ndarray:
        """True for finite points more than ``degrees`` from every unit (NaN points are never far)."""
        import shapely

        lat = np.asarray(latitude, dtype=float)
        lon = np.asarray(longitude, dtype=float)
        far = np.zeros(lat.shape, dtype=bool)
        given = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon))
        if not len(given):
            return far
        points = shapely.points(lon[given], lat[given])
        nearest = np.min([shapely.distance(geometry, points) for geometry in self._shapes], axis=0)
        far[given] = nearest > degrees
        return far

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` of all units, in degrees."""
        import shapely

        box = shapely.total_bounds(self._shapes)
        return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def _gid(value: object) -> str:
    text = str(value)
    return "" if text in ("", "nan", "None") else str(int(float(text)))


def _town_name(record: pd.Series) -> str:
    # settlements.csv puts the usual name in alt_name when GeoNames' primary name differs ("Manas").
    alt = record.get("alt_name")
    if isinstance(alt, str) and alt.strip():
        return alt.split(" (")[0].strip()
    return str(record["name"])


def _place(
    key: str, kind: str, name: str, point: pd.Series, unit: pd.Series, gid: str, wof_id: str, named_in: str
) -> dict[str, Any]:
    """A row of :data:`PLACE_COLUMNS` without a population: the point's coordinates, the district, code
    and oblast of ``unit`` (the row itself where its file names them, else where the point lies)."""
    return {
        "place_id": key,
        "name": name,
        "kind": kind,
        "latitude": float(point["latitude"]),
        "longitude": float(point["longitude"]),
        "district": str(unit["district"]),
        "district_code": str(unit["district_code"]),
        "oblast": str(unit["oblast"]),
        "population": np.nan,
        "population_source": "",
        "geonameid": gid,
        "wof_id": wof_id,
        "named_in": named_in,
    }


def build_places(
    towns: pd.DataFrame,
    villages: pd.DataFrame,
    neighbourhoods: pd.DataFrame,
    locator: DistrictLocator,
    oblasts: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per place and the list of rows merged or dropped (``file, name, geonameid, reason``)."""
    dropped: list[dict[str, str]] = []

    def drop(file: str, name: str, gid: str, reason: str) -> None:
        """A row merged into another place or left out: a row of DROP_COLUMNS."""
        dropped.append({"file": file, "name": name, "geonameid": gid, "reason": reason})

    places: dict[str, dict[str, Any]] = {}

    for _, v in villages.iterrows():
        gid = _gid(v["geonameid"])
        key = f"gn{gid}" if gid else f"wof{_gid(v['wof_id'])}"
        population = float(v["population"]) if pd.notna(v["population"]) else np.nan
        source = "" if pd.isna(v["population_source"]) else str(v["population_source"])
        places[key] = _place(key, "village", str(v["name"]), v, v, gid, _gid(v["wof_id"]), "villages.csv")
        places[key].update(population=population, population_source=source)

    new_towns = [t for _, t in towns.iterrows() if f"gn{_gid(t['geonameid'])}" not in places]
    located = (
        locator.locate(
            np.array([t["latitude"] for t in new_towns]), np.array([t["longitude"] for t in new_towns])
        )
        if new_towns
        else pd.DataFrame(columns=["district", "district_code", "oblast"])
    )
    where = {f"gn{_gid(t['geonameid'])}": located.iloc[i] for i, t in enumerate(new_towns)}
    for _, t in towns.iterrows():
        gid = _gid(t["geonameid"])
        key = f"gn{gid}"
        population = float(t["population"]) if pd.notna(t["population"]) else np.nan
        source = str(t["population_source"]) if pd.notna(population) else ""
        if key in places:
            old = places[key]
            why = f"same place as town {_town_name(t)} in settlements.csv (geonameid {gid}): kept once, "
            drop("villages.csv", str(old["name"]), gid, why + "as the town, with the town list's population")
            old.update(
                kind="town",
                name=_town_name(t),
                population=population,
                population_source=source,
                named_in="settlements.csv; villages.csv",
            )
            continue
        places[key] = _place(key, "town", _town_name(t), t, where[key], gid, "", "settlements.csv")
        places[key].update(population=population, population_source=source)

    for _, n in neighbourhoods.iterrows():
        gid = _gid(n["geonameid"])
        key = f"gn{gid}"
        if key in places:
            old = places[key]
            why = f"same place as {old['kind']} {old['name']} (geonameid {gid}): kept once"
            drop("neighbourhoods.csv", str(n["source_name"]), gid, why)
            if old["kind"] == "village":
                old.update(kind="neighbourhood", name=str(n["source_name"]))
            old["named_in"] = f"{old['named_in']}; neighbourhoods.csv ({n['named_in']})"
            continue
        loc = locator.locate(np.array([n["latitude"]]), np.array([n["longitude"]])).iloc[0]
        named_in = f"neighbourhoods.csv ({n['named_in']})"
        places[key] = _place(
            key, "neighbourhood", str(n["source_name"]), n, loc, gid, _gid(n["wof_id"]), named_in
        )

    table = pd.DataFrame(list(places.values()), columns=PLACE_COLUMNS)
    outside = ~table["oblast"].isin(oblasts)
    for _, row in table[outside].iterrows():
        why = f"outside the scenario's oblasts ({row['oblast'] or 'no district found'})"
        drop(str(row["named_in"]).split(";")[0], str(row["name"]), str(row["geonameid"]), why)
    table = table[~outside].sort_values(["oblast", "district", "kind", "name"]).reset_index(drop=True)
    table["population"] = table["population"].astype(float)
    return table, pd.DataFrame(dropped, columns=DROP_COLUMNS)
