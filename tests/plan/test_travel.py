"""Travel time: haversine x circuity / speed against hand-computed cases; road networks."""

import math

import numpy as np
import pytest

from kalkan.errors import InputError, SchemaError
from kalkan.plan.force import travel_minutes
from kalkan.plan.travel import CIRCUITY, EARTH_RADIUS_KM, SPEED_KMH, haversine_km, network_minutes, reach_km


def test_one_degree_of_latitude() -> None:
    # One degree along a meridian is 2 * pi * R / 360 km.
    km = 2 * math.pi * EARTH_RADIUS_KM / 360
    assert float(haversine_km(40.0, 72.0, 41.0, 72.0)) == pytest.approx(km, rel=1e-9)
    assert float(travel_minutes(40.0, 72.0, 41.0, 72.0)) == pytest.approx(
        km * CIRCUITY / SPEED_KMH * 60, rel=1e-9
    )


def test_osh_to_jalal_abad_by_hand() -> None:
    # Osh (40.5333 N, 72.7975 E) to Jalal-Abad (40.9333 N, 73.0000 E), hand-computed haversine 47.66 km.
    km = float(haversine_km(40.5333, 72.7975, 40.9333, 73.0))
    assert km == pytest.approx(47.66, abs=0.05)
    assert float(
        travel_minutes(40.5333, 72.7975, 40.9333, 73.0, circuity=1.0, speed_kmh=60.0)
    ) == pytest.approx(km)


def test_zero_distance_and_broadcasting() -> None:
    lat = np.array([40.0, 40.1, 40.2])
    lon = np.array([72.0, 72.1, 72.2])
    M = travel_minutes(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    assert M.shape == (3, 3)
    assert np.allclose(np.diag(M), 0.0)
    assert np.allclose(M, M.T)


def test_reach_km_matches_defaults() -> None:
    assert reach_km(30.0) == pytest.approx(30 / 60 * SPEED_KMH / CIRCUITY)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"circuity": 0.5}, "circuity must be >= 1"),
        ({"speed_kmh": 0.0}, "speed_kmh must be > 0"),
    ],
)
def test_bad_model_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        travel_minutes(40, 72, 41, 72, **kwargs)


def _road(coords: list[list[float]], speed: float | None = None) -> dict:
    props = {} if speed is None else {"speed_kmh": speed}
    return {"type": "Feature", "properties": props, "geometry": {"type": "LineString", "coordinates": coords}}


def test_network_follows_the_roads() -> None:
    # An L-shaped road: (72.0, 40.0) -> (72.1, 40.0) -> (72.1, 40.1); points sit on its ends.
    net = {
        "type": "FeatureCollection",
        "features": [
            _road([[72.0, 40.0], [72.1, 40.0]], speed=60),
            _road([[72.1, 40.0], [72.1, 40.1]], speed=30),
        ],
    }
    M = network_minutes(net, [40.0], [72.0], [40.1, 40.0], [72.1, 72.1])
    leg1 = float(haversine_km(40.0, 72.0, 40.0, 72.1)) / 60 * 60
    leg2 = float(haversine_km(40.0, 72.1, 40.1, 72.1)) / 30 * 60
    assert M[0, 1] == pytest.approx(leg1)
    assert M[0, 0] == pytest.approx(leg1 + leg2)
    # The road is longer than the straight line.
    assert M[0, 0] > float(haversine_km(40.0, 72.0, 40.1, 72.1)) / 60 * 60


def test_network_disconnected_is_infinite_and_bad_geometry_is_named() -> None:
    net = {
        "type": "FeatureCollection",
        "features": [_road([[72.0, 40.0], [72.1, 40.0]]), _road([[73.0, 41.0], [73.1, 41.0]])],
    }
    M = network_minutes(net, [40.0], [72.0], [41.0], [73.1])
    assert np.isinf(M[0, 0])
    with pytest.raises(SchemaError, match="not a LineString"):
        network_minutes(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "Point", "coordinates": [72, 40]},
                    }
                ],
            },
            [40],
            [72],
            [40],
            [72],
        )
