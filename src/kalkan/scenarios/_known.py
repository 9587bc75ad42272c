"""When each item of a scenario became known: the ``known_on`` dates a view "as of D" filters on.

A source's date is written as people write it ("23 Aug 2031", "Jun 2031", "published 3 May 2032",
"17/19 Jun 2031"). It is read conservatively: the LATEST date the text names, a month meaning its last day and
a year its 31 December, so an item is never taken as known earlier than its source allows.
A figure or incident is known on the EARLIEST date among its sources (the first that reported it).
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Any

import pandas as pd

_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
_MONTHS.update({name.lower(): number for number, name in enumerate(calendar.month_name) if name})
_MONTHS["sept"] = 9
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})\s+({_MONTH})\.?,?\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}}),\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_YEAR = re.compile(rf"\b({_MONTH})\.?\s+(\d{{4}})\b", re.IGNORECASE)
_YEAR = re.compile(r"(?<![\d-])(\d{4})(?![\d-]|s\b)")


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _given(value: Any) -> date | str | None:
    """A date as is, None for a blank (None, NaN, NaT, ""), else the stripped text."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    return None if not text or text.lower() in ("nan", "nat", "none") else text


def known_date(value: Any) -> date | None:
    """The latest date a text names (month -> last day, year -> 31 December); None if it names none.

    >>> known_date("17/19 Jun 2031")
    datetime.date(2031, 6, 19)
    >>> known_date("Sep/Oct 2031")
    datetime.date(2031, 10, 31)
    """
    given = _given(value)
    if given is None or isinstance(given, date):
        return given
    text = given
    found: list[date] = []
    covered: list[tuple[int, int]] = []
    for pattern, order in ((_ISO, "ymd"), (_DAY_MONTH_YEAR, "dmy"), (_MONTH_DAY_YEAR, "mdy")):
        for m in pattern.finditer(text):
            if order == "ymd":
                day = _safe(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            elif order == "dmy":
                day = _safe(int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1)))
            else:
                day = _safe(int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2)))
            if day is not None:
                found.append(day)
                covered.append(m.span())

    def free(span: tuple[int, int]) -> bool:
        return not any(a <= span[0] and span[1] <= b for a, b in covered)

    for m in _MONTH_YEAR.finditer(text):
        if free(m.span()):
            year, month = int(m.group(2)), _MONTHS[m.group(1).lower()]
            found.append(date(year, month, calendar.monthrange(year, month)[1]))
            covered.append(m.span())
    for m in _YEAR.finditer(text):
        if free(m.span()) and 1800 <= int(m.group(1)) <= 2200:
            found.append(date(int(m.group(1)), 12, 31))
    return max(found) if found else None


def iso_date(value: Any) -> date | None:
    """A strict ISO date (``YYYY-MM-DD``, a TOML date or a Timestamp); None if blank; ValueError otherwise."""
    given = _given(value)
    if given is None or isinstance(given, date):
        return given
    text = given
    return date.fromisoformat(text)


def earliest_known(source_ids: Any, known: dict[str, date | None]) -> date | None:
    """The earliest known date among ``;``/``,``-separated source ids (None if none of them is dated)."""
    if source_ids is None or (isinstance(source_ids, float) and pd.isna(source_ids)):
        return None
    ids = source_ids if isinstance(source_ids, list) else re.split(r"[;,]\s*", str(source_ids))
    dates = [d for d in (known.get(str(i).strip()) for i in ids) if d is not None]
    return min(dates) if dates else None


def as_timestamps(values: list[date | None]) -> pd.Series:
    """A datetime64 column from dates (NaT where unknown)."""
    return pd.Series([pd.Timestamp(v) if v is not None else pd.NaT for v in values], dtype="datetime64[ns]")
