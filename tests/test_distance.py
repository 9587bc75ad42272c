"""kalkan.distance: the one great-circle distance, checked against geometry it must reproduce."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalkan.distance import EARTH_RADIUS_KM, KM_PER_DEGREE, haversine_km, to_xyz_km

lat = st.floats(-90, 90)
lon = st.floats(-180, 180)


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [
        ((0.0, 0.0), (0.0, 1.0), KM_PER_DEGREE),  # one degree along the equator
        ((0.0, 0.0), (90.0, 0.0), math.pi / 2 * EARTH_RADIUS_KM),  # a quarter meridian
        ((10.0, 20.0), (-10.0, -160.0), math.pi * EARTH_RADIUS_KM),  # antipodes
        ((40.5, 72.8), (40.5, 72.8), 0.0),  # the same place
    ],
)
def test_known_distances(a: tuple[float, float], b: tuple[float, float], km: float) -> None:
    # Near the antipodes asin loses digits: 20,015.1142 km agrees to 1e-8 relative.
    assert haversine_km(*a, *b) == pytest.approx(km, rel=1e-8, abs=1e-6)


@settings(deadline=None)  # a loaded machine can stall the first example past the default 200 ms
@given(lat, lon, lat, lon)
def test_scalar_and_array_paths_agree_and_are_symmetric(a1: float, o1: float, a2: float, o2: float) -> None:
    scalar = haversine_km(a1, o1, a2, o2)
    assert isinstance(scalar, float)
    array = haversine_km(np.array([a1]), np.array([o1]), np.array([a2]), np.array([o2]))
    assert array[0] == pytest.approx(scalar, rel=1e-8, abs=1e-6)
    assert haversine_km(a2, o2, a1, o1) == pytest.approx(scalar, rel=1e-8, abs=1e-6)
    assert 0.0 <= scalar <= math.pi * EARTH_RADIUS_KM + 1e-6


def test_chord_of_xyz_matches_short_distances() -> None:
    rng = np.random.default_rng(0)
    la, lo = rng.uniform(39, 42, 50), rng.uniform(70, 74, 50)
    xyz = to_xyz_km(la, lo)
    chord = np.linalg.norm(xyz[:, None, :] - xyz[None, :, :], axis=2)
    arc = haversine_km(la[:, None], lo[:, None], la[None, :], lo[None, :])
    assert np.allclose(chord, arc, rtol=1e-3, atol=1e-9)
