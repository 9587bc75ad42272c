"""What the terminal shows: numbers never cut, --format honoured without --out, errors as plain text."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from kalkan.cli import _register_all, app
from kalkan.store import EventStore
from kalkan.terminal import Column, fit_table

_register_all()
BIG = "15,786,123"


def render(table: object, width: int) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, force_terminal=False).print(table)
    return out.getvalue().splitlines()


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_numbers_stay_whole_and_columns_drop_at_any_width(width: int) -> None:
    counts = ["rows", "accepted", "quarantined", "duplicates", "inserted", "updated"]
    columns = [Column("file", keep=True), *(Column(c, number=True) for c in counts)]
    table = fit_table(columns, [["a_long_file_name_[draft].csv", *[BIG] * 6]], title="Imported", width=width)
    lines = render(table, width)
    assert all(len(line) <= width for line in lines), "\n".join(lines)
    body = "\n".join(lines)
    shown = [c for c in counts if c in body.split("Not shown")[0]]
    assert shown, body  # at least one count fits even at 40 columns
    assert body.count(BIG) == len(shown)  # every count shown is whole: no "15,7…"
    assert "…" not in body
    left_out = [c for c in counts if c not in shown]
    if left_out:
        assert "Not shown, the terminal is too narrow: " + ", ".join(left_out) in " ".join(body.split())
    assert "[" in body  # the file name's "[draft]" is text, not a Rich style tag that would vanish


def write_events(path: Path) -> Path:
    path.write_text(
        "event_id,date_start,latitude,longitude,country_iso3,event_type,fatalities_best,perpetrator\n"
        "kalkan:1,2010-06-11,40.52,72.79,KGZ,killing,1234567,[unknown] armed group\n"
        "kalkan:2,2010-06-12,40.93,73.00,KGZ,arson,0,\n",
        encoding="utf-8",
    )
    return path


def test_kalkan_events_at_60_columns_keeps_every_digit(tmp_path: Path) -> None:
    db = tmp_path / "events.duckdb"
    EventStore(db).import_files([write_events(tmp_path / "events.csv")])
    result = CliRunner(env={"COLUMNS": "60"}).invoke(app, ["events", "--db", str(db)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(len(line) <= 60 for line in lines), result.output
    assert "1,234,567" in result.output and "2010-06-11" in result.output and "…" not in result.output


def test_kalkan_events_format_csv_prints_csv_without_out(tmp_path: Path) -> None:
    db = tmp_path / "events.duckdb"
    EventStore(db).import_files([write_events(tmp_path / "events.csv")])
    result = CliRunner().invoke(app, ["events", "--db", str(db), "--format", "csv"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert list(frame["event_id"]) == ["kalkan:1", "kalkan:2"]
    assert frame["perpetrator"].iloc[0] == "[unknown] armed group"
    geojson = CliRunner().invoke(app, ["events", "--db", str(db), "--format", "geojson"])
    assert geojson.exit_code == 0 and '"FeatureCollection"' in geojson.stdout
    parquet = CliRunner().invoke(app, ["events", "--db", str(db), "--format", "parquet"])
    assert parquet.exit_code != 0 and "give --out" in str(parquet.exception)


def test_an_error_message_with_brackets_is_printed_as_written(tmp_path: Path) -> None:
    missing = tmp_path / "[draft] events.duckdb"
    done = subprocess.run(
        [sys.executable, "-c", "from kalkan.cli import main; main()", "events", "--db", str(missing)],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "", "PYTHONPATH": ":".join(sys.path)},
        timeout=120,
    )
    assert done.returncode == 2
    assert f"no event store at {missing}" in done.stderr and "Traceback" not in done.stderr
