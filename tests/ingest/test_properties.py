"""Property tests: random and malformed rows never crash the importer and are never lost."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kalkan.ingest import read_events
from kalkan.ingest._records import locate_records, read_raw
from kalkan.store import EventStore

HEADER = [
    "event_id",
    "date_start",
    "latitude",
    "longitude",
    "event_type",
    "fatalities_best",
    "country_iso3",
    "notes",
]

cell = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\r"), max_size=12),
    st.sampled_from(
        [
            "2010-06-11",
            "2010-02-30",
            "1e400",
            "-5",
            "0",
            "nan",
            "KGZ",
            "killing",
            "arson",
            '"',
            ",",
            "\n",
            "40.5",
            "72.8",
            "999",
            "abc",
            "k:1",
            " ",
        ]
    ),
)
good_row = st.tuples(
    st.sampled_from(["k:1", "k:2", "k:3", "k:4"]),
    st.sampled_from(["2010-06-11", "2010-06-12", "2010-13-01", "", "June"]),
    st.sampled_from(["40.52828", "0", "95", "x", ""]),
    st.sampled_from(["72.7985", "0", "-190", ""]),
    st.sampled_from(["killing", "arson", "picnic", ""]),
    st.sampled_from(["0", "3", "-1", "two", ""]),
    st.sampled_from(["KGZ", "FRA", ""]),
    cell,
).map(list)
any_row = st.one_of(good_row, st.lists(cell, min_size=1, max_size=11))


def _blank_line(record: list[str]) -> bool:
    """A line of nothing but spaces and tabs (an empty quoted field, ``""``, is a row)."""
    return not record or (len(record) == 1 and record[0] != "" and not record[0].strip(" \t"))


def write(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for r in rows:
        writer.writerow(r)
    path.write_text(buffer.getvalue(), encoding="utf-8")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(any_row, max_size=25))
def test_random_rows_never_crash_and_are_never_lost(tmp_path: Path, rows: list[list[str]]) -> None:
    path = tmp_path / "random.csv"
    write(path, rows)
    result = read_events(path, format="kalkan", today=date(2026, 1, 1))
    assert result.accepted + len(result.quarantine) + result.duplicates == result.rows
    # every row that is not blank is counted (blank: nothing but spaces and tabs, which pandas skips)
    records = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))[1:]
    assert result.rows == sum(1 for r in records if not _blank_line(r))
    assert result.quarantine["reason"].str.len().gt(0).all()
    assert result.events["event_id"].is_unique


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(any_row, max_size=12), again=st.lists(any_row, max_size=12))
def test_store_counts_add_up_for_random_files(
    tmp_path: Path, rows: list[list[str]], again: list[list[str]]
) -> None:
    store = EventStore(tmp_path / f"s{abs(hash((str(rows), str(again))))}.duckdb")
    for n, batch in enumerate((rows, again, rows)):
        path = tmp_path / f"f{n}.csv"
        write(path, batch)
        r = store.import_files([path], format="kalkan", today=date(2026, 1, 1))[0]
        assert r.accepted + r.quarantined + r.duplicates == r.rows
        assert r.inserted + r.updated + r.unchanged == r.accepted


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(cell, min_size=1, max_size=4), min_size=1, max_size=20))
def test_record_locator_matches_the_csv_module(rows: list[list[str]]) -> None:
    import tempfile

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["a", "b", "c", "d"])
    for r in rows:
        writer.writerow(r)
    text = buffer.getvalue()
    # the slow, obviously right reference: csv.reader's line numbers, blank records skipped
    reader = csv.reader(io.StringIO(text))
    next(reader)
    expected = []
    start = reader.line_num + 1
    for record in reader:
        if not _blank_line(record):
            expected.append((start, record))
        start = reader.line_num + 1
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8") as f:
        f.write(text)
    found, _ = locate_records(f.name, data_rows=np.arange(len(expected)), records=np.empty(0, dtype=np.int64))
    assert [found[i].line for i in range(len(expected))] == [line for line, _ in expected]
    raws = read_raw(f.name, [found[i] for i in range(len(expected))])
    assert [next(csv.reader(io.StringIO(raw))) for raw in raws] == [record for _, record in expected]
    Path(f.name).unlink()


def test_whitespace_only_lines_do_not_shift_quarantined_lines(tmp_path: Path) -> None:
    # a line of spaces and a line holding a tab come before refused rows: the quarantine must still
    # name the refused rows' own lines and text (pandas skips whitespace-only lines)
    path = tmp_path / "ws.csv"
    path.write_text(
        ",".join(HEADER) + "\n \n"
        "k:1,2010-06-11,95,72.7985,killing,0,KGZ,x\n\t\n"
        "k:2,2010-06-11,40.5,72.7985,killing,-1,KGZ,y\n",
        encoding="utf-8",
    )
    result = read_events(path, format="kalkan", today=date(2026, 1, 1))
    assert result.rows == 2
    by_line = dict(zip(result.quarantine["line"], result.quarantine["raw"], strict=True))
    assert by_line == {
        3: "k:1,2010-06-11,95,72.7985,killing,0,KGZ,x",
        5: "k:2,2010-06-11,40.5,72.7985,killing,-1,KGZ,y",
    }


def test_record_locator_is_the_same_for_any_block_size(tmp_path: Path, monkeypatch) -> None:
    # records and whitespace-only lines that straddle block boundaries are located as in one block
    import kalkan.ingest._records as records_module

    text = 'a,b\n  \n1,"x\ny"\n\t \n2,z\n   \n3,"q ""r"""\n \t\n4,w'
    path = tmp_path / "blocks.csv"
    path.write_bytes(text.encode())
    wanted = np.arange(4)
    whole, _ = locate_records(path, data_rows=wanted, records=np.empty(0, dtype=np.int64))
    assert [whole[i].line for i in range(4)] == [3, 6, 8, 10]
    for block in range(1, 12):
        monkeypatch.setattr(records_module, "_BLOCK_BYTES", block)
        found, _ = locate_records(path, data_rows=wanted, records=np.empty(0, dtype=np.int64))
        assert found == whole, f"block size {block}"


def test_blank_check_is_the_same_one_by_one_and_by_running_count(tmp_path: Path, monkeypatch) -> None:
    # records starting with whitespace are settled one by one when few, by a running count when many
    import kalkan.ingest._records as records_module

    text = "a,b\n" + "".join(f" {i},x\n \t\n" for i in range(40)) + "  \n 40,y"
    path = tmp_path / "spaces.csv"
    path.write_bytes(text.encode())
    wanted = np.arange(41)
    results = []
    for loop_max in (0, 1_000):
        monkeypatch.setattr(records_module, "_LOOP_MAX", loop_max)
        found, _ = locate_records(path, data_rows=wanted, records=np.empty(0, dtype=np.int64))
        results.append(found)
    assert results[0] == results[1]
    assert [results[0][i].line for i in (0, 1, 40)] == [2, 4, 83]
