"""`kalkan plan ...` end to end: the stable coverage interface, bad input, the scenario commands."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import kalkan
from kalkan.cli import _register_all, app
from kalkan.errors import InputError, KalkanError, SchemaError

_register_all()
runner = CliRunner()


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(3)
    demand = pd.DataFrame(
        {
            "id": [f"d{i}" for i in range(60)],
            "x": rng.random(60),
            "y": rng.random(60),
            "weight": rng.integers(1, 11, 60),
        }
    )
    sites = pd.DataFrame({"id": [f"s{i}" for i in range(15)], "x": rng.random(15), "y": rng.random(15)})
    demand.to_csv(tmp_path / "demand.csv", index=False)
    sites.to_csv(tmp_path / "sites.csv", index=False)
    return tmp_path / "demand.csv", tmp_path / "sites.csv"


def _run(*args: str):
    return runner.invoke(app, ["plan", *args])


def test_coverage_json_has_the_stable_fields(files: tuple[Path, Path]) -> None:
    demand, sites = files
    result = _run(
        "coverage",
        "--demand",
        str(demand),
        "--sites",
        str(sites),
        "--radius",
        "0.3",
        "--posts",
        "3",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"model", "objective", "bound", "gap", "selected", "status", "seconds"} <= set(data)
    assert data["model"] == "mclp" and len(data["selected"]) <= 3
    assert set(data["selected"]) <= {f"s{i}" for i in range(15)}
    assert data["bound"] >= data["objective"]
    assert data["status"] in ("optimal", "time_limit", "heuristic")


def test_cover_all_csv_and_outputs(files: tuple[Path, Path], tmp_path: Path) -> None:
    demand, sites = files
    out = tmp_path / "posts.parquet"
    result = _run(
        "coverage",
        "--demand",
        str(demand),
        "--sites",
        str(sites),
        "--radius",
        "0.3",
        "--cover-all",
        "--format",
        "csv",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("id,x,y")
    assert len(pd.read_parquet(out)) == len(result.stdout.strip().splitlines()) - 1


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        # a weight below zero
        (
            lambda d: d.assign(weight=[-1] + d["weight"].tolist()[1:]),
            InputError,
            r"negative weight \(lines 2\)",
        ),
        # two rows with the same id
        (lambda d: d.assign(id=["d1"] + d["id"].tolist()[1:]), InputError, "share an id"),
        # no weight column
        (lambda d: d.drop(columns=["weight"]), SchemaError, "no 'weight' column"),
        # a missing coordinate
        (
            lambda d: d.assign(x=[np.nan] + d["x"].tolist()[1:]),
            InputError,
            "missing or non-numeric coordinates",
        ),
    ],
)
def test_bad_demand_files(files: tuple[Path, Path], change, error, match: str) -> None:
    demand, sites = files
    change(pd.read_csv(demand)).to_csv(demand, index=False)
    result = _run(
        "coverage", "--demand", str(demand), "--sites", str(sites), "--radius", "0.3", "--posts", "2"
    )
    assert isinstance(result.exception, error)
    assert re.search(match, str(result.exception))


def test_swapped_latitude_longitude_is_named(tmp_path: Path) -> None:
    demand = pd.DataFrame(
        {"id": ["a", "b"], "latitude": [40.5, 72.9], "longitude": [72.8, 40.6], "weight": [1, 2]}
    )
    demand.loc[1, "latitude"] = 172.9  # a longitude-like value in the latitude column
    demand.to_csv(tmp_path / "d.csv", index=False)
    demand.drop(columns=["weight"]).iloc[:1].to_csv(tmp_path / "s.csv", index=False)
    result = _run(
        "coverage",
        "--demand",
        str(tmp_path / "d.csv"),
        "--sites",
        str(tmp_path / "s.csv"),
        "--response-minutes",
        "30",
        "--posts",
        "1",
    )
    assert isinstance(result.exception, InputError)
    assert "lines 3" in str(result.exception)


@pytest.mark.parametrize(
    "args",
    [
        ["--radius", "0.3", "--response-minutes", "30", "--posts", "1"],  # both reaches
        ["--radius", "0.3"],  # neither --posts nor --cover-all
        ["--radius", "0.3", "--posts", "0"],  # a budget smaller than one post
        ["--response-minutes", "30", "--posts", "1"],  # minutes with planar x/y
    ],
)
def test_bad_arguments(files: tuple[Path, Path], args: list[str]) -> None:
    demand, sites = files
    result = _run("coverage", "--demand", str(demand), "--sites", str(sites), *args)
    assert isinstance(result.exception, KalkanError)


@pytest.mark.slow  # starts a Python process (about 5 s on a loaded machine)
def test_cli_prints_one_sentence_and_exits_2(files: tuple[Path, Path]) -> None:
    demand, sites = files
    env = dict(os.environ, PYTHONPATH=str(Path(kalkan.__file__).resolve().parent.parent))
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from kalkan.cli import main; main()",
            "plan",
            "coverage",
            "--demand",
            str(demand),
            "--sites",
            str(sites),
            "--radius",
            "0.3",
            "--posts",
            "0",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "whole number >= 1" in proc.stderr


@pytest.mark.slow  # solves the embedded scenario several times
def test_scenario_commands_write_their_files(tmp_path: Path) -> None:
    result = _run(
        "options", "--options", "monitors:50,police:300", "--time-limit", "0.5", "--out", str(tmp_path)
    )
    assert result.exit_code == 0, result.output
    options = pd.read_csv(tmp_path / "options.csv")
    assert options["coverage_kind"].tolist() == ["observed", "protected"]
    geo = json.loads((tmp_path / "posts_police_300.geojson").read_text())
    roles = {f["properties"]["role"] for f in geo["features"]}
    assert roles == {"post", "place"}
    result = _run("timeline", "--days", "40", "--time-limit", "0.3", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "illustrative" in result.output.lower()
    timeline = pd.read_csv(tmp_path / "timeline.csv")
    assert len(timeline) == 41
    assert timeline["officers_in_place"].is_monotonic_increasing
    assert (tmp_path / "timeline.png").stat().st_size > 1000


def test_latlon_coverage_writes_geojson(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    demand = pd.DataFrame(
        {
            "id": range(30),
            "latitude": 40.5 + 0.3 * rng.random(30),
            "longitude": 72.7 + 0.3 * rng.random(30),
            "weight": rng.integers(1, 50, 30),
        }
    )
    demand.to_csv(tmp_path / "d.csv", index=False)
    demand.drop(columns=["weight"]).iloc[::3].to_csv(tmp_path / "s.csv", index=False)
    out = tmp_path / "posts.geojson"
    result = _run(
        "coverage",
        "--demand",
        str(tmp_path / "d.csv"),
        "--sites",
        str(tmp_path / "s.csv"),
        "--response-minutes",
        "10",
        "--posts",
        "2",
        "--format",
        "json",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    geo = json.loads(out.read_text())
    assert geo["type"] == "FeatureCollection"
    assert sorted(f["properties"]["id"] for f in geo["features"]) == sorted(data["selected"])
    lon, lat = geo["features"][0]["geometry"]["coordinates"]
    assert 72.7 <= lon <= 73.0 and 40.5 <= lat <= 40.8  # GeoJSON order is longitude, latitude
