"""Checks every event row must pass, vectorised over a chunk; each failure has a reason code.

Reason codes (the text after the code names the field and the value):

==================  =====================================================================================
``malformed_row``   the CSV record does not split into the header's fields (more fields; in GED files,
                    read by DuckDB, also fewer fields or a quote never closed)
``missing_field``   a required value is empty (source id, start date, latitude, longitude, event type)
``bad_date``        a date is unparseable or impossible (2019-02-30)
``date_order``      the end date is before the start date
``future_date``     the start date is after today (UTC)
``bad_coordinates`` latitude/longitude not a number or out of range (-90..90, -180..180)
``null_island``     the point is (0, 0), the usual sign of a missing location
``outside_country`` the point is outside the stated country's boundary (where kalkan has one)
``bad_fatalities``  a fatality count is negative, fractional or not a number
``fatalities_order`` not low <= best <= high
``unknown_code``    a code outside its code list (type_of_violence 4, where_prec 9, grade G, ...)
``duplicate_id``    the same event id appears earlier in the file with different content
==================  =====================================================================================
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from kalkan.ingest import countries
from kalkan.ingest._parse import Problem
from kalkan.model import REQUIRED_FIELDS, LocationPrecision

REASONS: dict[str, str] = {
    "malformed_row": "the CSV record does not split into the header's fields",
    "missing_field": "a required value is empty",
    "bad_date": "a date is unparseable or impossible",
    "date_order": "the end date is before the start date",
    "future_date": "the start date is after today (UTC)",
    "bad_coordinates": "latitude/longitude not a number or out of range",
    "null_island": "the point is (0, 0)",
    "outside_country": "the point lies outside the stated country",
    "bad_fatalities": "a fatality count is negative, fractional or not a number",
    "fatalities_order": "not low <= best <= high",
    "unknown_code": "a code outside its code list",
    "duplicate_id": "the same event id appears earlier in the file with different content",
}


def validate(
    events: pd.DataFrame, problems: list[Problem], *, today: date, check_boundaries: bool = True
) -> tuple[np.ndarray, list[str]]:
    """Check a chunk of event rows; returns the refused positions and one reason text per refused row.

    ``problems`` are the parse failures the format mapper found; this adds the checks that need
    parsed values. A row can fail several checks; its reason lists them all, joined by "; ".
    """
    n = len(events)
    parse_bad = np.zeros(n, dtype=bool)
    for p in problems:
        parse_bad |= p.mask
    checks = list(problems)

    for field in REQUIRED_FIELDS:
        missing = events[field].isna().to_numpy() & ~parse_bad
        if missing.any():
            checks.append(Problem("missing_field", missing, field, None, "is empty"))

    start = events["date_start"]
    end = events["date_end"]
    order = (end < start).fillna(False).to_numpy(dtype=bool)
    if order.any():
        checks.append(
            Problem("date_order", order, "date_end", end.dt.strftime("%Y-%m-%d"), "is before date_start")
        )
    future = (start > pd.Timestamp(today)).fillna(False).to_numpy(dtype=bool)
    if future.any():
        checks.append(
            Problem(
                "future_date",
                future,
                "date_start",
                start.dt.strftime("%Y-%m-%d"),
                f"is after today ({today.isoformat()})",
            )
        )

    lat = events["latitude"].to_numpy(dtype=float, na_value=np.nan)
    lon = events["longitude"].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        bad_lat = np.abs(lat) > 90
        bad_lon = np.abs(lon) > 180
    if bad_lat.any():
        checks.append(
            Problem("bad_coordinates", bad_lat, "latitude", events["latitude"], "is outside -90..90")
        )
    if bad_lon.any():
        checks.append(
            Problem("bad_coordinates", bad_lon, "longitude", events["longitude"], "is outside -180..180")
        )
    null = (lat == 0) & (lon == 0)
    if null.any():
        checks.append(
            Problem(
                "null_island",
                null,
                "latitude/longitude",
                None,
                "are (0, 0): add the real location or leave them empty",
            )
        )

    for field in ("fatalities_best", "fatalities_low", "fatalities_high"):
        negative = (events[field] < 0).fillna(False).to_numpy(dtype=bool)
        if negative.any():
            checks.append(Problem("bad_fatalities", negative, field, events[field], "is negative"))
    best, low, high = events["fatalities_best"], events["fatalities_low"], events["fatalities_high"]
    disorder = (low > best).fillna(False) | (best > high).fillna(False) | (low > high).fillna(False)
    disorder_mask = disorder.to_numpy(dtype=bool)
    if disorder_mask.any():
        shown = (
            "low="
            + low.astype("str").fillna("")
            + " best="
            + best.astype("str").fillna("")
            + " high="
            + high.astype("str").fillna("")
        )
        checks.append(
            Problem("fatalities_order", disorder_mask, "fatalities", shown, "are not low <= best <= high")
        )

    if check_boundaries:
        bad_so_far = np.zeros(n, dtype=bool)
        for p in checks:
            bad_so_far |= p.mask
        candidates = ~bad_so_far & (events["location_precision"] != LocationPrecision.WATER.value).fillna(
            True
        ).to_numpy(dtype=bool)
        if candidates.any():
            iso = events["country_iso3"].to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]
            outside = np.zeros(n, dtype=bool)
            outside[candidates] = countries.outside_country(lat[candidates], lon[candidates], iso[candidates])
            if outside.any():
                shown = (
                    events["latitude"].astype("str")
                    + ", "
                    + events["longitude"].astype("str")
                    + " in "
                    + events["country_iso3"].astype("str").fillna("")
                )
                checks.append(
                    Problem(
                        "outside_country",
                        outside,
                        "point",
                        shown,
                        "lies outside that country's boundary: check the coordinates or the country",
                    )
                )

    bad = np.zeros(n, dtype=bool)
    for p in checks:
        bad |= p.mask
    rows = np.flatnonzero(bad)
    if len(rows) == 0:
        return rows, []
    position = {int(r): i for i, r in enumerate(rows)}
    texts: list[list[str]] = [[] for _ in rows]
    for p in checks:
        hit = np.flatnonzero(p.mask)
        for r, message in zip(hit, p.messages(hit), strict=True):
            texts[position[int(r)]].append(message)
    return rows, ["; ".join(t) for t in texts]
