"""Siting for depth (maximum expected covering): exact against brute force, valid bounds, the CLI."""

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kalkan.cli import _register_all, app
from kalkan.errors import InputError, KalkanError, OptionError
from kalkan.plan import ExpectedCovering, MaximalCovering, parse_options, plan_option

pytestmark = pytest.mark.filterwarnings("ignore::kalkan.plan.coverage.UnreachableDemandWarning")


def _expected(A: np.ndarray, w: np.ndarray, q: float, subset: tuple[int, ...]) -> float:
    """sum_i w_i (1 - q^depth_i), written out the slow way."""
    total = 0.0
    for i in range(A.shape[1]):
        depth = sum(int(A[j, i]) for j in subset)
        total += w[i] * (1 - q**depth)
    return total


def _instance(seed: int) -> tuple[np.ndarray, np.ndarray, float, int]:
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(3, 8)), int(rng.integers(4, 14))
    A = (rng.random((m, n)) < 0.4).astype(float)
    return A, rng.random(n) * 10, float(rng.uniform(0, 0.9)), int(rng.integers(1, m + 1))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_exact_equals_brute_force_and_greedy_bound_is_valid(seed: int) -> None:
    A, w, q, p = _instance(seed)
    best = max(_expected(A, w, q, c) for c in itertools.combinations(range(A.shape[0]), p))
    exact = ExpectedCovering(sp.csr_matrix(A), w, p=p, busy=q).solve(method="exact")
    assert exact.status == "optimal"
    assert exact.objective == pytest.approx(best, rel=1e-7, abs=1e-9)
    assert exact.objective == pytest.approx(_expected(A, w, q, tuple(exact.selected_index)), abs=1e-9)
    greedy = ExpectedCovering(sp.csr_matrix(A), w, p=p, busy=q).solve(method="heuristic")
    assert greedy.objective <= best + 1e-9 <= greedy.bound + 2e-9  # the bound never cuts the optimum
    assert greedy.objective >= (1 - 1 / np.e) * best - 1e-9  # Nemhauser-Wolsey-Fisher guarantee
    assert 0 <= greedy.gap <= 1


def test_busy_zero_is_maximal_covering() -> None:
    A, w, _, p = _instance(7)
    depth = ExpectedCovering(sp.csr_matrix(A), w, p=p, busy=0.0).solve(method="exact")
    reach = MaximalCovering(sp.csr_matrix(A), w, p=p).solve(method="exact")
    assert depth.objective == pytest.approx(reach.objective)


def test_depth_gathers_posts_where_the_weight_is() -> None:
    """One heavy town with three candidate posts, and three light villages with one each.

    With two posts, reach takes the town and one village; depth (q = 0.5) takes two posts in the town
    because a second post there (100 x 0.5 x 0.5 = 25) is worth more than a village (10 x 0.5 = 5).
    """
    # sites 0-2 reach the town (point 0); sites 3-5 reach one village each (points 1-3).
    A = np.zeros((6, 4))
    A[0:3, 0] = 1
    A[3, 1] = A[4, 2] = A[5, 3] = 1
    w = np.array([100.0, 10.0, 10.0, 10.0])
    reach = MaximalCovering(sp.csr_matrix(A), w, p=2).solve(method="exact")
    depth = ExpectedCovering(sp.csr_matrix(A), w, p=2, busy=0.5).solve(method="exact")
    assert reach.covered_weight == 110
    assert depth.depth[0] == 2 and depth.covered_weight == 100
    assert depth.objective == pytest.approx(100 * 0.75)
    result = depth.result()
    assert result["model"] == "mexclp" and result["busy"] == 0.5
    assert result["expected_share"] == pytest.approx(75 / 130)
    assert result["mean_depth"] == pytest.approx(200 / 130)


@pytest.mark.parametrize("busy", [-0.1, 1.0, 2, "half", float("nan")])
def test_bad_busy_is_refused(busy: object) -> None:
    # Parameter rules are checked by solve (kalkan._base), not by __init__.
    problem = ExpectedCovering(sp.csr_matrix(np.eye(2)), [1.0, 1.0], p=1, busy=busy)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="The 'busy' parameter of ExpectedCovering must be a float in"):
        problem.solve()


def _towns() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(40)],
            "name": [f"place {i}" for i in range(40)],
            "latitude": 40.4 + 0.6 * rng.random(40),
            "longitude": 72.6 + 0.8 * rng.random(40),
            "weight": np.r_[rng.integers(2_000, 5_000, 5), rng.integers(10, 300, 35)].astype(float),
        }
    )


def test_plan_option_depth_reports_expected_share_and_gap() -> None:
    demand = _towns()
    option = parse_options("police:100")[0]
    reach = plan_option(demand, option, response_minutes=20, time_limit=5)
    depth = plan_option(demand, option, response_minutes=20, time_limit=5, siting="depth")
    assert reach.extra["siting"] == "reach" and depth.extra["siting"] == "depth"
    assert depth.summary()["siting"] == "depth"
    assert 0 < depth.extra["expected_share"] <= depth.covered_share <= reach.covered_share + 1e-12
    assert depth.status in {"optimal", "time_limit", "heuristic"} and 0 <= depth.gap < 1
    with pytest.raises(OptionError, match="siting must be 'reach'"):
        plan_option(demand, option, siting="deep")


def test_cli_coverage_with_busy(tmp_path: Path) -> None:
    _register_all()
    demand = _towns()
    demand.to_csv(tmp_path / "demand.csv", index=False)
    demand[["id", "latitude", "longitude"]].to_csv(tmp_path / "sites.csv", index=False)
    files = ["--demand", str(tmp_path / "demand.csv"), "--sites", str(tmp_path / "sites.csv")]
    common = ["plan", "coverage", *files, "--response-minutes", "20", "--posts", "6", "--format", "json"]
    result = CliRunner().invoke(app, [*common, "--busy", "0.5"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["model"] == "mexclp" and out["busy"] == 0.5 and out["n_selected"] == 6
    assert out["objective"] <= out["bound"] + 1e-9
    bad = CliRunner().invoke(app, [*common, "--busy", "0.5", "--capacity", "500"])
    assert isinstance(bad.exception, KalkanError) and "--busy needs --posts" in str(bad.exception)
