"""The selection protocol (no look-ahead), the ensemble, fatality forecasts and the default-model note."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kalkan.errors import InputError
from kalkan.ingest import read_events
from kalkan.risk.baselines import ConflictologyBaseline, LastValueBaseline, ZeroBaseline
from kalkan.risk.hotspot_backtest import make_model
from kalkan.risk.hotspot_ensemble import EnsembleModel, fit_stack
from kalkan.risk.hotspot_fatalities import fatality_samples, fatality_scores, sample_counts
from kalkan.risk.hotspot_selection import (
    Protocol,
    ProtocolResult,
    hotspot_forecast,
    run_protocol,
    selected_model,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ged" / "ged_caf_2013-09_2014-02.csv"
SMALL = Protocol(start="2013-12", select_until="2014-01", end="2014-02", burn_in_months=2, refit_months=1)


@pytest.fixture(scope="module")
def caf() -> pd.DataFrame:
    return read_events(FIXTURE).events


class _Steps:
    """A StagedProgress that records what the protocol reports: (stage, done, total) per call."""

    def __init__(self) -> None:
        self.stage = ""
        self.calls: list[tuple[str, int, int]] = []

    def __call__(self, done: int, total: int, /) -> None:
        self.calls.append((self.stage, done, total))

    def describe(self, label: str, /) -> None:
        self.stage = label


STEPS = _Steps()


@pytest.fixture(scope="module")
def protocol_run(caf: pd.DataFrame) -> ProtocolResult:
    return run_protocol(
        caf,
        SMALL,
        candidates=["hawkes", "boost", "ensemble"],
        baselines=["zero", "mean12", "conflictology"],
        n_boot=20,
        progress=STEPS,
    )


def test_protocol_progress_is_absolute_and_names_each_stage(protocol_run: ProtocolResult) -> None:
    stages = list(dict.fromkeys(stage for stage, _, _ in STEPS.calls))
    assert stages == ["burn-in", "selection", "held-out"]
    for stage in stages:
        counts = [(done, total) for s, done, total in STEPS.calls if s == stage]
        assert all(0 < done <= total for done, total in counts)
        assert [done for done, _ in counts] == sorted(done for done, _ in counts)
        assert counts[-1][0] == counts[-1][1]  # the stage ends with every fold done


def test_sample_counts_inverts_the_cdf() -> None:
    cdf = np.array([[0.5, 0.8, 1.0], [0.0, 0.0, 0.9]])
    u = np.array([[0.1, 0.5, 0.6, 0.95], [0.1, 0.5, 0.9, 0.95]])
    # row 0: P(0)=0.5, P(1)=0.3, P(2)=0.2; row 1: P(2)=0.9, the rest beyond 2 goes to 2
    np.testing.assert_array_equal(sample_counts(cdf, u), [[0, 0, 1, 2], [2, 2, 2, 2]])


def test_fatality_scores_by_hand() -> None:
    # a point forecast x: CRPS = |x - y|; all draws in the observed bin: log score = -log(0.99 + 0.01/11)
    samples = np.array([[3.0] * 4, [0.0] * 4])
    crps, logs = fatality_scores(samples, np.array([5.0, 0.0]))
    np.testing.assert_allclose(crps, [2.0, 0.0])
    inside = -np.log(0.99 + 0.01 / 11)
    np.testing.assert_allclose(logs, [inside, inside])  # 3 and 5 share the bin 3-5
    _, miss = fatality_scores(np.array([[0.0] * 4]), np.array([30.0]))
    np.testing.assert_allclose(miss, [-np.log(0.01 / 11)])


def test_baselines_forecast_deaths_from_the_periods(caf: pd.DataFrame) -> None:
    until, h = "2014-01-31", 31
    last = LastValueBaseline().fit(caf, until=until)
    dates = caf["date_start"].dt.normalize()
    jan = caf[(dates >= "2014-01-01") & (dates <= until)]
    assert last.fatality_samples(h, n_samples=12)[:, 0].sum() == pytest.approx(jan["fatalities_best"].sum())
    conf = ConflictologyBaseline(n_periods=3).fit(caf, until=until)
    draws = conf.fatality_samples(h, n_samples=12)
    periods = conf.period_counts(h, 3, deaths=True)
    np.testing.assert_allclose(np.sort(draws, axis=1), np.sort(np.repeat(periods, 4, axis=1), axis=1))
    assert not ZeroBaseline().fit(caf, until=until).fatality_samples(h).any()


def test_fatality_draws_repeat_with_a_seed_and_use_no_later_deaths(caf: pd.DataFrame) -> None:
    model = make_model("hawkes", "priogrid").fit(caf, until="2013-12-31")
    a = fatality_samples(model, caf, 31, seed=7)
    b = fatality_samples(model, caf, 31, seed=7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, fatality_samples(model, caf, 31, seed=8))
    later = caf["date_start"] > "2013-12-31"
    changed = caf.assign(fatalities_best=np.where(later, 10_000, caf["fatalities_best"]))
    np.testing.assert_array_equal(a, fatality_samples(model, changed, 31, seed=7))
    assert a.max() < 10_000


@pytest.mark.slow
def test_protocol_chooses_on_the_selection_block(protocol_run: ProtocolResult) -> None:
    r = protocol_run
    pooled = r.selection_scores[r.selection_scores["group"] == "pooled"]
    candidates = pooled[pooled["model"].isin(["hawkes", "boost", "ensemble"])]
    assert r.winner == candidates.sort_values("brier").iloc[0]["model"]
    held = r.held_out_scores
    assert set(held["model"]) == {r.winner, "zero", "mean12", "conflictology"}
    assert (held["folds"] == 1).all()  # only 2014-02 is held out
    for col in ("brier", "crps_deaths", "logs_deaths", "pai_0.05"):
        assert held[col].notna().all()
    assert set(r.verdicts["group"]) == {"CAF", "pooled"}


@pytest.mark.slow
def test_ensemble_weights_see_only_earlier_folds(protocol_run: ProtocolResult) -> None:
    r = protocol_run
    cells = r.cells
    for anchor in ("2014-01", "2014-02"):
        earlier = cells[pd.PeriodIndex(cells["month"], freq="M") < pd.Period(anchor, "M")]
        coef, intercept = fit_stack(earlier)
        np.testing.assert_allclose(r.weights[anchor][0], coef)
        assert r.weights[anchor][1] == pytest.approx(intercept)


def test_protocol_choice_ignores_the_held_out_block(caf: pd.DataFrame) -> None:
    feb = caf["date_start"] >= "2014-02-01"
    shifted = caf.copy()
    shifted.loc[feb, "latitude"] = shifted.loc[feb, "latitude"] + 1.0  # the held-out month moves
    runs = [
        run_protocol(
            frame, SMALL, candidates=["last", "mean6"], baselines=["zero", "conflictology"], n_boot=20
        )
        for frame in (caf, shifted)
    ]
    assert runs[0].winner == runs[1].winner
    pd.testing.assert_frame_equal(runs[0].selection_scores, runs[1].selection_scores)
    assert not runs[0].held_out_scores["brier"].equals(runs[1].held_out_scores["brier"])


def test_ensemble_is_a_calibrated_hurdle(caf: pd.DataFrame) -> None:
    model = EnsembleModel(coef=[0.5, 0.5, 0.2, 0.1], intercept=-0.3).fit(caf, until="2014-01-31")
    fc = model.predict(28)
    cdf = model.predict_cdf(28, 400)
    np.testing.assert_allclose(cdf[:, 0], 1 - fc["probability"], atol=1e-9)
    np.testing.assert_allclose((1 - cdf).sum(axis=1), fc["expected_events"], rtol=1e-3, atol=1e-6)
    with pytest.raises(InputError, match="'coef' parameter of EnsembleModel must be 4 finite numbers"):
        EnsembleModel(coef=[1.0], intercept=0.0).fit(caf)
    with pytest.raises(InputError, match="must be fitted on folds before"):
        from kalkan.risk.hotspot_backtest import backtest

        backtest(caf, models=["ensemble"], start="2014-02", end="2014-02")


def _ship(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, beats: bool) -> None:
    import kalkan.risk.hotspot_selection as hs

    data = {
        "protocol": {"start": "2012-01", "select_until": "2014-12", "end": "2019-12"},
        "winner": "boost",
        "baselines": ["zero", "conflictology"],
        "verdicts": {
            "CAF": {"best_baseline": "conflictology", "beats_baseline": beats},
            "pooled": {"best_baseline": "conflictology", "beats_baseline": True},
        },
        "held_out_scores": [
            {"group": "CAF", "model": "boost", "brier": 0.09},
            {"group": "CAF", "model": "conflictology", "brier": 0.1},
            {"group": "CAF", "model": "zero", "brier": 0.2},
        ],
        "ensemble": None,
    }
    path = tmp_path / "selection.json"
    path.write_text(json.dumps(data))
    monkeypatch.setattr(hs, "_package_file", lambda: path)


def test_default_model_and_the_baseline_note(
    caf: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kalkan.risk.hotspot_selection as hs

    _ship(tmp_path, monkeypatch, beats=True)
    sel = selected_model("CAF")
    assert (sel.model, sel.note) == ("boost", None)
    fc = hotspot_forecast(caf, until="2014-01-31", horizon_days=28, country="CAF")
    assert fc.model == "boost" and fc.note is None and "10% better" in fc.skill
    assert "not been tested" in str(selected_model("KGZ").note)
    monkeypatch.setattr(hs, "_package_file", lambda: tmp_path / "missing.json")
    assert selected_model("CAF").model == "hawkes" and "not been run" in str(selected_model("CAF").note)
    monkeypatch.setattr(hs, "_package_file", lambda: tmp_path / "selection.json")
    _ship(tmp_path, monkeypatch, beats=False)
    fc = hotspot_forecast(caf, until="2014-01-31", horizon_days=28, country="CAF")
    assert (fc.model, fc.chosen) == ("conflictology", "boost")
    assert "no forecast model did better than the simple 'conflictology' baseline" in str(fc.note)
    expected = ConflictologyBaseline().fit(caf, until="2014-01-31").predict(28)
    pd.testing.assert_frame_equal(fc.table, expected)
