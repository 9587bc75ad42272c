"""The brief's SVG maps and chart: valid SVG, right projection, readable classes."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from kalkan.distance import KM_PER_DEGREE
from kalkan.report.charts import coverage_curve_svg
from kalkan.report.maps import Frame, classes, frame_around, nice_breaks, render_map

SVG = "{http://www.w3.org/2000/svg}"


def test_projection_keeps_distances() -> None:
    frame = Frame(west=72.0, south=40.0, east=73.0, north=41.0, width=500)
    x0, y0 = frame.xy(72.5, 40.5)
    x1, y1 = frame.xy(72.5, 40.5 + 10 / KM_PER_DEGREE)  # 10 km north
    x2, y2 = frame.xy(72.5 + 10 / (KM_PER_DEGREE * math.cos(math.radians(40.5))), 40.5)  # 10 km east
    assert y0 - y1 == pytest.approx(frame.km(10))
    assert x2 - x0 == pytest.approx(frame.km(10), rel=1e-9)
    assert frame.xy(72.0, 41.0) == (0.0, 0.0)


def test_frame_around_pads_every_side() -> None:
    frame = frame_around([40.0, 41.0], [72.0, 73.0], pad_km=11.1195)
    assert frame.south == pytest.approx(39.9) and frame.north == pytest.approx(41.1)
    assert frame.west < 72.0 and frame.east > 73.0


@pytest.mark.parametrize(
    "values",
    [
        np.array([300.0] * 50 + [90_000.0]),  # most places equal: quantile classes would collapse
        np.geomspace(10, 100_000, 200),  # spread over four orders of magnitude
        np.array([0.0, 0.0, 5.0]),  # almost nothing
    ],
)
def test_class_limits_are_increasing_round_numbers(values: np.ndarray) -> None:
    breaks = nice_breaks(values)
    assert len(breaks) == 4 and all(a < b for a, b in zip(breaks, breaks[1:], strict=False))
    for b in breaks:
        mantissa = b / 10 ** math.floor(math.log10(b))
        assert mantissa in (1, 2, 2.5, 5)
    cls = classes(values)
    assert cls.min() >= 0 and cls.max() <= 4
    assert (np.diff(cls[np.argsort(values)]) >= 0).all()  # larger values never get a lower class


def _square(lon: float, lat: float, name: str) -> dict:
    ring = [[lon, lat], [lon + 1, lat], [lon + 1, lat + 1], [lon, lat + 1], [lon, lat]]
    return {
        "type": "Feature",
        "properties": {"name": name},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def test_map_is_valid_svg_with_every_layer() -> None:
    districts = [_square(72, 40, "A"), _square(73, 40, "B")]
    places = pd.DataFrame(
        {
            "name": ["p", "q"],
            "latitude": [40.5, 40.6],
            "longitude": [72.5, 73.5],
            "at_risk": [100.0, 5000.0],
            "at_risk_estimated": [True, False],
        }
    )
    incidents = pd.DataFrame(
        {
            "latitude": [40.5, 40.5, np.nan],
            "longitude": [72.5, 72.5, np.nan],
            "located": [True, True, False],
            "event_type": ["arson", "killing", "other"],
            "date_start": pd.to_datetime(["2010-06-11", "2010-06-12", "2010-06-13"]),
        }
    )
    posts = pd.DataFrame({"name": ["post"], "latitude": [40.55], "longitude": [72.9]})
    svg = render_map(
        frame=Frame(72, 40, 74, 41),
        districts=districts,
        places=places,
        incidents=incidents,
        posts=posts,
        reach_km=15.4,
        title="t <&>",
        map_id="m1",
    )
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    groups = {g.get("class") for g in root.iter(f"{SVG}g")}
    assert {"districts", "places", "incidents", "posts", "legend", "scale"} <= groups
    assert len(list(root.iter(f"{SVG}path"))) >= 2
    # Two incidents at one point make one marker labelled 2; the unlocated one is not drawn.
    texts = [
        t.text for g in root.iter(f"{SVG}g") if g.get("class") == "incidents" for t in g.iter(f"{SVG}text")
    ]
    assert texts == ["2"]
    assert "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_coverage_chart_is_svg_with_the_options() -> None:
    curves = pd.DataFrame({"unit": ["police"] * 3, "officers": [0, 100, 200], "covered_share": [0, 0.6, 0.9]})
    options = pd.DataFrame(
        {
            "label": ["police:100"],
            "unit": ["police"],
            "officers": [100],
            "covered_share": [0.6],
            "protected_share": [0.6],
        }
    )
    svg = coverage_curve_svg(curves, options, target=0.8, response_minutes=30)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert "police:100" in svg and "target 80%" in svg


def test_place_labels_never_collide() -> None:
    """Names of places close together are moved aside (or left out), never drawn over each other."""
    import re

    import pandas as pd

    from kalkan.report.maps import Frame, _labels

    frame = Frame(72.0, 40.0, 73.0, 41.0, 760.0)
    labels = pd.DataFrame(
        {
            "name": ["Alpha town", "Beta", "Gamma city", "Delta", "Epsilon"],
            "latitude": [40.5, 40.5005, 40.501, 40.5, 40.9],
            "longitude": [72.5, 72.5005, 72.501, 72.502, 72.9],
        }
    )
    svg = _labels(labels, frame)
    drawn = re.findall(r'<text x="([\d.]+)" y="([\d.]+)" text-anchor="(\w+)">([^<]+)</text>', svg)
    drawn = drawn[: len(drawn) // 2]  # the halo and the text repeat each label
    assert {d[3] for d in drawn} >= {"Alpha town", "Epsilon"}
    boxes = []
    for x, y, anchor, name in drawn:
        width = 0.6 * 13 * len(name)
        left = float(x) - (width if anchor == "end" else width / 2 if anchor == "middle" else 0)
        boxes.append((left, float(y) - 13, left + width, float(y) + 2))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1], (a, b)
