"""Stages read events from the store: by area and dates, as known on a day, as the scenario's incidents."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from shapely.geometry import box

from kalkan.errors import OptionError
from kalkan.scenarios import load_scenario
from kalkan.stage_events import incidents_from_store, read_events_for_stage, scenario_area
from kalkan.store import EventStore

HEADER = "event_id,date_start,date_end,latitude,longitude,country_iso3,event_type,fatalities_best,place_name"
OSH = (40.52828, 72.7985)  # Osh city (GeoNames 1527534), inside the scenario's area
BISHKEK = (42.87, 74.59)  # in Kyrgyzstan, far outside the scenario's southern oblasts


def write(path: Path, rows: list[tuple[str, str, str, tuple[float, float], str | None]]) -> Path:
    """Rows of (id, start, end, (lat, lon), known_at or None) as a kalkan CSV with a known_at column."""
    lines = [HEADER + ",known_at"]
    for ident, start, end, (lat, lon), known in rows:
        lines.append(f"kalkan:{ident},{start},{end},{lat},{lon},KGZ,killing,1,place {ident},{known or ''}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    store = EventStore(tmp_path / "events.duckdb")
    store.import_files(
        [
            write(
                tmp_path / "events.csv",
                [
                    ("a", "2010-06-11", "2010-06-11", OSH, "2010-06-12"),  # known the next day
                    ("b", "2010-06-12", "2010-06-12", OSH, "2010-07-20"),  # reported weeks later
                    ("c", "2010-06-13", "2010-06-14", OSH, None),  # no known date: known once it ended
                    ("d", "2010-06-12", "2010-06-12", BISHKEK, "2010-06-12"),  # outside the area
                    ("e", "2010-04-01", "2010-04-01", OSH, "2010-04-01"),  # before the period
                ],
            )
        ]
    )
    return store


def ids(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["event_id"])


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2010-06-11", ["kalkan:e"]),  # a started on the 11th but was known on the 12th
        ("2010-06-13", ["kalkan:a", "kalkan:d", "kalkan:e"]),  # c has not ended yet
        ("2010-06-14", ["kalkan:a", "kalkan:c", "kalkan:d", "kalkan:e"]),
        ("2010-07-20", ["kalkan:a", "kalkan:b", "kalkan:c", "kalkan:d", "kalkan:e"]),
    ],
)
def test_as_of_reads_only_events_known_by_that_day(
    store: EventStore, as_of: str, expected: list[str]
) -> None:
    assert ids(store.query(as_of=as_of)) == expected
    assert store.count(as_of=as_of) == len(expected)


def test_known_at_is_kept_and_a_correction_keeps_the_first_known_day(
    store: EventStore, tmp_path: Path
) -> None:
    known = store.query(known_at=True).set_index("event_id")["known_at"]
    assert known["kalkan:a"] == pd.Timestamp("2010-06-12") and pd.isna(known["kalkan:c"])
    # a later export corrects event a (another place name) and says it was known on 1 August
    again = tmp_path / "again.csv"
    again.write_text(
        HEADER + ",known_at\n"
        f"kalkan:a,2010-06-11,2010-06-11,{OSH[0]},{OSH[1]},KGZ,killing,2,place a,2010-08-01\n",
        encoding="utf-8",
    )
    result = store.import_files([again], mark_deleted=False)[0]
    assert result.updated == 1
    row = store.query(known_at=True).set_index("event_id").loc["kalkan:a"]
    assert (row["fatalities_best"], row["version"], row["known_at"]) == (2, 2, pd.Timestamp("2010-06-12"))


def test_area_filters_by_the_shape_not_only_its_box(store: EventStore) -> None:
    # a triangle whose box holds Osh and Bishkek but whose shape holds only Osh
    from shapely.geometry import Polygon

    triangle = Polygon([(72.0, 40.0), (75.0, 40.0), (72.0, 43.5)])
    assert triangle.envelope.contains(box(74.5, 42.8, 74.7, 42.9))
    assert set(store.query(area=triangle)["place_name"]) == {"place a", "place b", "place c", "place e"}
    assert store.count(area=triangle, start="2010-06-01") == 3
    assert len(store.query(area=box(0, 0, 1, 1))) == 0


def test_a_scenarios_incidents_come_from_the_store_in_the_loaders_table(store: EventStore) -> None:
    scenario = load_scenario("kyrgyzstan_2010")
    area = scenario_area(scenario)
    assert area.contains(box(OSH[1] - 0.01, OSH[0] - 0.01, OSH[1] + 0.01, OSH[0] + 0.01))
    incidents, selection = incidents_from_store(scenario, store.path, as_of=date(2010, 6, 14))
    # the area (not Bishkek), the period (not April) and what was known by 14 June (not b)
    assert sorted(incidents["place_name"]) == ["place a", "place c"]
    assert selection.events == 2 and selection.sources == {"kalkan": 2}
    for column in scenario.incidents.columns:
        assert column in incidents.columns
        assert incidents[column].dtype == scenario.incidents[column].dtype, column
    assert set(incidents["admin2"]) == {"Osh (city)"} and incidents["located"].all()
    assert incidents.set_index("place_name").loc["place c", "raw_date"] == "2010-06-13 to 2010-06-14"
    assert "2 events (kalkan 2) from the event store" in selection.describe()


def test_a_command_takes_events_from_a_file_or_the_store_not_both(store: EventStore, tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="one of the two"):
        read_events_for_stage(None, None)
    with pytest.raises(OptionError, match="one of the two"):
        read_events_for_stage(tmp_path / "events.csv", store.path)
    from_file = read_events_for_stage(tmp_path / "events.csv", None)
    from_store = read_events_for_stage(None, store.path, as_of=date(2010, 6, 13))
    assert len(from_file) == 5 and ids(from_store) == ["kalkan:a", "kalkan:d", "kalkan:e"]


def test_the_period_is_the_scenarios_own_unless_the_as_of_day_is_far_later() -> None:
    from kalkan.stage_events import DEFAULT_LOOKBACK_DAYS, scenario_period

    scenario = load_scenario("kyrgyzstan_2010")
    first_own = pd.to_datetime(scenario.incidents["date_start"]).min().date()
    assert scenario_period(scenario, date(2010, 6, 30)) == (first_own, date(2010, 6, 30))
    # a brief of this week on the 2010 scenario reads the last weeks, not sixteen years
    start, end = scenario_period(scenario, date(2026, 12, 6))
    assert (end - start).days == DEFAULT_LOOKBACK_DAYS and end == date(2026, 12, 6)


@pytest.mark.parametrize(
    "command",
    [
        ["brief", "--runs", "0"],
        ["plan", "options"],
        ["plan", "curve"],
        ["plan", "timeline"],
        ["simulate", "--runs", "1"],
        ["risk", "hotspots", "--until", "2010-06-20", "--horizon-days", "7"],
        ["risk", "backtest", "--start", "2010-01", "--select-until", "2010-03", "--end", "2010-06"],
    ],
)
def test_every_stage_reads_its_events_from_the_store_given_by_db(command: list[str], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kalkan.cli import _register_all, app
    from kalkan.errors import StoreError

    _register_all()
    missing = tmp_path / "no store here.duckdb"
    result = CliRunner().invoke(app, [*command, "--db", str(missing)])
    assert isinstance(result.exception, StoreError), result.output
    assert f"no event store at {missing}" in str(result.exception)
    assert not (tmp_path / "out").exists()
