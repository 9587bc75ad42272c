"""Rolling-origin backtest of the country models: no look-ahead, scores against slow references,
bootstrap intervals, EWP's onset catch, reliability, the comparison with published forecasts, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from kalkan.errors import InputError
from kalkan.risk.country_backtest import (
    _auc_rows,
    backtest_forecasts,
    compare_published,
    onset_catch,
    paired_differences,
    reliability_chart,
    reliability_table,
    score_forecasts,
    year_blocks,
)
from kalkan.risk.structural import EWPBaseline, KalkanBoost, country_risk, load_ewp_table

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ewp"


@pytest.fixture(scope="module")
def ewp_table() -> pd.DataFrame:
    return load_ewp_table(FIXTURES / "ewp_cut_1985_2016.csv")


FAST = {
    "ewp": lambda seed: EWPBaseline(n_lambdas=20, lambda_min_ratio=1e-3, cv=3, seed=seed),
    "boost": lambda seed: KalkanBoost(max_iter=20, calibration_folds=2, seed=seed),
}


@pytest.fixture(scope="module")
def forecasts(ewp_table: pd.DataFrame) -> pd.DataFrame:
    return backtest_forecasts(ewp_table, FAST, first_year=2006, last_year=2009)


@pytest.mark.parametrize(
    ("first", "last", "blocks"),
    [
        # EWP's development period: four blocks, the last absorbs the single year 2014
        (1994, 2014, [(1994, 1998), (1999, 2003), (2004, 2008), (2009, 2014)]),
        # an exact multiple of five
        (2000, 2009, [(2000, 2004), (2005, 2009)]),
        # shorter than one block
        (2010, 2012, [(2010, 2012)]),
    ],
)
def test_year_blocks(first: int, last: int, blocks: list[tuple[int, int]]) -> None:
    assert year_blocks(first, last) == blocks


def test_each_fold_sees_only_what_was_known(ewp_table: pd.DataFrame, forecasts: pd.DataFrame) -> None:
    # the backtest's forecast for year Y equals a fresh fit on the table cut at year Y
    for year in (2006, 2009):
        cut = ewp_table[ewp_table["year"] <= year]
        for label, factory in FAST.items():
            fresh = country_risk(cut, year, factory(0)).set_index("country")["probability"]
            got = forecasts[(forecasts["model"] == label) & (forecasts["forecast_year"] == year)]
            np.testing.assert_allclose(
                got.set_index("country")["probability"].loc[fresh.index], fresh, rtol=1e-12
            )


def test_forecast_table_shape(forecasts: pd.DataFrame, ewp_table: pd.DataFrame) -> None:
    assert set(forecasts["model"]) == {"ewp", "boost"}
    assert sorted(forecasts["forecast_year"].unique()) == [2006, 2007, 2008, 2009]
    per_year = ewp_table[ewp_table["year"].between(2006, 2009)].groupby("year").size()
    boost = forecasts[forecasts["model"] == "boost"].groupby("forecast_year").size()
    assert (boost.to_numpy() == per_year.to_numpy()).all()  # kalkan's rule forecasts every row
    assert forecasts.groupby(["model", "forecast_year"])["rank"].min().eq(1).all()


def test_auc_rows_matches_sklearn() -> None:
    rng = np.random.default_rng(3)
    p = np.round(rng.random((5, 200)), 2)  # rounded: ties must count one half, as in sklearn
    y = (rng.random((5, 200)) < 0.2).astype(float)
    expected = [roc_auc_score(y[i], p[i]) for i in range(5)]
    np.testing.assert_allclose(_auc_rows(p, y), expected, rtol=1e-12)


def hand_forecasts() -> pd.DataFrame:
    """One model, two years, ten countries each; onsets ranked 1, 12 and 35."""
    rows = []
    for year, onset_ranks in ((2000, (1, 12)), (2001, (35,))):
        for rank in range(1, 41):
            rows.append(
                {
                    "model": "m",
                    "forecast_year": year,
                    "country": f"C{rank}",
                    "country_code": rank,
                    "probability": 1.0 / (rank + 1),
                    "rank": rank,
                    "outcome": float(rank in onset_ranks),
                }
            )
    return pd.DataFrame(rows)


def test_scores_match_references_on_hand_built_forecasts() -> None:
    frame = hand_forecasts()
    scores = score_forecasts(frame, n_boot=200, seed=1).set_index("block")
    total = scores.loc["all"]
    assert total["n"] == 80 and total["onsets"] == 3
    assert total["recall_top30"] == pytest.approx(2 / 3)
    assert total["recall_top10"] == pytest.approx(1 / 3)
    assert total["auc"] == pytest.approx(roc_auc_score(frame["outcome"], frame["probability"]))
    assert total["brier"] == pytest.approx(brier_score_loss(frame["outcome"], frame["probability"]))
    assert total["log_loss"] == pytest.approx(log_loss(frame["outcome"], frame["probability"]))
    for metric in ("auc", "brier", "recall_top30"):
        assert total[f"{metric}_low"] <= total[metric] <= total[f"{metric}_high"]


def test_bootstrap_is_seeded() -> None:
    a = score_forecasts(hand_forecasts(), n_boot=100, seed=5)
    b = score_forecasts(hand_forecasts(), n_boot=100, seed=5)
    c = score_forecasts(hand_forecasts(), n_boot=100, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not a["auc_low"].equals(c["auc_low"])


def test_common_rows_compare_like_for_like(forecasts: pd.DataFrame) -> None:
    # drop one country-year from one model: with common=True both models lose it
    before = score_forecasts(forecasts, n_boot=10, common=False).set_index(["model", "block"])["n"]
    dropped = forecasts.drop(forecasts[(forecasts["model"] == "ewp")].index[:1])
    scores = score_forecasts(dropped, n_boot=10).set_index(["model", "block"])
    assert scores.loc[("ewp", "all"), "n"] == scores.loc[("boost", "all"), "n"]
    alone = score_forecasts(dropped, n_boot=10, common=False).set_index(["model", "block"])["n"]
    assert alone.loc[("ewp", "all")] == before.loc[("ewp", "all")] - 1
    assert alone.loc[("boost", "all")] == before.loc[("boost", "all")]


def test_score_rejects_bad_input() -> None:
    with pytest.raises(InputError, match="n_boot must be at least 1"):
        score_forecasts(hand_forecasts(), n_boot=0)
    unknown = hand_forecasts().assign(outcome=np.nan)
    with pytest.raises(InputError, match="No forecast has a known outcome"):
        score_forecasts(unknown)


def test_paired_differences_match_the_separate_scores(forecasts: pd.DataFrame) -> None:
    diffs = paired_differences(forecasts, n_boot=200, seed=3).set_index(["model", "block", "metric"])
    scores = score_forecasts(forecasts, n_boot=10).set_index(["model", "block"])
    assert set(diffs.index.get_level_values("model")) == {"boost"}
    for block in scores.loc["ewp"].index:
        for metric in ("auc", "brier", "log_loss", "recall_top30", "recall_top10"):
            row = diffs.loc[("boost", block, metric)]
            expected = scores.loc[("boost", block), metric] - scores.loc[("ewp", block), metric]
            assert row["difference"] == pytest.approx(expected)
            assert row["low"] <= row["high"]
            assert 0.0 <= row["share_better"] <= 1.0


def test_paired_differences_of_a_copy_are_zero() -> None:
    # the same forecasts under two names: every resample scores them alike, so every difference is 0;
    # "at least as good" holds in every resample (AUC, recall), "strictly better" in none (Brier)
    frame = hand_forecasts()
    both = pd.concat([frame.assign(model="ewp"), frame.assign(model="twin")], ignore_index=True)
    diffs = paired_differences(both, n_boot=50, seed=0).set_index(["block", "metric"])
    assert (diffs["difference"] == 0).all() and (diffs["low"] == 0).all() and (diffs["high"] == 0).all()
    assert diffs.loc[("all", "auc"), "share_better"] == 1.0
    assert diffs.loc[("all", "brier"), "share_better"] == 0.0
    # a model that is better on every onset row is better in every resample with an onset
    sharper = frame.assign(model="sharper")
    sharper.loc[sharper["outcome"] == 1, "probability"] = 0.99
    better = paired_differences(pd.concat([frame.assign(model="ewp"), sharper]), n_boot=50, seed=0)
    brier = better.set_index(["block", "metric"]).loc[("all", "brier")]
    assert brier["difference"] < 0 and brier["high"] <= 0


def test_paired_differences_reject_a_missing_baseline(forecasts: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="baseline 'glmnet' is not among the forecast models"):
        paired_differences(forecasts, baseline="glmnet")
    with pytest.raises(InputError, match="n_boot must be at least 1"):
        paired_differences(forecasts, n_boot=0)


def test_onset_catch_counts_the_two_prior_forecasts() -> None:
    table = pd.read_csv(FIXTURES / "ewp_cut_1985_2016.csv")
    onset = table[(table["mk_onset"] == 1) & table["year"].between(2003, 2010)].iloc[0]
    country, year = onset["ewp_name"], int(onset["year"])
    rows = []
    for forecast_year, rank in ((year - 2, 45), (year - 1, 29)):
        rows.append(
            {
                "model": "m",
                "forecast_year": forecast_year,
                "country": country,
                "country_code": 0,
                "probability": 0.1,
                "rank": rank,
                "outcome": 1.0,
            }
        )
    frame = pd.DataFrame(rows)
    caught = onset_catch(frame, table).iloc[0]
    assert caught["caught"] >= 1
    frame.loc[1, "rank"] = 31  # neither prior forecast in the top 30 now
    assert onset_catch(frame, table).iloc[0]["caught"] == caught["caught"] - 1


def test_reliability_table_and_chart(forecasts: pd.DataFrame, tmp_path: Path) -> None:
    table = reliability_table(forecasts)
    assert set(table["model"]) == {"ewp", "boost"}
    n_common = score_forecasts(forecasts, n_boot=5).query("block == 'all'")["n"].iloc[0]
    assert (table.groupby("model")["n"].sum() == n_common).all()
    assert (table["observed_low"] <= table["observed"]).all() and (
        table["observed"] <= table["observed_high"]
    ).all()
    with pytest.raises(InputError, match="increasing edges"):
        reliability_table(forecasts, bins=(0.5, 0.2))
    blocks = reliability_table(forecasts, by_block=True, block_years=2)
    assert set(blocks["block"]) == {"2006-2007", "2008-2009"}
    assert (blocks.groupby("model")["n"].sum() == table.groupby("model")["n"].sum()).all()
    path = reliability_chart(table, tmp_path / "rel.png")
    assert path.stat().st_size > 1000


def test_compare_published_matches_names_and_aliases() -> None:
    published = pd.read_csv(FIXTURES / "ewp_published_2016based_top40.csv")
    ours = published[["country", "risk_2yr"]].rename(columns={"risk_2yr": "probability"})
    ours["country"] = ours["country"].replace({"Swaziland": "Eswatini"})
    ours["rank"] = ours["probability"].rank(ascending=False, method="min").astype(int)
    merged, summary = compare_published(ours, published)
    assert summary["matched"] == len(published)
    assert summary["spearman"] == pytest.approx(1.0)
    assert summary["top30_overlap"] == int((published["rank_2yr"] <= 30).sum())


def test_unknown_model_and_years_fail_early(ewp_table: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="Unknown country model 'forest'"):
        backtest_forecasts(ewp_table, ["forest"])
    with pytest.raises(InputError, match="forecast years have no rows"):
        backtest_forecasts(ewp_table, ["ewp"], first_year=1980, last_year=1990)


def test_cli_countries_prints_the_interface_columns() -> None:
    code = "import sys; from kalkan.cli import main; sys.argv = ['kalkan', *sys.argv[1:]]; main()"
    args = [
        "risk",
        "countries",
        "--data",
        str(FIXTURES / "ewp_cut_1985_2016.csv"),
        "--year",
        "2000",
        "--model",
        "ewp",
        "--format",
        "csv",
    ]
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[0].split(",")
    assert header[:5] == ["country", "country_code", "year", "probability", "rank"]
    body = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert (body["year"] == 2000).all() and body["rank"].min() == 1
    bad = subprocess.run(
        [sys.executable, "-c", code, *args[:-4], "--year", "2040"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2 and "Year 2040 is not in the table" in bad.stderr


def test_cli_country_backtest_writes_its_files(tmp_path: Path) -> None:
    code = "import sys; from kalkan.cli import main; sys.argv = ['kalkan', *sys.argv[1:]]; main()"
    args = [
        "risk",
        "country-backtest",
        "--data",
        str(FIXTURES / "ewp_cut_1985_2016.csv"),
        "--models",
        "ewp",
        "--first",
        "2000",
        "--last",
        "2001",
        "--boot",
        "20",
        "--out",
        str(tmp_path),
    ]
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Rolling-origin backtest 2000-2001" in result.stdout
    for name in (
        "forecasts.csv",
        "scores.csv",
        "reliability.csv",
        "reliability_by_block.csv",
        "reliability.png",
    ):
        assert (tmp_path / name).stat().st_size > 0
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert scores["block"].tolist() == ["2000-2001", "all"]


SHARED_TABLE = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "ewp" / "ewp_countryyear_1960_2016.csv"
)


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_TABLE.exists(), reason="the shared EWP table is not next to the repository")
def test_cli_countries_on_the_full_table() -> None:
    # the "done when": a ranked list for 2016 from the full EWP table, with the default (best) model
    code = "import sys; from kalkan.cli import main; sys.argv = ['kalkan', *sys.argv[1:]]; main()"
    args = ["risk", "countries", "--data", str(SHARED_TABLE), "--year", "2016", "--format", "json"]
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    ranking = pd.read_json(pd.io.common.StringIO(result.stdout))
    assert len(ranking) == 166 and ranking["rank"].min() == 1  # every country with a 2016 row
    assert ranking["probability"].is_monotonic_decreasing
