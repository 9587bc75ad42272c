"""UCDP GED files are read inside DuckDB: same events and reasons as the pandas mapper, malformed
records quarantined with their lines, repeated ids sorted out, random rows never lost."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kalkan.ingest import read_events, reader
from kalkan.store import EventStore

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ingest"
GED = FIXTURES / "ged_sample.csv"
TODAY = date(2026, 1, 1)


def ged_rows() -> tuple[list[str], list[list[str]]]:
    records = list(csv.reader(io.StringIO(GED.read_text(encoding="utf-8"))))
    return records[0], records[1:]


def write_ged(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def broken_ged(tmp_path: Path, *, float_code: bool = True) -> Path:
    """The GED sample with one refused value per row, for every check the GED mapping makes.

    With ``float_code`` one date_prec is written ' 1.0 ': pandas then reads the whole column as
    floats and shows the refused '9' as '9.0'; DuckDB shows the text the file has.
    """
    header, rows = ged_rows()
    col = {name: i for i, name in enumerate(header)}
    edits = [
        ("date_start", "1992-02-30"),
        ("date_start", "1992-02-30x"),
        ("date_end", "1900-01-01"),
        ("date_start", "2999-01-01"),
        ("date_prec", "9"),
        ("where_prec", "x"),
        ("type_of_violence", "4"),
        ("latitude", "95"),
        ("longitude", "-181"),
        ("latitude", "north"),
        ("best", "-2"),
        ("best", "1.5"),
        ("best", "many"),
        ("low", "500"),
        ("id", ""),
        ("latitude", ""),
        ("latitude", "48.85"),  # Paris in Myanmar: outside the country
        ("date_prec", " 1.0 " if float_code else "1"),  # accepted: the code 1 as a float with blanks
        ("where_prec", "3"),
        ("country", "Atlantis"),  # no such country: not checked against a boundary
    ]
    for i, (name, value) in enumerate(edits):
        rows[i][col[name]] = value
    rows[20][col["latitude"]], rows[20][col["longitude"]] = "0", "0"
    rows[21][col["best"]] = "1e20"  # a whole number no count column can hold
    rows[22][col["high"]] = "inf"
    return write_ged(tmp_path / "broken_ged.csv", header, rows)


def by_both_paths(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    fast = read_events(path, today=TODAY)
    with monkeypatch.context() as m:
        m.setattr(reader, "sql_capable", lambda source: False)
        slow = read_events(path, today=TODAY)
    return fast, slow


@pytest.mark.parametrize("make", [lambda tmp: GED, lambda tmp: broken_ged(tmp, float_code=False)])
def test_duckdb_path_gives_what_the_pandas_mapper_gives(tmp_path: Path, monkeypatch, make) -> None:  # type: ignore[no-untyped-def]
    fast, slow = by_both_paths(make(tmp_path), monkeypatch)
    assert (fast.rows, fast.accepted, fast.duplicates) == (slow.rows, slow.accepted, slow.duplicates)
    pd.testing.assert_frame_equal(fast.events, slow.events)
    pd.testing.assert_frame_equal(fast.quarantine, slow.quarantine)


def test_broken_ged_rows_each_name_their_reason(tmp_path: Path) -> None:
    result = read_events(broken_ged(tmp_path), today=TODAY)
    reasons = dict(zip(result.quarantine["line"], result.quarantine["reason"], strict=True))
    assert reasons[2] == "bad_date: date_start '1992-02-30' is not a date (use YYYY-MM-DD)"
    assert reasons[4].startswith("date_order: date_end '1900-01-01' is before date_start")
    assert reasons[5].endswith("future_date: date_start '2999-01-01' is after today (2026-01-01)")
    assert reasons[6].startswith("unknown_code: date_prec '9' is not a known code")
    assert reasons[9] == "bad_coordinates: latitude '95.0' is outside -90..90"
    assert reasons[13].startswith("bad_fatalities: best '1.5' is not a whole number")
    assert reasons[16] == "missing_field: source_id is empty"
    assert reasons[18].startswith("outside_country: point '48.85, -107.35265 in MEX'")
    assert reasons[23].startswith("bad_fatalities: best '1e20' is too large for a count (more than 9,007,")
    assert reasons[24].startswith("bad_fatalities: high 'inf' is too large for a count")
    assert reasons[22].startswith("null_island")
    assert 19 not in reasons and 20 not in reasons and 21 not in reasons
    assert result.accepted + len(result.quarantine) == result.rows == 34


def test_malformed_records_are_quarantined_with_their_lines(tmp_path: Path) -> None:
    lines = GED.read_text(encoding="utf-8").splitlines()
    text = "\n".join(
        [
            lines[0],
            lines[1],
            lines[2] + ",one,too,many",  # line 3: too many fields
            "",  # line 4: blank, not a row
            "   ",  # line 5: blanks only, not a row
            ",".join(lines[3].split(",")[:5]),  # line 6: too few fields
            lines[4],
            lines[5].replace(",Asia,", ',"Asia,', 1),  # line 8: a quote never closed swallows the rest
            lines[6],
        ]
    )
    path = tmp_path / "ragged.csv"
    path.write_text(text + "\n", encoding="utf-8")
    result = read_events(path, today=TODAY)
    q = result.quarantine.set_index("line")
    assert q.loc[3, "reason"] == "malformed_row: expected 34 fields, saw 37"
    assert q.loc[3, "raw"] == lines[2] + ",one,too,many"
    assert q.loc[6, "reason"] == "malformed_row: expected 34 fields, saw 5"
    assert q.loc[8, "reason"].startswith("malformed_row:")
    assert q.loc[8, "raw"].startswith(lines[5][:20])
    assert sorted(q.index) == [3, 6, 8]
    assert result.accepted == 2  # lines 2 and 7; line 9 is inside the record the open quote began
    assert set(result.events["source_id"]) == {lines[1].split(",")[0], lines[4].split(",")[0]}
    assert result.rows == 5
    assert result.accepted + len(result.quarantine) + result.duplicates == result.rows


def test_repeated_ids_in_a_first_import(tmp_path: Path) -> None:
    header, rows = ged_rows()
    conflicting = list(rows[0])
    conflicting[header.index("best")] = "35"
    conflicting[header.index("high")] = "35"
    path = write_ged(tmp_path / "repeats.csv", header, [*rows, rows[0], conflicting])
    store = EventStore(tmp_path / "events.duckdb")
    first = store.import_files([path], today=TODAY)[0]
    assert (first.rows, first.duplicates, first.inserted, first.quarantined) == (36, 1, 33, 2)
    reasons = store.quarantine()["reason"].tolist()
    assert any(
        r.startswith("duplicate_id: event_id 'ged:48528' already appears in data row 1") for r in reasons
    )
    assert store.count() == 33
    again = store.import_files([path], today=TODAY)[0]
    assert (again.unchanged, again.inserted, again.updated, again.duplicates) == (33, 0, 0, 1)


def test_first_import_matches_a_staged_import(tmp_path: Path) -> None:
    """Straight into an empty store, or staged and merged into a store that has other events: same rows."""
    direct = EventStore(tmp_path / "a.duckdb")
    direct.import_files([GED], today=TODAY)
    staged = EventStore(tmp_path / "b.duckdb")
    other = tmp_path / "other.csv"
    other.write_text(
        "event_id,date_start,latitude,longitude,country_iso3,event_type\nfield:1,2010-06-11,40.5,72.8,KGZ,arson\n",
        encoding="utf-8",
    )
    staged.import_files([other], today=TODAY)
    staged.import_files([GED], today=TODAY)
    a = direct.query(source="ged")
    b = staged.query(source="ged")
    pd.testing.assert_frame_equal(a, b)
    with direct._reader() as ca, staged._reader() as cb:
        ha = ca.execute("SELECT event_id, row_hash FROM events ORDER BY event_id").fetchall()
        hb = cb.execute(
            "SELECT event_id, row_hash FROM events WHERE source = 'ged' ORDER BY event_id"
        ).fetchall()
    assert ha == hb


cell = st.text(alphabet=st.sampled_from(list('ab1.-"\n, ')), max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.tuples(st.integers(0, 33), st.integers(0, 33), cell), max_size=12))
def test_random_cells_never_crash_and_are_never_lost(tmp_path: Path, picks) -> None:  # type: ignore[no-untyped-def]
    header, rows = ged_rows()
    for row, column, value in picks:
        rows[row][column] = value
    path = write_ged(tmp_path / "random_ged.csv", header, rows)
    result = read_events(path, today=TODAY)
    assert result.accepted + len(result.quarantine) + result.duplicates == result.rows == 34
    assert result.quarantine["reason"].str.len().gt(0).all()
    assert result.events["event_id"].is_unique


@pytest.mark.parametrize("duckdb_path", [True, False])
def test_a_stray_quote_inside_a_field_does_not_shift_later_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, duckdb_path: bool
) -> None:
    """A quote inside an unquoted field is a plain character to the parsers; the quote-counting scan
    that finds refused rows would lose count after it, so kalkan checks the scan and redoes it exactly."""
    lines = GED.read_text(encoding="utf-8").splitlines()
    fields = lines[3].split(",")  # a line without quotes
    fields[5] = fields[5].replace("Karen", 'Ka"ren')
    lines[3] = ",".join(fields)
    assert lines[3].count('"') == 1
    path = tmp_path / "stray_quote.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if not duckdb_path:
        monkeypatch.setattr(reader, "sql_capable", lambda source: False)
    result = read_events(path, today=TODAY)
    assert result.accepted + len(result.quarantine) + result.duplicates == result.rows
    for line, raw in zip(result.quarantine["line"], result.quarantine["raw"], strict=True):
        assert raw == lines[line - 1]
    assert 10 in set(result.quarantine["line"])  # the sample's refused row, after the stray quote


def test_exact_record_scan_agrees_with_the_fast_one(tmp_path: Path) -> None:
    from kalkan.ingest._records import locate_records, locate_records_exact

    text = GED.read_text(encoding="utf-8").splitlines()
    body = [text[0], text[1], "", "   ", text[2].replace("Rakhine state", '"Rakhine\nstate"'), *text[3:]]
    path = tmp_path / "scan.csv"
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    rows = pd.Series(range(33)).to_numpy()
    fast = locate_records(path, data_rows=rows, records=pd.Series([1, 3, 5]).to_numpy())
    exact = locate_records_exact(path, data_rows=rows, records=pd.Series([1, 3, 5]).to_numpy())
    assert fast == exact
    assert fast[0][1].line == 5  # the record after two blank lines starts on line 5 and spans two


def test_malformed_records_of_one_file_stay_with_that_file(tmp_path: Path) -> None:
    """Two GED files in one import: the second has no malformed record, and none of the first's."""
    lines = GED.read_text(encoding="utf-8").splitlines()
    first = tmp_path / "first.csv"
    first.write_text("\n".join([lines[0], lines[1], lines[2] + ",x,y", *lines[3:9]]) + "\n", encoding="utf-8")
    second = tmp_path / "second.csv"
    second.write_text("\n".join([lines[0], *lines[10:20]]) + "\n", encoding="utf-8")
    store = EventStore(tmp_path / "events.duckdb")
    a, b = store.import_files([first, second], today=TODAY)
    assert (a.rows, a.accepted, a.quarantined) == (8, 7, 1)
    assert (b.rows, b.accepted, b.quarantined) == (10, 10, 0)
    assert store.quarantine()["file"].tolist() == [str(first)]
