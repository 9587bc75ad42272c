"""Country names to ISO3 codes, and whether points lie inside a country (for validation).

Boundaries come from two packaged, offline sources (no download at run time):

1. Polygons from the ``countryinfo`` package (MIT; its ``geoJSON`` per country is the public
   "world.geo.json" set derived from Natural Earth 1:110m). 173 countries have one. 1:110m borders
   are generalised by up to tens of kilometres, so a point counts as inside when it lies within
   :data:`POLYGON_TOLERANCE_DEG` of the polygon.
2. For countries without a polygon there (e.g. Myanmar, Serbia, Hungary), bounding boxes of the
   Natural Earth map subunits from the ``country-bounding-boxes`` package, widened by
   :data:`BBOX_TOLERANCE_DEG`.

Countries in neither source are not checked (the docs list this limit).
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

import numpy as np

POLYGON_TOLERANCE_DEG = 0.25  # about 28 km at the equator: the generalisation error of 1:110m borders
BBOX_TOLERANCE_DEG = 0.25

# Names UCDP and ACLED use that the packaged name lists do not know (former names in brackets etc.).
_NAME_OVERRIDES: dict[str, str] = {
    "myanmar (burma)": "MMR",
    "burma": "MMR",
    "dr congo (zaire)": "COD",
    "dr congo": "COD",
    "democratic republic of congo": "COD",
    "democratic republic of the congo": "COD",
    "republic of congo": "COG",
    "congo": "COG",
    "russia (soviet union)": "RUS",
    "yemen (north yemen)": "YEM",
    "cambodia (kampuchea)": "KHM",
    "madagascar (malagasy)": "MDG",
    "serbia (yugoslavia)": "SRB",
    "zimbabwe (rhodesia)": "ZWE",
    "kingdom of eswatini (swaziland)": "SWZ",
    "eswatini": "SWZ",
    "bosnia-herzegovina": "BIH",
    "ivory coast": "CIV",
    "cote d'ivoire": "CIV",
    "east timor": "TLS",
    "timor-leste": "TLS",
    "palestine": "PSE",
    "kosovo": "XKX",
    "south sudan": "SSD",
    "north macedonia": "MKD",
    "macedonia, fyr": "MKD",
    "turkey": "TUR",
    "türkiye": "TUR",
    "kyrgyz republic": "KGZ",
}


@cache
def iso3(name: str) -> str | None:
    """The ISO 3166-1 alpha-3 code of a country name, ISO2/ISO3 code or ISO numeric code; None if unknown."""
    from countryinfo import CountryInfo

    text = str(name).strip()
    if not text:
        return None
    key = text.lower()
    if key in _NAME_OVERRIDES:
        return _NAME_OVERRIDES[key]
    candidates = [text, re.sub(r"\s*\(.*\)\s*", "", text)]
    candidates += re.findall(r"\(([^)]*)\)", text)
    if text.isdigit():
        candidates.insert(0, text.zfill(3))
    for candidate in candidates:
        if not candidate:
            continue
        try:
            code = CountryInfo(candidate).iso(3)
        except Exception:  # countryinfo raises its own not-found error and KeyError for gaps
            continue
        if isinstance(code, str) and len(code) == 3:
            return code.upper()
    return None


@cache
def _boundary(code: str) -> BaseGeometry | None:
    import shapely
    from shapely.geometry import box, shape

    geometry: BaseGeometry | None = None
    try:
        from countryinfo import CountryInfo

        geo = CountryInfo(code).geo_json()
        features = (geo or {}).get("features") or []
        if features:
            geometry = shapely.union_all([shape(f["geometry"]) for f in features]).buffer(
                POLYGON_TOLERANCE_DEG
            )
    except Exception:  # no polygon for this code in countryinfo
        geometry = None
    if geometry is None:
        try:
            import country_bounding_boxes as cbb

            boxes = [
                box(*unit.bbox).buffer(BBOX_TOLERANCE_DEG, join_style="mitre")
                for unit in cbb.country_subunits_by_iso_code(code)
            ]
        except Exception:
            boxes = []
        if boxes:
            geometry = shapely.union_all(boxes)
    if geometry is not None:
        shapely.prepare(geometry)
    return geometry


def boundary(code: str) -> BaseGeometry | None:
    """The prepared boundary of an ISO3 code (polygon or widened boxes), or None where kalkan has none."""
    return _boundary(code)


def has_boundary(code: str) -> bool:
    """Whether kalkan knows a boundary (polygon or box) for this ISO3 code."""
    return _boundary(str(code).upper()) is not None


def outside_country(latitude: np.ndarray, longitude: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """True where a point lies outside the boundary of its stated country (False when no boundary is known).

    Vectorised per distinct country: one prepared-geometry test (``shapely.contains_xy``) per code.
    """
    import pandas as pd
    import shapely

    lat = np.asarray(latitude, dtype=float)
    lon = np.asarray(longitude, dtype=float)
    out = np.zeros(len(lat), dtype=bool)
    series = pd.Series(codes, dtype="str")
    ok = series.notna().to_numpy() & np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return out
    groups = pd.Series(np.flatnonzero(ok)).groupby(series[ok].to_numpy()).indices
    positions = np.flatnonzero(ok)
    for code, idx in groups.items():
        geometry = _boundary(str(code).upper())
        if geometry is None:
            continue
        rows = positions[idx]
        out[rows] = ~shapely.contains_xy(geometry, lon[rows], lat[rows])
    return out
