"""`kalkan scenario new` builds a folder that loads at once; `kalkan scenario check` says what is wrong."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from kalkan.cli import _register_all, app
from kalkan.scenarios import check_scenario, load_scenario
from kalkan.scenarios._new import new_scenario

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GED = FIXTURES / "ged_caf_sample.csv"
SHIPPED = Path(__file__).resolve().parents[2] / "src" / "kalkan" / "scenarios" / "kyrgyzstan_2010"


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    _register_all()
    return CliRunner()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, runner: CliRunner) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("new") / "car"
    result = runner.invoke(
        app,
        [
            "scenario",
            "new",
            str(folder),
            "--country",
            "CAF",
            "--events",
            str(GED),
            "--start",
            "2013-12-01",
            "--end",
            "2014-01-31",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    return folder, result.output


def test_new_folder_loads_and_checks_clean(built: tuple[Path, str]) -> None:
    folder, output = built
    report = check_scenario(folder)
    assert report.ok, report.problems
    scenario = load_scenario(str(folder))
    assert scenario.settings["country_iso3"] == "CAF"
    assert len(scenario.places) >= 10
    assert (scenario.places["oblast"] != "").all()
    # Only the sample's events of the period (December and January), each sourced to the GED entry.
    raw = pd.read_csv(GED)
    in_period = raw[(raw["date_start"] >= "2013-12-01") & (raw["date_start"] <= "2014-01-31")]
    # The reader refuses rows whose fatalities are not low <= best <= high (one in this sample).
    in_period = in_period[(in_period["low"] <= in_period["best"]) & (in_period["best"] <= in_period["high"])]
    assert "1 row(s) of the events file (any country or date) were refused by the reader" in output
    assert len(scenario.incidents) == len(in_period)
    assert scenario.incidents["fatalities_best"].sum() == in_period["best"].sum()
    assert set(scenario.incidents["source_ids"]) == {"D_GED"}
    assert f"{len(in_period)} incidents" in output


def test_new_folder_marks_estimates_and_names_its_sources(built: tuple[Path, str]) -> None:
    folder, _ = built
    scenario = load_scenario(str(folder))
    towns = pd.read_csv(folder / "settlements.csv")
    assert towns["population_source"].str.startswith("estimate: GeoNames cities500").all()
    assert {"D_GEONAMES", "D_GED"} <= set(scenario.sources["source_id"])
    assert any("GeoNames (CC BY 4.0)" in a for a in scenario.attributions)
    assert any("Uppsala Conflict Data Program" in a for a in scenario.attributions)
    # Units without an official boundary say so.
    assert all("not an official boundary" in f["properties"]["source"] for f in scenario.admin2["features"])
    # Every incident's date known is an estimate from the event's last day, and says so.
    assert scenario.incidents["known_on"].notna().all()
    assert (scenario.incidents["known_on"] > scenario.incidents["date_end"]).all()
    assert scenario.incidents["notes"].str.contains("known_on estimated").all()


def test_new_folder_leaves_placeholders_that_check_lists(built: tuple[Path, str], runner: CliRunner) -> None:
    folder, _ = built
    result = runner.invoke(app, ["scenario", "check", str(folder)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "to fill: scenario.toml group name: TO FILL" in result.output
    assert "to fill: districts.csv rows 2-" in result.output
    assert "to fill: SOURCES.md line" in result.output
    strict = runner.invoke(app, ["scenario", "check", "--strict", str(folder)])
    assert strict.exit_code == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--country", "XYZ"], "--country 'XYZ' is not an ISO 3166 alpha-3 country code"),
        (["--country", "CAF", "--bbox", "1,2,3"], "--bbox '1,2,3' is not WEST,SOUTH,EAST,NORTH"),
        (
            ["--country", "CAF", "--events", str(GED), "--start", "2014-02-01", "--end", "2013-12-01"],
            "--end 2013-12-01 is before --start 2014-02-01",
        ),
        (
            ["--country", "CAF", "--start", "1 Dec 2013", "--end", "2014-01-31"],
            "--start '1 Dec 2013' is not a date",
        ),
    ],
)
def test_new_wrong_arguments_give_one_sentence(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["scenario", "new", str(tmp_path / "x"), *args])
    assert result.exit_code != 0
    assert message in str(result.exception) + result.output
    assert not (tmp_path / "x").exists()


def test_new_can_count_everyone_as_a_stated_choice(tmp_path: Path) -> None:
    folder = tmp_path / "all"
    new_scenario(folder, country="CAF", all_at_risk=True)
    scenario = load_scenario(str(folder))
    assert scenario.group_at_risk == "all residents"
    assert (scenario.districts["group_share_pct"] == 100).all()
    notes = pd.read_csv(folder / "districts.csv")["ethnic_note"]
    assert notes.str.startswith("estimate: the analyst's choice (--all-at-risk)").all()


def test_new_refuses_to_overwrite(runner: CliRunner, built: tuple[Path, str]) -> None:
    folder, _ = built
    result = runner.invoke(app, ["scenario", "new", str(folder), "--country", "CAF"])
    assert result.exit_code != 0
    assert "exists and is not empty" in str(result.exception)


def test_check_prints_problems_plainly_with_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(SHIPPED, folder)
    toml = folder / "scenario.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('"Aravan district" = "Aravan"\n', ""), encoding="utf-8"
    )
    result = runner.invoke(app, ["scenario", "check", str(folder)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "has no entry in [district_names] of scenario.toml" in result.output  # not eaten as markup
    assert "districts.csv row 3 (Aravan district)" in result.output
    assert "Traceback" not in result.output


def test_check_of_the_shipped_scenario_passes(runner: CliRunner) -> None:
    result = runner.invoke(app, ["scenario", "check", "kyrgyzstan_2010"])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output


def test_cli_prints_a_load_error_as_plain_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kalkan.cli import main

    folder = tmp_path / "broken"
    shutil.copytree(SHIPPED, folder)
    toml = folder / "scenario.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('"Aravan district" = "Aravan"\n', ""), encoding="utf-8"
    )
    monkeypatch.setattr("sys.argv", ["kalkan", "scenario", "show", str(folder)])
    monkeypatch.setenv("COLUMNS", "300")
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "[district_names]" in err and "Traceback" not in err


def test_new_reads_the_events_from_the_store(tmp_path: Path, built: tuple[Path, str]) -> None:
    from kalkan.store import EventStore

    store = tmp_path / "events.duckdb"
    EventStore(store).import_files([GED])
    folder = tmp_path / "from-store"
    made = new_scenario(folder, country="CAF", db=store, start=date(2013, 12, 1), end=date(2014, 1, 31))
    from_file = load_scenario(str(built[0]))
    from_store = load_scenario(str(folder))
    # The same events as from the file (the reader refuses the same row either way), sourced to the store.
    assert made.incidents == len(from_file.incidents)
    assert sorted(from_store.incidents["fatalities_best"]) == sorted(from_file.incidents["fatalities_best"])
    assert set(from_store.incidents["source_ids"]) == {"D_STORE"}
    assert "D_STORE" in set(from_store.sources["source_id"])


def test_new_keeps_who_acted_from_the_event_file(built: tuple[Path, str]) -> None:
    """GED's perpetrator side reaches the folder's incidents (perpetrator, perpetrator_type)."""
    folder, _ = built
    events = load_scenario(str(folder)).incidents
    named = events[events["perpetrator"] != ""]
    assert len(named) == len(events) > 0
    assert set(named["perpetrator_type"]) - {""} <= {
        "state_forces",
        "rebel_group",
        "political_militia",
        "identity_militia",
        "external_forces",
        "non_state_group",
        "rioters",
        "protesters",
        "civilians",
        "unknown",
    }


def test_shares_are_read_by_unit_or_by_place(tmp_path: Path) -> None:
    from kalkan.scenarios._new import _shares

    units = [{"properties": {"name": "Bangui"}}, {"properties": {"name": "Bria"}}]
    places = pd.DataFrame({"name": ["Ndélé"], "unit": ["Bria"]})
    path = tmp_path / "shares.csv"
    # headers as a spreadsheet writes them; a place row finds its unit; no source_id -> D_SHARES
    path.write_text(
        " Unit ,Place,group_share_pct,source_id\nBangui,,40,S_1\n,Ndélé,12.5,\n", encoding="utf-8"
    )
    assert _shares(path, units, places) == {"Bangui": (40.0, "S_1"), "Bria": (12.5, "D_SHARES")}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # the share column missing: named, with what the file needs
        ("unit,share\nBangui,40\n", r"lacks the columns group_share_pct.*--shares needs a group_share_pct"),
        # neither unit nor place
        ("district,group_share_pct\nBangui,40\n", r"has neither a unit nor a place column"),
        # a header and nothing else
        ("unit,group_share_pct\n", r"The --shares file .* has no rows"),
        # a share above 100
        ("unit,group_share_pct\nBangui,140\n", r"row 2: group_share_pct '140' is not a percent"),
    ],
)
def test_a_bad_shares_file_says_what_it_needs(tmp_path: Path, text: str, message: str) -> None:
    from kalkan.errors import InputError
    from kalkan.scenarios._new import _shares

    path = tmp_path / "shares.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        _shares(path, [{"properties": {"name": "Bangui"}}], pd.DataFrame({"name": [], "unit": []}))
