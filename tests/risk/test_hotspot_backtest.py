"""Backtest: scores by hand on tiny tables, no look-ahead, Dask equals serial, and the CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from kalkan.errors import InputError
from kalkan.ingest import read_events
from kalkan.risk.hotspot_backtest import Fold, _captured, backtest, run_fold, score_table
from kalkan.risk.hotspot_boost import BoostModel

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ged" / "ged_caf_2013-09_2014-02.csv"
MODELS = ["hawkes", "boost", "zero", "last", "mean12", "conflictology"]


@pytest.fixture(scope="module")
def caf() -> pd.DataFrame:
    return read_events(FIXTURE).events


@pytest.mark.parametrize(
    ("score", "observed", "level", "expected"),
    [
        # top 1 of 4 cells (ceil(0.25 * 4)) is the 0.9 cell with 3 events
        ([0.9, 0.5, 0.1, 0.0], [3, 1, 0, 2], 0.25, 3.0),
        # top 2: the 0.9 cell and half of the two cells tied at 0.5 (1 and 3 events)
        ([0.9, 0.5, 0.5, 0.0], [0, 1, 3, 2], 0.50, 2.0),
        # all tied (the zero baseline): the share of events equals the share of cells
        ([0.0, 0.0, 0.0, 0.0], [4, 0, 0, 0], 0.25, 1.0),
    ],
)
def test_captured_events_share_ties(score: list, observed: list, level: float, expected: float) -> None:
    assert _captured(np.array(score, float), np.array(observed, float), level) == pytest.approx(expected)


def test_scores_by_hand() -> None:
    cells = pd.DataFrame(
        {
            "group": "A",
            "month": ["2014-01"] * 2 + ["2014-02"] * 2,
            "model": "m",
            "cell_id": [1, 2, 1, 2],
            "probability": [0.8, 0.1, 0.0, 1.0],
            "expected_events": [1.0, 0.1, 0.0, 2.0],
            "observed": [2.0, 0.0, 1.0, 0.0],
            "crps": [0.5, 0.1, 1.0, 2.0],
        }
    )
    folds = pd.DataFrame(
        {
            "group": "A",
            "month": ["2014-01", "2014-02"],
            "model": "m",
            "events": [2, 1],
            "outside": [0, 0],
            "cells": 2,
            "captured_0.01": [2.0, 0.0],
            "captured_0.05": [2.0, 0.0],
            "captured_0.1": [2.0, 0.0],
            "cpu_seconds": 0.0,
        }
    )
    s = score_table(cells, folds, n_boot=0, clip=0.01).set_index("group").loc["pooled"]
    assert s["brier"] == pytest.approx((0.04 + 0.01 + 1 + 1) / 4)
    assert s["logloss"] == pytest.approx(-(np.log(0.8) + np.log(0.9) + np.log(0.01) + np.log(0.01)) / 4)
    assert s["crps"] == pytest.approx(3.6 / 4)
    assert s["capture_0.05"] == pytest.approx(2 / 3)
    assert s["avg_precision"] == pytest.approx(0.5)  # the 2 positives rank 2nd and 4th: (1/2 + 2/4) / 2


def test_fold_sees_nothing_after_its_cut_off(caf: pd.DataFrame) -> None:
    fold = Fold("CAF", pd.Period("2014-01", "M"))
    cut = pd.Timestamp("2013-12-31")
    # changing every event after the cut-off (moving them far away) changes no forecast
    moved = caf.copy()
    later = moved["date_start"] > cut
    moved.loc[later, ["latitude", "longitude"]] = [4.0, 22.0]
    a, _ = run_fold(fold, caf, ["hawkes", "boost", "mean12"], "priogrid")
    b, _ = run_fold(fold, moved, ["hawkes", "boost", "mean12"], "priogrid")
    cols = ["model", "cell_id", "probability", "expected_events"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert not a["observed"].equals(b["observed"])  # ... while the outcomes did change


def test_backtest_scores_every_model_and_the_pool(caf: pd.DataFrame) -> None:
    result = backtest(caf, models=MODELS, start="2014-01", end="2014-02", n_boot=20, seed=1)
    s = result.scores
    assert set(s["group"]) == {"CAF", "pooled"} and set(s["model"]) == set(MODELS)
    assert result.settings["folds"] == 2
    assert (s["brier_low"] <= s["brier"]).all() and (s["brier"] <= s["brier_high"]).all()
    zero = s[(s["model"] == "zero") & (s["group"] == "pooled")].iloc[0]
    # the zero forecast's Brier score is the share of cell-months with an event
    assert zero["brier"] == pytest.approx(zero["positives"] / zero["cell_months"])
    # paired comparison with the best baseline, for the models that are not baselines
    for _, row in s[s["model"].isin(["hawkes", "boost"])].iterrows():
        base = s[(s["group"] == row["group"]) & s["model"].isin(["zero", "last", "mean12", "conflictology"])]
        assert row["brier_minus_best"] == pytest.approx(row["brier"] - base["brier"].min())
        assert row["brier_best_baseline"] == base.loc[base["brier"].idxmin(), "model"]
        assert row["logloss_minus_best_low"] <= row["logloss_minus_best"] <= row["logloss_minus_best_high"]
    assert s.loc[s["model"] == "zero", "brier_minus_best"].isna().all()
    month = caf["date_start"].dt.to_period("M").astype(str)
    expected = {int((month == m).sum()) for m in ("2014-01", "2014-02")}
    assert set(result.folds["events"]) == expected


def test_dask_equals_serial(caf: pd.DataFrame) -> None:
    from dask.distributed import LocalCluster

    serial = backtest(caf, models=["hawkes", "last"], start="2014-01", end="2014-02", n_boot=10)
    # any free port for the dashboard: 8787 may be taken by another cluster on the machine
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0") as cluster:
        parallel = backtest(
            caf,
            models=["hawkes", "last"],
            start="2014-01",
            end="2014-02",
            n_boot=10,
            scheduler=cluster.scheduler_address,
        )
    pd.testing.assert_frame_equal(serial.cells, parallel.cells)
    pd.testing.assert_frame_equal(serial.scores, parallel.scores)


def test_backtest_errors(caf: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="Unknown model 'magic'"):
        backtest(caf, models=["magic"])
    with pytest.raises(InputError, match="No month between 2000-01 and 2000-12"):
        backtest(caf, start="2000-01", end="2000-12")
    with pytest.raises(InputError, match="no 'region' column"):
        backtest(caf, by="region")
    with pytest.raises(InputError, match="Cannot reach the Dask scheduler"):
        backtest(caf, models=["zero"], start="2014-01", end="2014-01", scheduler="tcp://127.0.0.1:9")


def test_boost_model_learns_from_history_only(caf: pd.DataFrame) -> None:
    model = BoostModel(train_periods=6).fit(caf, until="2013-12-31")
    fc = model.predict(31)
    assert fc["probability"].between(0, 1).all()
    assert (fc["expected_events"] >= fc["probability"] - 1e-12).all()
    cdf = model.predict_cdf(31, 500)
    np.testing.assert_allclose(cdf[:, 0], 1 - fc["probability"], atol=1e-9)
    assert np.all(np.diff(cdf, axis=1) >= -1e-12)
    # the hurdle distribution has the forecast mean: E[N] = sum_k P(N > k)
    np.testing.assert_allclose((1 - cdf).sum(axis=1), fc["expected_events"], rtol=1e-3, atol=1e-6)
    with pytest.raises(InputError, match="'train_periods' parameter of BoostModel must be an int >= 1"):
        BoostModel(train_periods=0).fit(caf)


def _cli(args: list[str]) -> tuple[int, str]:
    from kalkan.cli import _register_all, app

    _register_all()
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stdout


def test_cli_hotspots_csv_and_json() -> None:
    code, out = _cli(
        ["risk", "hotspots", "--events", str(FIXTURE), "--until", "2014-01-31", "--horizon-days", "14"]
    )
    assert code == 0, out
    lines = [ln for ln in out.splitlines() if ln]
    header = lines.index("cell_id,latitude,longitude,probability,expected_events")
    table = pd.DataFrame([ln.split(",") for ln in lines[header + 1 :]], columns=lines[header].split(","))
    probs = table["probability"].astype(float)
    assert probs.between(0, 1).all() and probs.is_monotonic_decreasing
    ged = pd.read_csv(FIXTURE)
    history = set(ged.loc[ged["date_start"] <= "2014-01-31", "priogrid_gid"])
    assert history <= set(table["cell_id"].astype(int))
    code, out = _cli(
        [
            "risk",
            "hotspots",
            "--events",
            str(FIXTURE),
            "--until",
            "2014-01-31",
            "--horizon-days",
            "7",
            "--grid",
            "h3:4",
            "--format",
            "json",
        ]
    )
    assert code == 0, out
    rows = json.loads(out[out.index("[") :])
    assert set(rows[0]) == {"cell_id", "latitude", "longitude", "probability", "expected_events"}
    assert isinstance(rows[0]["cell_id"], str) and len(rows[0]["cell_id"]) == 15


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--until", "2014-01-31", "--horizon-days", "0"], "horizon must be a whole number of days >= 1"),
        (["--until", "2001-01-01", "--horizon-days", "7"], "No events on or before 2001-01-01"),
        (["--until", "31/01/2014", "--horizon-days", "7"], "Cannot read the date '31/01/2014'"),
        (["--until", "2014-01-31", "--horizon-days", "7", "--grid", "hex"], "Unknown grid 'hex'"),
    ],
)
def test_cli_hotspots_bad_input(
    args: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kalkan.cli import main

    monkeypatch.setattr(sys, "argv", ["kalkan", "risk", "hotspots", "--events", str(FIXTURE), *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert message in err and "Traceback" not in err


def test_cli_backtest_writes_scores(tmp_path: Path) -> None:
    code, out = _cli(
        [
            "risk",
            "backtest",
            "--events",
            str(FIXTURE),
            "--start",
            "2014-01",
            "--select-until",
            "2014-01",
            "--end",
            "2014-02",
            "--model",
            "mean12",
            "--baselines",
            "last,zero",
            "--scheduler",
            "serial",
            "--boot",
            "5",
            "--format",
            "csv",
            "--output",
            str(tmp_path),
        ]
    )
    assert code == 0, out
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert set(scores["model"]) == {"mean12", "last", "zero"} and set(scores["group"]) == {"CAF", "pooled"}
    assert "brier" in out.splitlines()[0].split(",")
    assert set(pd.read_csv(tmp_path / "selection_scores.csv")["model"]) == {"mean12", "last", "zero"}
    cells = pd.read_parquet(tmp_path / "cells.parquet")
    assert set(cells["month"]) == {"2014-01", "2014-02"}
    selection = json.loads((tmp_path / "selection.json").read_text())
    assert selection["winner"] == "mean12" and set(selection["verdicts"]) == {"CAF", "pooled"}


def test_cli_backtest_rejects_model_and_models() -> None:
    code, out = _cli(["risk", "backtest", "--events", str(FIXTURE), "--model", "boost", "--models", "hawkes"])
    assert code != 0


def test_every_hotspot_option_is_documented() -> None:
    import click
    import typer

    from kalkan.cli import _register_all, app

    _register_all()
    docs = (Path(__file__).resolve().parents[2] / "docs" / "risk-hotspots.md").read_text()
    risk = typer.main.get_command(app).commands["risk"]  # type: ignore[attr-defined]
    for name in ("hotspots", "backtest"):
        command = risk.commands[name]
        assert f"kalkan risk {name}" in docs
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.opts[0] in docs, f"{param.opts[0]} of `kalkan risk {name}` is not in the docs"


@pytest.mark.parametrize(
    "module",
    [
        "grids",
        "hotspots",
        "baselines",
        "hotspot_backtest",
        "hotspot_boost",
        "hotspot_ensemble",
        "hotspot_fatalities",
        "hotspot_selection",
    ],
)
def test_public_names_import(module: str) -> None:
    import importlib

    mod = importlib.import_module(f"kalkan.risk.{module}")
    names = getattr(mod, "__all__", [])
    assert names and names == sorted(names)
    for name in names:
        assert hasattr(mod, name), f"kalkan.risk.{module}.{name} is in __all__ but not defined"


def test_backtested_skill_is_shipped_or_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    import kalkan.risk.hotspot_backtest as hb

    monkeypatch.setattr(hb, "SKILL_FILE", "no_such_file.csv")
    with pytest.raises(InputError, match="run `.venv/bin/python bench/hotspots.py`"):
        hb.backtested_skill()


def test_shipped_skill_table_covers_every_country_and_model() -> None:
    from kalkan.risk.hotspot_backtest import backtested_skill
    from kalkan.risk.hotspot_selection import BASELINES, shipped_selection

    skill = backtested_skill()
    assert {"CAF", "MEX", "MMR", "SYR", "pooled"} <= set(skill["group"])
    try:
        winner = shipped_selection()["winner"]
    except InputError:  # the table of the backtest before the selection protocol
        winner = "hawkes"
    assert {winner, *BASELINES} <= set(skill["model"])
    assert skill["brier"].between(0, 1).all() and (skill["brier_low"] <= skill["brier_high"]).all()
