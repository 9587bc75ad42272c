# ruff: noqa: E501  (sentences and HTML kept whole)
"""Maps as inline SVG, drawn straight from the scenario's GeoJSON: no tiles, no network, no JavaScript.

Projection: equirectangular with the longitude scaled by cos(mean latitude), which keeps shapes and
distances right to within about 1% over a region about 3 degrees of latitude across. Places are circles with area proportional to the people at risk, coloured by the same number
(ColorBrewer YlOrRd, 5 classes); incidents are black crosses with the number of incidents at that point;
posts are blue squares with a dashed circle of their straight-line reach.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from kalkan.distance import KM_PER_DEGREE

# ColorBrewer YlOrRd, 5 classes (Brewer, colorbrewer2.org).
PALETTE = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
POST_COLOUR = "#1f4e9c"
INCIDENT_COLOUR = "#111111"


@dataclass(frozen=True)
class Frame:
    """Map extent in degrees and the size of the drawing in px."""

    west: float
    south: float
    east: float
    north: float
    width: float = 760.0

    @property
    def kx(self) -> float:
        return math.cos(math.radians((self.south + self.north) / 2))

    @property
    def scale(self) -> float:
        return self.width / ((self.east - self.west) * self.kx)

    @property
    def height(self) -> float:
        return (self.north - self.south) * self.scale

    def xy(self, lon: Any, lat: Any) -> tuple[Any, Any]:
        """Pixel coordinates of degrees (arrays or scalars)."""
        x = (np.asarray(lon, dtype=float) - self.west) * self.kx * self.scale
        y = (self.north - np.asarray(lat, dtype=float)) * self.scale
        return x, y

    def km(self, distance_km: float) -> float:
        """Pixels per ``distance_km`` (1 degree of latitude = 111.2 km)."""
        return distance_km / KM_PER_DEGREE * self.scale


def frame_around(
    lat: Sequence[float], lon: Sequence[float], *, pad_km: float = 10.0, width: float = 760.0
) -> Frame:
    """The smallest frame holding the points plus ``pad_km`` on every side."""
    lat_a, lon_a = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    pad_lat = pad_km / KM_PER_DEGREE
    pad_lon = pad_lat / math.cos(math.radians(float(np.mean(lat_a))))
    return Frame(
        float(lon_a.min() - pad_lon),
        float(lat_a.min() - pad_lat),
        float(lon_a.max() + pad_lon),
        float(lat_a.max() + pad_lat),
        width,
    )


def widen(frame: Frame, aspect: float) -> Frame:
    """The frame grown (never shrunk) to ``height / width == aspect``, about the same centre."""
    kx = frame.kx
    w_deg, h_deg = (frame.east - frame.west) * kx, frame.north - frame.south
    if h_deg / w_deg > aspect:  # too tall: widen
        extra = (h_deg / aspect - w_deg) / kx / 2
        return Frame(frame.west - extra, frame.south, frame.east + extra, frame.north, frame.width)
    extra = (w_deg * aspect - h_deg) / 2
    return Frame(frame.west, frame.south - extra, frame.east, frame.north + extra, frame.width)


def frame_of(features: Iterable[dict[str, Any]], width: float = 760.0) -> Frame:
    """The frame around a set of GeoJSON features."""
    xs: list[float] = []
    ys: list[float] = []
    for feature in features:
        for ring in _rings(feature["geometry"]):
            xs.extend(p[0] for p in ring)
            ys.extend(p[1] for p in ring)
    return Frame(min(xs), min(ys), max(xs), max(ys), width)


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return list(geometry["coordinates"])
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    return []


def _path(geometry: dict[str, Any], frame: Frame) -> str:
    parts = []
    for ring in _rings(geometry):
        x, y = frame.xy([p[0] for p in ring], [p[1] for p in ring])
        parts.append("M" + "L".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True)) + "Z")
    return "".join(parts)


def nice_breaks(values: np.ndarray, k: int = len(PALETTE)) -> list[float]:
    """``k - 1`` class limits: quantiles of the positive values snapped to round numbers (1-2-2.5-5 x 10^n).

    Plain quantile classes break down when many values are equal (estimated villages share one figure
    per district); snapped, increasing limits stay distinct and readable. The upper quantiles are
    stretched (30/60/85/97%) so the few large towns get their own classes.
    """
    positive = values[values > 0]
    if not len(positive):
        return [float(10**i) for i in range(1, k)]
    ladder = np.array([m * 10.0**e for e in range(0, 8) for m in (1, 2, 2.5, 5)])
    levels = np.linspace(0.3, 0.97, k - 1) if k != 5 else np.array([0.3, 0.6, 0.85, 0.97])
    chosen: list[float] = []
    for target in np.log10(np.maximum(np.quantile(positive, levels), 1.0)):
        candidates = [v for v in ladder if v not in chosen and (not chosen or v > chosen[-1])]
        chosen.append(float(min(candidates, key=lambda v: abs(np.log10(v) - target))))
    return chosen


def classes(values: np.ndarray, k: int = len(PALETTE)) -> np.ndarray:
    """Class index 0..k-1 of each value by :func:`nice_breaks` (0 for non-positive values)."""
    return np.searchsorted(np.asarray(nice_breaks(values, k)), values, side="right").clip(0, k - 1)


def _legend_classes(values: np.ndarray, frame: Frame, title: str = "people at risk per place") -> str:
    positive = values[values > 0]
    if not len(positive):
        return ""
    breaks = nice_breaks(values)
    labels = [f"under {breaks[0]:,.0f}"]
    labels += [f"{a:,.0f}–{b:,.0f}" for a, b in zip(breaks[:-1], breaks[1:], strict=True)]
    labels += [f"{breaks[-1]:,.0f} and more"]
    items = []
    for i, (colour, label) in enumerate(zip(PALETTE, labels, strict=True)):
        y = 16 + i * 15
        items.append(
            f'<rect x="8" y="{y - 9}" width="12" height="10" fill="{colour}" stroke="#555" '
            'stroke-width="0.5"/>'
            f'<text x="25" y="{y}">{label}</text>'
        )
    return (
        f'<g class="legend" font-size="9" transform="translate({frame.width - 150 * 1.45:.0f},4) scale(1.45)">'
        '<rect x="0" y="-2" width="146" height="110" fill="white" fill-opacity="0.85"/>'
        f'<text x="8" y="5" font-weight="bold">{escape(title)}</text>'
        + "".join(items)
        + '<text x="8" y="92">ring: measured population</text>'
        + '<text x="8" y="104">✕ documented incidents</text></g>'
    )


def render_map(
    *,
    frame: Frame,
    districts: list[dict[str, Any]],
    oblasts: list[dict[str, Any]] | None = None,
    places: pd.DataFrame | None = None,
    incidents: pd.DataFrame | None = None,
    posts: pd.DataFrame | None = None,
    reach_km: float | None = None,
    title: str = "",
    label_districts: bool = True,
    map_id: str = "map",
    legend_title: str = "people at risk per place",
    labels: pd.DataFrame | None = None,
) -> str:
    """An SVG map: district boundaries, places by people at risk, incidents and posts.

    Parameters
    ----------
    places : DataFrame, optional
        ``latitude, longitude, at_risk, at_risk_estimated, name``.
    incidents : DataFrame, optional
        Events with ``latitude, longitude, located``; unlocated rows are not drawn (the brief lists them).
    posts : DataFrame, optional
        ``latitude, longitude, name``, drawn with a dashed circle of ``reach_km``.
    """
    from shapely.geometry import shape

    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="map" '
        f'viewBox="0 0 {frame.width:.0f} {frame.height:.0f}" '
        f'width="100%" role="img" aria-label="{escape(title)}" font-family="sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<defs><clipPath id="{map_id}-clip"><rect width="{frame.width:.0f}" height="{frame.height:.0f}"/>'
        "</clipPath></defs>",
        f'<rect width="{frame.width:.0f}" height="{frame.height:.0f}" fill="#eef3f7"/>',
        f'<g clip-path="url(#{map_id}-clip)">',
        '<g class="districts" fill="#f7f7f2" stroke="#9a9a9a" stroke-width="0.6">',
    ]
    for feature in districts:
        name = escape(str(feature["properties"].get("name", "")))
        out.append(f'<path d="{_path(feature["geometry"], frame)}"><title>{name}</title></path>')
    out.append("</g>")
    if oblasts:
        out.append('<g class="admin1" fill="none" stroke="#444" stroke-width="1.4">')
        out.extend(f'<path d="{_path(f["geometry"], frame)}"/>' for f in oblasts)
        out.append("</g>")
    if label_districts:
        out.append('<g class="labels" font-size="12" fill="#555" text-anchor="middle">')
        for feature in districts:
            geometry = shape(feature["geometry"])
            west, south, east, north = geometry.bounds
            # Label only districts wide enough on this map for their name (about 6 px a letter).
            wide = (east - west) * frame.kx * frame.scale > 8 * len(str(feature["properties"]["name"]))
            point = geometry.representative_point()
            x, y = frame.xy(point.x, point.y)
            if wide and 0 < x < frame.width and 0 < y < frame.height:
                out.append(
                    f'<text x="{x:.0f}" y="{y:.0f}">{escape(str(feature["properties"]["name"]))}</text>'
                )
        out.append("</g>")
    if places is not None and len(places):
        out.append(_places(places, frame))
    if posts is not None and len(posts):
        out.append(_posts(posts, frame, reach_km))
    if incidents is not None and len(incidents):
        out.append(_incidents(incidents, frame))
    if labels is not None and len(labels):
        out.append(_labels(labels, frame))
    out.append("</g>")
    if places is not None and len(places):
        out.append(_legend_classes(places["at_risk"].to_numpy(float), frame, legend_title))
    out.append(_scale_bar(frame))
    out.append("</svg>")
    return "".join(out)


def _labels(labels: pd.DataFrame, frame: Frame, size: float = 13.0) -> str:
    """Place names (``name, latitude, longitude``), largest first, each put beside its point where it
    collides with no name already placed (right, left, above, below), else left out."""
    x, y = frame.xy(labels["longitude"], labels["latitude"])
    placed: list[tuple[float, float, float, float]] = []
    halo = [
        f'<g class="place-labels-halo" font-size="{size:g}" fill="white" stroke="white" stroke-width="3.5">'
    ]
    out = [f'<g class="place-labels" font-size="{size:g}" fill="#111">']
    for a, b, name in zip(x, y, labels["name"], strict=True):
        text = str(name)
        width, height = 0.6 * size * len(text), size
        for dx, dy, anchor in ((6, 4, "start"), (-6, 4, "end"), (0, -8, "middle"), (0, 16, "middle")):
            left = a + dx - (width if anchor == "end" else width / 2 if anchor == "middle" else 0)
            box = (left, b + dy - height, left + width, b + dy + 2)
            inside = 0 <= box[0] and box[2] <= frame.width and 0 <= box[1] and box[3] <= frame.height
            free = all(box[2] < o[0] or o[2] < box[0] or box[3] < o[1] or o[3] < box[1] for o in placed)
            if inside and free:
                placed.append(box)
                label = (
                    f'<text x="{a + dx:.1f}" y="{b + dy:.1f}" text-anchor="{anchor}">{escape(text)}</text>'
                )
                halo.append(label)
                out.append(label)
                break
    return "".join([*halo, "</g>", *out, "</g>"])


def _places(places: pd.DataFrame, frame: Frame) -> str:
    values = places["at_risk"].to_numpy(float)
    cls = classes(values)
    top = max(float(values.max()), 1.0)
    x, y = frame.xy(places["longitude"], places["latitude"])
    order = np.argsort(values)  # small circles on top of big ones would hide; draw big first
    out = ['<g class="places" stroke="#333">']
    for i in order[::-1]:
        r = 1.2 + 14.0 * math.sqrt(max(values[i], 0.0) / top)
        measured = not bool(places["at_risk_estimated"].iloc[i])
        width = 0.9 if measured else 0.0
        tip = f"{places['name'].iloc[i]}: {'' if measured else '≈'}{values[i]:,.0f} at risk"
        out.append(
            f'<circle cx="{x[i]:.1f}" cy="{y[i]:.1f}" r="{r:.1f}" fill="{PALETTE[cls[i]]}" '
            'fill-opacity="0.85" '
            f'stroke-width="{width}"><title>{escape(tip)}</title></circle>'
        )
    out.append("</g>")
    return "".join(out)


def _incidents(incidents: pd.DataFrame, frame: Frame) -> str:
    located = incidents[incidents["located"].astype(bool)]
    groups = located.groupby([located["latitude"].round(4), located["longitude"].round(4)])
    out = [f'<g class="incidents" stroke="{INCIDENT_COLOUR}" stroke-width="2">']
    for (lat, lon), group in groups:
        x, y = frame.xy(lon, lat)
        tip = "; ".join(
            f"{d:%d %b}: {t}" for d, t in zip(group["date_start"], group["event_type"], strict=True)
        )
        out.append(
            f"<g><title>{escape(f'{len(group)} documented incidents here: {tip}')}</title>"
            f'<path d="M{x - 5:.1f},{y - 5:.1f}L{x + 5:.1f},{y + 5:.1f}'
            f'M{x - 5:.1f},{y + 5:.1f}L{x + 5:.1f},{y - 5:.1f}"/>'
            f'<text x="{x + 7:.1f}" y="{y - 6:.1f}" font-size="10" stroke="white" stroke-width="2.5" '
            f'paint-order="stroke" fill="{INCIDENT_COLOUR}">{len(group)}</text></g>'
        )
    out.append("</g>")
    return "".join(out)


def _posts(posts: pd.DataFrame, frame: Frame, reach_km: float | None) -> str:
    x, y = frame.xy(posts["longitude"], posts["latitude"])
    out = ['<g class="posts">']
    if reach_km:
        r = frame.km(reach_km)
        out.append(
            f'<g fill="{POST_COLOUR}" fill-opacity="0.06" stroke="{POST_COLOUR}" stroke-dasharray="3,2">'
        )
        out.extend(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="{r:.1f}"/>' for a, b in zip(x, y, strict=True))
        out.append("</g>")
    for a, b, name in zip(x, y, posts["name"], strict=True):
        out.append(
            f'<rect x="{a - 4:.1f}" y="{b - 4:.1f}" width="8" height="8" fill="{POST_COLOUR}" stroke="white">'
            f"<title>post: {escape(str(name))}</title></rect>"
        )
    out.append("</g>")
    return "".join(out)


def _scale_bar(frame: Frame) -> str:
    # A round length near a fifth of the map width.
    target_km = frame.width / 5 / frame.km(1.0)
    length = max(1.0, 10 ** math.floor(math.log10(target_km)))
    for step in (5, 2):
        if length * step <= target_km:
            length *= step
            break
    px = frame.km(length)
    y = frame.height - 12
    return (
        f'<g class="scale" font-size="13"><rect x="6" y="{y - 12:.0f}" width="{px + 16:.0f}" height="20" '
        'fill="white" '
        f'fill-opacity="0.8"/><path d="M14,{y:.0f}h{px:.1f}" stroke="#000" stroke-width="2"/>'
        f'<text x="14" y="{y - 3:.0f}">{length:g} km</text></g>'
    )
