"""Every quarantine reason, on a hand-made file with one refused row per reason (bad_rows.csv)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kalkan.ingest import REASONS, read_events

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ingest"
BAD = FIXTURES / "bad_rows.csv"
TODAY = date(2026, 1, 1)


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return read_events(BAD, today=TODAY)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (3, "bad_date: date_start '2010-02-30'"),  # impossible day
        (4, "date_order: date_end '2010-06-10' is before date_start"),
        (5, "future_date: date_start '2999-01-01' is after today (2026-01-01)"),
        (6, "bad_coordinates: latitude '95.0' is outside -90..90"),
        (7, "bad_coordinates: longitude 'abc' is not a number"),
        (8, "null_island"),
        (9, "outside_country: point '48.85, 2.35 in KGZ'"),  # Paris is not in Kyrgyzstan
        (10, "bad_fatalities: fatalities_best '-3' is negative"),
        (11, "bad_fatalities: fatalities_best 'many' is not a number"),
        (12, "fatalities_order: fatalities 'low=5 best=2 high=10'"),
        (13, "unknown_code: event_type 'picnic'"),
        (14, "unknown_code: source_reliability 'G'"),  # Admiralty grades are A-F
        (15, "missing_field: date_start is empty"),
        (16, "malformed_row: expected 13 fields, saw 15"),  # too many fields for the header
        (17, "duplicate_id: event_id 'field:1' already appears"),  # same id, different content
        (21, "bad_date: date_start '2010-13-01'"),  # after a record spanning lines 19-20
        (23, "null_island"),  # after a blank line
    ],
)
def test_each_reason_names_line_and_value(result, line: int, reason: str) -> None:  # type: ignore[no-untyped-def]
    rows = result.quarantine[result.quarantine["line"] == line]
    assert len(rows) == 1, result.quarantine[["line", "reason"]].to_string()
    assert rows["reason"].iat[0].startswith(reason)
    assert rows["raw"].iat[0] == BAD.read_text(encoding="utf-8").splitlines()[line - 1]


def test_counts_add_up_and_nothing_is_lost(result) -> None:  # type: ignore[no-untyped-def]
    assert result.rows == 20  # lines 2-23: 22 lines, one record spans two, one line is blank
    assert result.duplicates == 1  # line 18 repeats line 2 exactly
    assert sorted(result.events["source_id"]) == ["1", "16"]
    assert result.accepted + len(result.quarantine) + result.duplicates == result.rows


def test_every_reason_code_is_documented(result) -> None:  # type: ignore[no-untyped-def]
    codes = set(result.quarantine["reason"].str.split(":").str[0])
    assert codes == set(REASONS)


def test_multiline_field_survives(result) -> None:  # type: ignore[no-untyped-def]
    notes = result.events.set_index("source_id").loc["16", "notes"]
    assert notes == "notes over\ntwo lines"
