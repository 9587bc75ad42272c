"""The DuckDB event store: idempotent, versioned imports; crash safety; readers; queries and exports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from kalkan.cli import _register_all, app
from kalkan.errors import InputError, StoreError
from kalkan.store import EventStore

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ingest"
GED = FIXTURES / "ged_sample.csv"
HEADER = (
    "event_id,date_start,date_end,latitude,longitude,country_iso3,event_type,fatalities_best,admin1,"
    "perpetrator,victim_group,notes"
)


def write_events(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def row(
    n: int,
    *,
    day: str = "2010-06-11",
    killed: int = 1,
    kind: str = "killing",
    iso: str = "KGZ",
    lat: float = 40.52828,
    lon: float = 72.7985,
) -> str:
    return f"acled:K{n},{day},{day},{lat},{lon},{iso},{kind},{killed},Osh,Mob,Uzbek residents,event {n}"


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return EventStore(tmp_path / "store" / "events.duckdb")


def test_same_file_twice_adds_nothing(store: EventStore) -> None:
    first = store.import_files([GED])[0]
    second = store.import_files([GED])[0]
    assert (first.inserted, first.accepted, first.quarantined) == (33, 33, 1)
    assert (second.inserted, second.updated, second.unchanged, second.deleted) == (0, 0, 33, 0)
    assert store.count() == 33
    assert len(store.imports()) == 2
    assert len(store.quarantine()) == 1  # the latest import's refusals of that file


def test_newer_export_updates_deletes_and_keeps_history(store: EventStore, tmp_path: Path) -> None:
    old = write_events(
        tmp_path / "v1.csv", [row(1), row(2), row(3, day="2010-06-13"), row(4, day="2010-06-12")]
    )
    new = write_events(tmp_path / "v2.csv", [row(1), row(2, killed=5), row(3, day="2010-06-13"), row(5)])
    store.import_files([old])
    result = store.import_files([new])[0]
    assert (result.inserted, result.updated, result.unchanged, result.deleted) == (1, 1, 2, 1)
    current = store.query(include_deleted=True).set_index("event_id")
    assert current.loc["acled:K2", "fatalities_best"] == 5
    assert current.loc["acled:K2", "version"] == 2
    assert current.loc["acled:K1", "version"] == 1
    history = store.history("acled:K2")
    assert history["version"].tolist() == [1, 2]
    assert history["fatalities_best"].tolist() == [1, 5]
    assert "acled:K4" not in set(store.query()["event_id"])  # deleted events are hidden by default
    gone = store.history("acled:K4")
    assert gone["deleted"].tolist() == [False, True]
    # it comes back in a later export: revived as a new version
    again = store.import_files([write_events(tmp_path / "v3.csv", [row(1), row(4, day="2010-06-12")])])[0]
    assert again.updated == 1
    assert store.history("acled:K4")["version"].tolist() == [1, 2, 3]


def test_deletion_only_within_the_new_files_coverage(store: EventStore, tmp_path: Path) -> None:
    store.import_files([write_events(tmp_path / "kgz.csv", [row(1), row(2)])])
    # another country, and a date range outside the first file's: nothing there is "missing"
    other = [row(10, iso="TJK", lat=38.56, lon=68.77), row(11, day="2011-01-01")]
    result = store.import_files([write_events(tmp_path / "other.csv", other)])[0]
    assert result.deleted == 0
    assert store.count() == 4


def test_quarantined_row_is_not_taken_for_deleted(store: EventStore, tmp_path: Path) -> None:
    store.import_files([write_events(tmp_path / "v1.csv", [row(1), row(2)])])
    broken = row(2).replace("2010-06-11,2010-06-11", "2010-06-11,2010-06-01")  # end before start
    result = store.import_files([write_events(tmp_path / "v2.csv", [row(1), broken])])[0]
    assert (result.quarantined, result.deleted) == (1, 0)


def test_dry_run_changes_nothing(store: EventStore) -> None:
    result = store.import_files([GED], dry_run=True)[0]
    assert result.inserted == 33 and result.dry_run
    assert not store.path.exists()
    store.import_files([GED])
    again = store.import_files([GED], dry_run=True)[0]
    assert again.unchanged == 33
    assert len(store.imports()) == 1


def test_query_filters(store: EventStore) -> None:
    store.import_files([GED])
    assert store.count(country="syr") == 8
    assert store.count(country=["SYR", "MEX"]) == 16
    assert store.count(source="ged") == 33
    assert store.count(event_type="killing") == len(store.query(event_type=["killing"]))
    in_box = store.query(bbox=(35.0, 32.0, 43.0, 38.0))  # Syria's box
    assert set(in_box["country_iso3"]) == {"SYR"}
    dated = store.query(start="2016-01-01", end="2016-12-31")
    assert dated["date_start"].between(pd.Timestamp("2016-01-01"), pd.Timestamp("2016-12-31")).all()
    assert len(dated) > 0
    actors = store.query(actor="myanmar")
    assert len(actors) == 9 and actors["perpetrator"].str.contains("Myanmar").all()  # 10 rows, 1 refused
    assert list(store.query(limit=3)["date_start"]) == sorted(store.query()["date_start"])[:3]
    with pytest.raises(InputError, match="min > max"):
        store.query(bbox=(10.0, 0.0, 0.0, 1.0))
    with pytest.raises(InputError, match="not an ISO date"):
        store.query(start="June")


def test_reading_an_empty_store_says_what_to_do(store: EventStore) -> None:
    with pytest.raises(StoreError, match="import events first"):
        store.query()


@pytest.mark.parametrize("fmt", ["csv", "geojson", "hxl"])
def test_export_and_reimport_round_trip(store: EventStore, tmp_path: Path, fmt: str) -> None:
    store.import_files([GED, FIXTURES / "hxl_sample.csv"])
    out = tmp_path / f"out.{fmt}"
    assert store.export(out, format=fmt) == 37
    copy = EventStore(tmp_path / "copy.duckdb")
    result = copy.import_files([out])[0]
    assert (result.accepted, result.quarantined) == (37, 0)
    # the same events, field for field
    pd.testing.assert_frame_equal(copy.query(), store.query())
    # and re-importing the export into the original store changes nothing
    assert store.import_files([out])[0].unchanged == 37


def test_parquet_export(store: EventStore, tmp_path: Path) -> None:
    store.import_files([GED])
    out = tmp_path / "out.parquet"
    assert store.export(out, format="parquet", country="MEX") == 8
    frame = pd.read_parquet(out)
    assert set(frame["country_iso3"]) == {"MEX"} and len(frame) == 8
    with pytest.raises(InputError, match="unknown export format 'xlsx'"):
        store.export(tmp_path / "x.xlsx", format="xlsx")


def test_quarantine_raw_export_can_be_fixed_and_reimported(store: EventStore, tmp_path: Path) -> None:
    source = write_events(
        tmp_path / "v1.csv", [row(1), row(2).replace("2010-06-11,2010-06-11", "2010-06-31,")]
    )
    store.import_files([source])
    fix = tmp_path / "fix.csv"
    assert store.export_quarantine(fix, raw=True) == 1
    lines = fix.read_text(encoding="utf-8").splitlines()
    assert lines[0] == HEADER
    fixed = fix.read_text(encoding="utf-8").replace("2010-06-31", "2010-06-30")
    fix.write_text(fixed, encoding="utf-8")
    result = store.import_files([fix])[0]
    assert (result.inserted, result.quarantined) == (1, 0)
    assert store.count() == 2
    listing = tmp_path / "q.csv"
    store.export_quarantine(listing)
    assert pd.read_csv(listing).columns.tolist() == ["import_id", "file", "line", "raw", "reason"]


def test_reader_sees_the_old_store_while_an_import_runs(store: EventStore, tmp_path: Path) -> None:
    store.import_files([write_events(tmp_path / "v1.csv", [row(1)])])
    reader = duckdb.connect(str(store.path), read_only=True)
    try:
        store.import_files([write_events(tmp_path / "v2.csv", [row(1), row(2)])])
        # the open reader keeps its snapshot; a new reader sees the committed import
        assert reader.execute("SELECT count(*) FROM events").fetchall()[0][0] == 1
    finally:
        reader.close()
    assert store.count() == 2


CRASH = textwrap.dedent("""
    import os, signal, sys
    from kalkan.store import EventStore

    def progress(stage, done, total):
        if stage == sys.argv[3]:
            os.kill(os.getpid(), signal.SIGKILL)  # die mid-import, like a power cut

    EventStore(sys.argv[1]).import_files([sys.argv[2]], progress=progress, chunk_rows=2)
