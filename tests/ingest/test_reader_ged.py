"""Reading UCDP GED files: every codebook column lands in the right event field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from kalkan.ingest import QUARANTINE_COLUMNS, read_events
from kalkan.model import EVENT_COLUMNS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ingest"
GED = FIXTURES / "ged_sample.csv"


def test_ged_sample_counts_add_up() -> None:
    result = read_events(GED)
    assert result.format == "ged"
    assert result.rows == 34
    assert result.accepted + len(result.quarantine) + result.duplicates == result.rows
    assert list(result.events.columns) == EVENT_COLUMNS
    assert list(result.quarantine.columns) == QUARANTINE_COLUMNS


def test_ged_fields_map_from_codebook() -> None:
    events = read_events(GED).events.set_index("source_id")
    first = events.loc["48528"]  # file line 2: one-sided, Rakhine state, where_prec 4, 34 killed
    assert first["event_id"] == "ged:48528"
    assert first["event_type"] == "killing"
    assert first["sub_event_type"] == "one-sided"
    assert bool(first["civilian_targeting"]) is True
    assert first["location_precision"] == "admin1"
    assert first["date_precision"] == "day"
    assert first["date_start"] == pd.Timestamp("1992-02-29")
    assert first["country_iso3"] == "MMR"
    assert first["admin1"] == "Rakhine state"
    assert first["perpetrator"] == "Government of Myanmar (Burma)"
    assert first["perpetrator_type"] == "state_forces"
    assert first["victim_type"] == "civilians"
    assert (first["fatalities_best"], first["fatalities_low"], first["fatalities_high"]) == (34, 34, 34)
    assert set(events["country_iso3"]) == {"MMR", "SYR", "MEX", "CAF"}


def test_ged_refused_row_keeps_line_and_raw_text() -> None:
    result = read_events(GED)
    row = result.quarantine.iloc[0]
    assert row["line"] == 10
    assert row["raw"] == GED.read_text(encoding="utf-8").splitlines()[9]
    assert row["reason"].startswith("fatalities_order: fatalities 'low=0 best=3 high=0'")


def test_future_dates_depend_on_today() -> None:
    early = read_events(GED, today=date(2000, 1, 1))
    raw = pd.read_csv(GED)
    expected = int((pd.to_datetime(raw["date_start"]) > pd.Timestamp("2000-01-01")).sum())
    assert expected > 10
    assert early.quarantine["reason"].str.startswith("future_date").sum() == expected
    assert early.accepted + len(early.quarantine) == early.rows
