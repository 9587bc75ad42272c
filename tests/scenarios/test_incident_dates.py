"""Dates as people wrote them in incidents.csv become a span and a kalkan.model precision."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalkan.model import DatePrecision
from kalkan.scenarios import parse_incident_date
from kalkan.scenarios._incidents import map_event_type


@pytest.mark.parametrize(
    ("text", "start", "end", "precision"),
    [
        ("2010-06-11", date(2010, 6, 11), date(2010, 6, 11), "day"),  # plain day
        ("2010-06-10 (night)", date(2010, 6, 10), date(2010, 6, 10), "day"),  # time of day dropped
        ("2010-05 (day not in excerpt)", date(2010, 5, 1), date(2010, 5, 31), "month"),  # month only
        ("2010-06-11 to 2010-06-13", date(2010, 6, 11), date(2010, 6, 13), "days"),  # short range
        ("as of 2010-06-18", date(2010, 6, 11), date(2010, 6, 18), "week"),  # seen on a day: the week before
        ("2010-06-15 (approx.)", date(2010, 6, 13), date(2010, 6, 17), "days"),  # about a day: +-2 days
        ("2010-06 (late) to 2010-07", date(2010, 6, 21), date(2010, 7, 31), "year"),  # >1 month span
        ("2010-02", date(2010, 2, 1), date(2010, 2, 28), "month"),  # month end of February
    ],
)
def test_written_dates(text: str, start: date, end: date, precision: str) -> None:
    parsed = parse_incident_date(text)
    assert (parsed.start, parsed.end, parsed.precision) == (start, end, precision)
    assert DatePrecision(parsed.precision)


@pytest.mark.parametrize("text", ["19th of May", "2010-13-01", "2010-06-13 to 2010-06-11", ""])
def test_unreadable_dates_raise(text: str) -> None:
    with pytest.raises(ValueError):
        parse_incident_date(text)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_any_iso_day_round_trips(day: date) -> None:
    parsed = parse_incident_date(day.isoformat())
    assert parsed.start == parsed.end == day


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("clash; killing; arson", "killing"),  # most severe wins
        ("killing; sexual violence; looting; arson", "killing"),
        ("sexual violence", "sexual_violence"),
        ("security raid: beatings, looting", "looting"),
        ("mobilisation of armed crowd", "threat"),
        ("roadblock; SOS signs painted by residents", "other"),
        ("something new", "other"),
    ],
)
def test_event_type_mapping(raw: str, expected: str) -> None:
    assert map_event_type(raw) == expected