""")


@pytest.mark.parametrize(
    "stage",
    [
        pytest.param("read", marks=pytest.mark.slow),  # killed after the first chunk is written
        "merge",  # killed with every row written to the uncommitted copy, before deletions
        pytest.param("commit", marks=pytest.mark.slow),  # killed just before COMMIT
    ],
)
def test_killed_import_leaves_store_as_it_was(store: EventStore, tmp_path: Path, stage: str) -> None:
    store.import_files([write_events(tmp_path / "v1.csv", [row(1), row(2)])])
    before = store.query(include_deleted=True)
    imports = store.imports()
    newer = write_events(tmp_path / "v2.csv", [row(1, killed=9), row(3), row(4), row(5)])
    script = tmp_path / "crash.py"
    script.write_text(CRASH, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script), str(store.path), str(newer), stage], check=False)
    assert done.returncode == -signal.SIGKILL
    pd.testing.assert_frame_equal(store.query(include_deleted=True), before)
    pd.testing.assert_frame_equal(store.imports(), imports)
    # the next import works and cleans up the dead writer's copy
    assert store.import_files([newer])[0].inserted == 3
    assert [p for p in os.listdir(store.path.parent) if p.endswith(".tmp")] == []


def test_cli_ingest_json_and_strict(tmp_path: Path) -> None:
    _register_all()
    runner = CliRunner()
    db = str(tmp_path / "cli.duckdb")
    result = runner.invoke(app, ["ingest", str(GED), "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    for key in ("rows", "accepted", "quarantined", "duplicates", "updated", "deleted", "seconds"):
        assert key in payload
    assert payload["rows"] == payload["accepted"] + payload["quarantined"] + payload["duplicates"] == 34
    strict = runner.invoke(app, ["ingest", str(GED), "--db", db, "--json", "--strict"])
    assert strict.exit_code == 1
    assert json.loads(strict.output)["unchanged"] == 33


def test_cli_events_and_quarantine(tmp_path: Path) -> None:
    _register_all()
    runner = CliRunner()
    db = str(tmp_path / "cli.duckdb")
    runner.invoke(app, ["ingest", str(GED), "--db", db])
    shown = runner.invoke(app, ["events", "--db", db, "--country", "SYR", "--json", "--limit", "2"])
    payload = json.loads(shown.output)
    assert (payload["matched"], payload["shown"]) == (8, 2)
    assert payload["events"][0]["date_start"] == "2016-01-01"
    out = tmp_path / "syr.geojson"
    exported = runner.invoke(app, ["events", "--db", db, "--country", "SYR", "--out", str(out)])
    assert exported.exit_code == 0
    assert len(json.loads(out.read_text())["features"]) == 8
    listed = runner.invoke(app, ["quarantine", "--db", db, "--json"])
    assert json.loads(listed.output)["rows"] == 1
    table = runner.invoke(app, ["events", "--db", db, "--type", "killing"])
    assert table.exit_code == 0 and "events match" in table.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["events", "--bbox", "1,2"], "is not four numbers"),
        (["events", "--type", "picnic"], "is not a kalkan event type"),
        (["ingest", "missing.csv"], "does not exist"),
    ],
)
def test_cli_user_errors_are_one_sentence(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    from kalkan import cli

    monkeypatch.setattr(sys, "argv", ["kalkan", *args, "--db", str(tmp_path / "e.duckdb")])
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_two_writers_at_once_both_land(store: EventStore, tmp_path: Path) -> None:
    import threading

    first = write_events(tmp_path / "a.csv", [row(1), row(2)])
    second = write_events(tmp_path / "b.csv", [row(3, iso="TJK", lat=38.56, lon=68.77)])
    results: list[int] = []
    threads = [
        threading.Thread(
            target=lambda p=p: results.append(EventStore(store.path).import_files([p])[0].inserted)
        )
        for p in (first, second)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [1, 2]  # the lock serialises them; neither import is lost
    assert store.count() == 3
    assert len(store.imports()) == 2


def test_store_from_another_schema_version_is_refused(store: EventStore) -> None:
    store.import_files([GED])
    con = duckdb.connect(str(store.path))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StoreError, match="schema version 99"):
        store.import_files([GED])
    assert store.count() == 33  # and nothing changed


def test_error_in_a_later_file_leaves_store_as_it_was(store: EventStore, tmp_path: Path) -> None:
    # the writer commits to its private copy chunk by chunk; the live store changes only if every file lands
    from kalkan.errors import SchemaError

    store.import_files([write_events(tmp_path / "v1.csv", [row(1), row(2)])])
    before = store.query(include_deleted=True)
    imports = store.imports()
    good = write_events(tmp_path / "v2.csv", [row(1, killed=9), row(3), row(4)])
    bad = tmp_path / "bad.csv"
    bad.write_bytes((HEADER + "\n" + row(6) + "\n").encode() + b"acled:K7,2010-06-11,\xff\xfe broken\n")
    with pytest.raises(SchemaError, match="cannot be decoded"):
        store.import_files([good, bad], chunk_rows=1)
    pd.testing.assert_frame_equal(store.query(include_deleted=True), before)
    pd.testing.assert_frame_equal(store.imports(), imports)
    assert [p for p in os.listdir(store.path.parent) if ".tmp" in p] == []


def test_a_version_1_store_is_upgraded_and_unchanged_events_stay_unchanged(store: EventStore) -> None:
    store.import_files([GED])
    store.close()
    con = duckdb.connect(str(store.path))
    # What kalkan 1 left behind: its own row hashes (different numbers) and schema version 1.
    con.execute("UPDATE events SET row_hash = row_hash // 2 + 1")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    again = EventStore(store.path).import_files([GED])[0]
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 33)
    con = duckdb.connect(str(store.path), read_only=True)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
    con.close()


def test_a_version_2_store_gains_known_at_and_unchanged_events_stay_unchanged(store: EventStore) -> None:
    store.import_files([GED])
    store.close()
    con = duckdb.connect(str(store.path))
    # What kalkan 2 left behind: no known_at column.
    for table in ("events", "event_history"):
        con.execute(f"ALTER TABLE {table} DROP COLUMN known_at")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.close()
    again = EventStore(store.path).import_files([GED])[0]
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 33)
    con = duckdb.connect(str(store.path), read_only=True)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
    assert con.execute("SELECT count(*) FROM events WHERE known_at IS NULL").fetchone() == (33,)
    con.close()
