"""``kalkan simulate`` and ``kalkan simulate lattice`` from the command line; the public names."""

from __future__ import annotations

import importlib
import json
import sys

import pytest
from typer.testing import CliRunner

import kalkan.simulate
from kalkan.cli import _register_all, app, main


def test_public_names_import() -> None:
    for name in kalkan.simulate.__all__:
        assert getattr(kalkan.simulate, name) is not None
    assert kalkan.simulate.__all__ == sorted(kalkan.simulate.__all__, key=lambda n: (not n.isupper(), n))
    assert importlib.import_module("kalkan.simulate.commands").register is not None


def test_lattice_command_reports_agents_steps_seconds_and_actives() -> None:
    _register_all()
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "lattice",
            "--width",
            "20",
            "--height",
            "20",
            "--steps",
            "7",
            "--seed",
            "3",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["steps"] == 7 and len(data["active"]) == 8
    assert 0.6 * 400 < data["agents"] < 0.95 * 400  # densities 0.7 + 0.074 of 400 cells
    assert data["seconds"] >= 0
    again = json.loads(
        CliRunner()
        .invoke(
            app,
            [
                "simulate",
                "lattice",
                "--width",
                "20",
                "--height",
                "20",
                "--steps",
                "7",
                "--seed",
                "3",
                "--format",
                "json",
            ],
        )
        .output
    )
    assert again["active"] == data["active"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--options", "police:-1"], "has -1 officers"),  # negative count
        (["--options", "tanks:5"], "Unknown unit type 'tanks'"),  # unknown unit
        (["--runs", "0"], "--runs must be a whole number >= 1; got 0"),  # no runs
        (["--options", "police:600", "--format", "xml"], "Unknown --format 'xml'"),
        (["--scenario", "atlantis"], "atlantis"),  # unknown scenario
    ],
)
def test_bad_options_get_one_clear_sentence(
    args: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["kalkan", "simulate", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_simulate_json_has_one_object_per_option_with_intervals() -> None:
    _register_all()
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--options",
            "monitors:50",
            "--runs",
            "3",
            "--days",
            "2",
            "--seed",
            "1",
            "--format",
            "json",
            "--scheduler",
            "serial",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rows = data["options"]
    assert [r["option"] for r in rows] == ["none", "monitors:50"]
    for row in rows:
        for what in ("deaths", "homes_destroyed", "displaced"):
            assert row[f"{what}_p5"] <= row[f"{what}_median"] <= row[f"{what}_p95"]
        assert row["runs"] == 3 and 0 <= row["p_best"] <= 1
    assert "3 runs per option" in data["interval_note"] and data["as_of"] == "2010-06-30"
    assert data["beats"]["none"]["monitors:50"] + data["beats"]["monitors:50"]["none"] == 1.0


def test_every_setting_and_command_is_documented() -> None:
    from pathlib import Path

    from kalkan.simulate import GEO_SETTINGS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "simulate.md").read_text()
    missing = [s.name for s in GEO_SETTINGS if f"`{s.name}`" not in doc]
    assert not missing, f"settings not in docs/simulate.md: {missing}"
    for command in (
        "kalkan simulate lattice",
        "--options",
        "--runs",
        "--days",
        "--seed",
        "--format",
        "--scheduler",
    ):
        assert command in doc


def test_simulate_options_uses_given_plans_and_reports_days_and_places() -> None:
    from kalkan.plan.force import plan_option
    from kalkan.plan.units import parse_options
    from kalkan.scenarios import load_scenario
    from kalkan.simulate import scenario_places, simulate_options

    scenario = load_scenario("kyrgyzstan_2010")
    demand = scenario_places(scenario).rename(columns={"place_id": "id"})
    option = parse_options("police:200")[0]
    plan = plan_option(demand, option, time_limit=2.0)
    table = simulate_options(scenario, [option], runs=2, days=3, seed=5, plans={option.label: plan})
    again = simulate_options(scenario, [option], runs=2, days=3, seed=5, plans={option.label: plan})
    assert table.equals(again.assign(seconds=table["seconds"]))  # same seed, same plans: same table
    posts = table.attrs["posts"]
    assert sorted(posts.loc[posts["option"] == "police:200", "id"]) == sorted(plan.selected["id"])
    assert table.loc[1, "posts"] == len(plan.selected)
    daily = table.attrs["daily"]
    assert set(daily["day"]) == {1, 2, 3} and set(daily["option"]) == {"none", "police:200"}
    by_place = table.attrs["by_place"]
    assert set(by_place["option"]) <= {"none", "police:200"} and (by_place["deaths_mean"] >= 0).all()
