"""Distances on the Earth, in one place: the radius, the great-circle distance, 3-D coordinates.

Every module that measures a distance between latitude/longitude points uses these (the planner's
travel times, the register's duplicate detection, the hotspot grids, the brief's maps), so they
cannot disagree. Units are in the names: ``_km``, degrees for latitude/longitude.

The Earth is a sphere of radius 6,371.0088 km, the IUGG mean radius (Moritz, "Geodetic Reference
System 1980", Journal of Geodesy 74, 2000); the error against the ellipsoid is under 0.5%.
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np
import numpy.typing as npt

__all__ = ["EARTH_RADIUS_KM", "KM_PER_DEGREE", "haversine_km", "to_unit_vectors", "to_xyz_km"]

#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088

#: Kilometres per degree of latitude (and of longitude at the equator) on that sphere: 111.195 km.
KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180.0


@overload
def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float: ...


@overload
def haversine_km(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> npt.NDArray[np.float64]: ...


def haversine_km(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> float | npt.NDArray[np.float64]:
    """Great-circle distance in km between points in decimal degrees.

    Four plain numbers give a float (computed with :mod:`math`: the register scores pairs one at a
    time); arrays broadcast like numpy (pass column vectors on one side for a matrix).
    """
    scalar = float | int
    if (
        isinstance(lat1, scalar)
        and isinstance(lon1, scalar)
        and isinstance(lat2, scalar)
        and isinstance(lon2, scalar)
    ):
        q1, q2 = math.radians(lat1), math.radians(lat2)
        dq, dl = q2 - q1, math.radians(lon2 - lon1)
        h = math.sin(dq / 2) ** 2 + math.cos(q1) * math.cos(q2) * math.sin(dl / 2) ** 2
        return 2.0 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
    p1, l1, p2, l2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    h = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))), dtype=float)


def to_unit_vectors(latitude: npt.ArrayLike, longitude: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Points as 3-D unit vectors (n x 3): the chord between two is 2 sin(distance / 2R), so a KD-tree
    on them finds the pairs within a great-circle distance."""
    phi = np.radians(np.asarray(latitude, dtype=float))
    lam = np.radians(np.asarray(longitude, dtype=float))
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


def to_xyz_km(latitude: npt.ArrayLike, longitude: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Points as 3-D coordinates (km) on the sphere; the chord equals the distance to 0.1% below 500 km."""
    return EARTH_RADIUS_KM * to_unit_vectors(latitude, longitude)
