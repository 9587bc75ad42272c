"""Turn a scenario's ``incidents.csv`` (as written by people) into an event table in kalkan's columns.

Dates come as people write them: ``2031-06-10 (night)``, ``2031-05 (day not in excerpt)``,
``2031-06-11 to 2031-06-13``, ``as of 2031-06-18``, ``2031-06 (late) to 2031-07``. Each becomes a
``date_start``/``date_end`` pair and a ``date_precision`` (``kalkan.model.DatePrecision``) from the span.
"About D" spans D-2..D+2; "as of D" (seen on D, e.g. on a satellite image) spans the week before D;
"late" in a month starts on the 21st. Types such as ``killing; arson`` map to one
event type (the most severe, by a fixed order) and the raw text is kept in ``sub_event_type``.
Rows without coordinates stay in the table with ``located = False``: nothing is dropped.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from kalkan.errors import ScenarioError

# Event columns shared by every event table (kalkan.model.EVENT_FIELDS); used if that module is absent.
_EVENT_COLUMNS = [
    "event_id", "source", "source_id", "version", "date_start", "date_end", "date_precision",
    "latitude", "longitude", "location_precision", "country_iso3", "admin1", "admin2", "place_name",
    "event_type", "sub_event_type", "civilian_targeting", "perpetrator", "perpetrator_type",
    "victim_group", "victim_type", "fatalities_best", "fatalities_low", "fatalities_high",
    "source_reliability", "information_credibility", "notes",
]  # fmt: skip

# Raw words -> event type, most severe first: the first that appears in a row's type names its event_type.
TYPE_RULES: list[tuple[str, str]] = [
    ("killing", "killing"),
    ("sexual violence", "sexual_violence"),
    ("arson", "arson"),
    ("looting", "looting"),
    ("beating", "assault"),
    ("attack on police", "assault"),
    ("attack", "assault"),
    ("clash", "riot"),
    ("mobilisation", "threat"),
    ("displacement", "displacement"),
    ("detention", "other"),
    ("arrest", "other"),
    ("roadblock", "other"),
]

_DAY = r"(\d{4}-\d{2}-\d{2})"
_MONTH = r"(\d{4}-\d{2})"


@dataclass(frozen=True)
class ParsedDate:
    """A date as written, read as a start, an end and how precise it is."""

    start: date
    end: date
    form: str  # how it was written: day | approximate | range | month | as_of

    @property
    def precision(self) -> str:
        """The ``kalkan.model.DatePrecision`` value for the span: day, days, week, month or year."""
        span = (self.end - self.start).days
        if span == 0:
            return "day"
        if span <= 6:
            return "days"
        if span <= 7:
            return "week"
        if self.form == "month" or span <= 31:
            return "month"
        return "year"


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _month(text: str) -> tuple[int, int]:
    year, month = text.split("-")
    return int(year), int(month)


def parse_incident_date(text: str) -> ParsedDate:
    """Read one date as written in ``incidents.csv``.

    Raises
    ------
    ValueError
        If the text follows none of the forms in the module docstring.
    """
    raw = text.strip()
    if m := re.fullmatch(rf"{_DAY}(?:\s*\((night|day|morning|evening)\))?", raw):
        day = date.fromisoformat(m.group(1))
        return ParsedDate(day, day, "day")
    if m := re.fullmatch(rf"{_DAY}\s*\(approx\.?\)", raw):
        day = date.fromisoformat(m.group(1))
        # "about" a day: taken as two days either side.
        return ParsedDate(day - timedelta(days=2), day + timedelta(days=2), "approximate")
    if m := re.fullmatch(rf"{_DAY}\s+to\s+{_DAY}", raw):
        start, end = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
        if end < start:
            raise ValueError(f"the range {raw!r} ends before it starts")
        return ParsedDate(start, end, "range")
    if m := re.fullmatch(rf"as of {_DAY}", raw):
        # "as of D": seen on D (e.g. a satellite image); it happened in the week before.
        day = date.fromisoformat(m.group(1))
        return ParsedDate(day - timedelta(days=7), day, "as_of")
    if m := re.fullmatch(rf"{_MONTH}(?:\s*\((late|early|mid)\))?\s+to\s+{_MONTH}", raw):
        (y1, m1), (y2, m2) = _month(m.group(1)), _month(m.group(3))
        first_day = {"early": 1, "mid": 11, "late": 21}.get(m.group(2) or "", 1)
        return ParsedDate(date(y1, m1, first_day), _month_end(y2, m2), "range")
    if m := re.fullmatch(rf"{_MONTH}(?:\s*\(([^)]*)\))?", raw):
        year, month = _month(m.group(1))
        return ParsedDate(date(year, month, 1), _month_end(year, month), "month")
    raise ValueError(
        f"cannot read the date {raw!r}: write YYYY-MM-DD, 'YYYY-MM-DD to YYYY-MM-DD', "
        "'as of YYYY-MM-DD' or YYYY-MM"
    )


def _location_precision(raw: str, located: bool) -> str:
    # "approx: city point (neighbourhood not geocoded)" -> near a named place; no coordinates -> "".
    if not located:
        return ""
    return "near" if raw.lower().startswith("approx") else "exact"


def map_event_type(raw: str) -> str:
    """The event type (``kalkan.model.EventType`` value) for a raw type text such as ``killing; arson``."""
    lowered = raw.lower()
    exact = lowered.strip()
    try:
        from kalkan.model import EventType

        if exact in {member.value for member in EventType}:
            return exact  # already a kalkan type (e.g. written by `kalkan scenario new`)
    except ImportError:
        pass
    for word, event_type in TYPE_RULES:
        if word in lowered:
            return event_type
    return "other"


def _validate_types(types: pd.Series) -> None:
    try:
        from kalkan.model import EventType
    except ImportError:  # the shared vocabulary is not in this tree yet
        return
    known = {member.value for member in EventType}
    unknown = sorted(set(types) - known)
    if unknown:
        raise ScenarioError(
            f"incident types {unknown} are not kalkan.model.EventType values; fix TYPE_RULES."
        )


def _cell(record: pd.Series, column: str) -> str:
    """A text cell of an optional column ("" when the column or the value is missing)."""
    value = record.get(column, "")
    return "" if value is None or pd.isna(value) else str(value).strip()


def _actor_types() -> list[str]:
    """Perpetrator kinds an incident may name (``kalkan.model.ActorType``; state_forces: security forces)."""
    try:
        from kalkan.model import ActorType
    except ImportError:
        return []
    return [member.value for member in ActorType]


def event_columns() -> list[str]:
    """The shared event columns, from ``kalkan.model.EVENT_FIELDS`` when it exists."""
    try:
        from kalkan.model import EVENT_FIELDS
    except ImportError:
        return list(_EVENT_COLUMNS)
    return [field.name for field in EVENT_FIELDS]


def build_events(raw: pd.DataFrame, *, scenario: str, country_iso3: str, file_name: str) -> pd.DataFrame:
    """The incident table in the shared event columns, plus ``source_ids``, ``raw_date``, ``located``.

    ``fatalities_best`` (and low, high) is the ``deaths`` column; other counts in the note (e.g. "officials
    reported 47 dead") stay in ``notes`` for a reader, not in the numbers.
    """
    rows: list[dict[str, object]] = []
    errors: list[str] = []
    kinds = _actor_types()
    for index, record in raw.iterrows():
        row_number = int(str(index)) + 2  # header is line 1
        perpetrator = _cell(record, "perpetrator")
        perpetrator_type = _cell(record, "perpetrator_type").lower().replace(" ", "_")
        if perpetrator_type and kinds and perpetrator_type not in kinds:
            errors.append(
                f"row {row_number}: perpetrator_type {perpetrator_type!r} is not one of {', '.join(kinds)}"
            )
            continue
        try:
            when = parse_incident_date(str(record["date"]))
        except ValueError as error:
            errors.append(f"row {row_number}: {error}")
            continue
        lat, lon = record["latitude"], record["longitude"]
        located = bool(pd.notna(lat) and pd.notna(lon))
        raw_type = str(record["type"])
        victims = "" if pd.isna(record["victims_group"]) else str(record["victims_group"])
        deaths = record["deaths"]
        note = "" if pd.isna(record["deaths_note"]) else str(record["deaths_note"])
        rows.append(
            {
                "event_id": f"{scenario}-{row_number - 1:03d}",
                "source": f"{scenario}/{file_name}",
                "source_id": str(row_number - 1),
                "version": 1,
                "date_start": pd.Timestamp(when.start),
                "date_end": pd.Timestamp(when.end),
                "date_precision": when.precision,
                "latitude": float(lat) if located else np.nan,
                "longitude": float(lon) if located else np.nan,
                "location_precision": _location_precision(str(record["coord_precision"]), located),
                "country_iso3": country_iso3,
                "admin1": "",
                "admin2": "",
                "place_name": str(record["place"]),
                "event_type": map_event_type(raw_type),
                "sub_event_type": raw_type,
                "civilian_targeting": "police" not in victims.lower() and "police" not in raw_type.lower(),
                "perpetrator": perpetrator,
                "perpetrator_type": perpetrator_type,
                "victim_group": victims,
                "victim_type": "police" if "police" in victims.lower() else "civilians",
                "fatalities_best": float(deaths) if pd.notna(deaths) else np.nan,
                "fatalities_low": float(deaths) if pd.notna(deaths) else np.nan,
                "fatalities_high": float(deaths) if pd.notna(deaths) else np.nan,
                "source_reliability": "",
                "information_credibility": "",
                "notes": "; ".join(
                    x for x in (note, "" if pd.isna(record["notes"]) else str(record["notes"])) if x
                ),
                "source_ids": str(record["source_ids"]),
                "raw_date": str(record["date"]),
                "raw_location": str(record["coord_precision"]),
                "located": located,
            }
        )
    if errors:
        raise ScenarioError(
            f"{file_name} has {len(errors)} unreadable rows ({'; '.join(errors)}); fix those rows."
        )
    columns = event_columns() + ["source_ids", "raw_date", "raw_location", "located"]
    events = pd.DataFrame(rows)
    for column in columns:
        if column not in events:
            events[column] = ""
    _validate_types(events["event_type"])
    return events[columns]
