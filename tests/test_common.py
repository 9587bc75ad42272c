"""The shared contract of every public model and problem class (kalkan._base), as scikit-learn's
common tests check every estimator.

Each class joins by adding a :class:`Case` to ``CASES`` (a small valid instance and the call that
fits or solves it). ``test_every_public_model_and_problem_is_covered`` finds every public class with
``fit`` or ``solve`` in the package and fails for one that has no case, unless it is still listed in
``PENDING`` (classes whose area has not adopted kalkan._base yet; the list only shrinks).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

import kalkan
from kalkan._base import Params, check_is_fitted, integer, real
from kalkan.errors import InputError, NotFittedError, NotSolvedError


@dataclass
class Case:
    """One class under the contract: how to build a valid instance and how to fit or solve it."""

    cls: type
    params: Callable[[], dict[str, Any]]  # keyword arguments of a valid instance
    run: Callable[[Any], Any]  # fit(...) or solve(...); must return the instance
    kind: str  # "model", "problem" or "simulation" (run returns a run, not the instance)
    needs_run: list[Callable[[Any], Any]] = field(default_factory=list)  # calls that need fit/solve


def _coverage() -> dict[str, Any]:
    # 3 sites x 4 demand points; site 2 reaches points 2 and 3.
    A = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=float))
    return {"coverage": A, "weights": np.array([1.0, 2.0, 3.0, 4.0])}


def _solve(problem: Any) -> Any:
    return problem.solve(time_limit=5.0)


def _plan_cases() -> list[Case]:
    from kalkan.plan.capacitated import CapacitatedCovering
    from kalkan.plan.coverage import MaximalCovering, SetCovering
    from kalkan.plan.depth import ExpectedCovering

    needs = [lambda p: p.result(), lambda p: p.covered_weight, lambda p: p.covered_ids]
    return [
        Case(MaximalCovering, lambda: {**_coverage(), "p": 2}, _solve, "problem", needs),
        Case(SetCovering, _coverage, _solve, "problem", needs),
        Case(ExpectedCovering, lambda: {**_coverage(), "p": 2, "busy": 0.3}, _solve, "problem", needs),
        Case(
            CapacitatedCovering,
            lambda: {**_coverage(), "p": 2, "capacity": 5.0},
            _solve,
            "problem",
            needs,
        ),
    ]


def _events() -> Any:
    """120 located, dated events in two clusters over a year (enough for every hotspot model)."""
    import pandas as pd

    rng = np.random.default_rng(7)
    days = pd.Timestamp("2013-01-01") + pd.to_timedelta(rng.integers(0, 365, 120), unit="D")
    centre = rng.integers(0, 2, 120)
    return pd.DataFrame(
        {
            "date_start": days,
            "latitude": np.where(centre == 0, 6.2, 8.7) + rng.normal(0, 0.2, 120),
            "longitude": np.where(centre == 0, 20.3, 21.6) + rng.normal(0, 0.2, 120),
            "fatalities_best": rng.integers(0, 5, 120),
        }
    )


def _fit_events(model: Any) -> Any:
    return model.fit(_events(), until="2013-12-31")


def _hotspot_cases() -> list[Case]:
    from kalkan.risk.baselines import ConflictologyBaseline, LastValueBaseline, MeanBaseline, ZeroBaseline
    from kalkan.risk.forecaster import CellForecaster
    from kalkan.risk.hotspot_boost import BoostModel
    from kalkan.risk.hotspot_ensemble import EnsembleModel
    from kalkan.risk.hotspots import HotspotModel

    forecast = [lambda m: m.predict(30), lambda m: m.predict_cdf(30, 5)]
    window = lambda: {"n_periods": 3}  # noqa: E731
    return [
        Case(CellForecaster, dict, _fit_events, "model", [lambda m: m.period_counts(30, 2)]),
        Case(ZeroBaseline, dict, _fit_events, "model", forecast),
        Case(LastValueBaseline, dict, _fit_events, "model", forecast),
        Case(MeanBaseline, window, _fit_events, "model", forecast),
        Case(ConflictologyBaseline, window, _fit_events, "model", forecast),
        Case(HotspotModel, lambda: {"max_iter": 30}, _fit_events, "model", forecast),
        Case(BoostModel, lambda: {"train_periods": 4, "max_iter": 10}, _fit_events, "model", forecast),
        Case(
            EnsembleModel,
            lambda: {"coef": [0.5, 0.5, 0.2, 0.1], "intercept": -0.3},
            _fit_events,
            "model",
            forecast,
        ),
    ]


def _country_rows() -> tuple[Any, Any]:
    """EWP country-years 1999-2003 with a known target (the shared test fixture): 220 rows, 12 onsets."""
    from pathlib import Path

    from kalkan.risk.structural import TARGET, load_ewp_table

    table = load_ewp_table(Path(__file__).parent / "fixtures" / "ewp" / "ewp_cut_1985_2016.csv")
    rows = table[table["year"].between(1999, 2003) & table[TARGET].notna()]
    return rows, rows[TARGET].to_numpy()


def _fit_rows(model: Any) -> Any:
    return model.fit(*_country_rows())


def _country_cases() -> list[Case]:
    from kalkan.risk.structural import EWPBaseline, KalkanBoost, KalkanEnsemble

    needs = [lambda m: m.predict_proba(_country_rows()[0]), lambda m: m.contributions(_country_rows()[0][:3])]
    return [
        Case(EWPBaseline, lambda: {"n_lambdas": 10, "cv": 3}, _fit_rows, "model", needs),
        Case(KalkanBoost, lambda: {"max_iter": 20, "calibration_folds": 2}, _fit_rows, "model", needs),
        Case(KalkanEnsemble, lambda: {"cv": 3}, _fit_rows, "model", needs),
    ]


def _simulate_cases() -> list[Case]:
    import pandas as pd

    from kalkan.simulate.geo import GeoModel
    from kalkan.simulate.lattice import LatticeModel

    places = pd.DataFrame(
        {
            "place_id": ["A", "B"],
            "latitude": [40.50, 40.55],
            "longitude": [72.80, 72.85],
            "population": [2000.0, 1000.0],
            "group_share": [0.4, 0.2],
        }
    )
    return [
        # GeoModel: fit builds the model of the places; run needs it.
        Case(GeoModel, lambda: {"lethality": 0.1}, lambda m: m.fit(places), "model", [lambda m: m.run(1)]),
        # LatticeModel: nothing to fit; run checks the rules and returns a run, not the model.
        Case(LatticeModel, lambda: {"width": 20, "height": 20}, lambda m: m.run(2, seed=0), "simulation"),
    ]


#: Every class under the contract. Area owners add their classes here as they adopt kalkan._base.
CASES: list[Case] = [*_plan_cases(), *_hotspot_cases(), *_country_cases(), *_simulate_cases()]

#: Public classes with fit/solve whose area has not adopted kalkan._base yet (owner in the comment).
PENDING: set[str] = set()

MESSAGE = r"The '{name}' parameter of {cls} must be .+\. Got .+ instead\."


def _ids(cases: list[Case]) -> list[str]:
    return [c.cls.__name__ for c in cases]


def _public_classes_with_fit_or_solve() -> set[str]:
    """Dotted names of public classes defined in kalkan (not in private modules) with fit or solve."""
    found: set[str] = set()
    for info in pkgutil.walk_packages(kalkan.__path__, "kalkan."):
        if any(part.startswith("_") for part in info.name.split(".")) or ".register" in info.name:
            continue  # private modules; the register has no models or problems
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and not inspect.isabstract(obj)  # a base that cannot fit by itself (CountryModel)
                and not name.startswith("_")
                and obj.__module__ == module.__name__
                and any(hasattr(obj, m) for m in ("fit", "solve", "run"))
                and info.name != "kalkan.store"  # the store's import job is not a model
            ):
                found.add(f"{obj.__module__}.{name}")
    return found


def test_every_public_model_and_problem_is_covered() -> None:
    covered = {f"{c.cls.__module__}.{c.cls.__name__}" for c in CASES}
    missing = _public_classes_with_fit_or_solve() - covered - PENDING
    assert not missing, f"add a Case to tests/test_common.py for: {sorted(missing)}"
    assert not covered & PENDING, f"remove from PENDING (they have a case): {sorted(covered & PENDING)}"


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_uses_the_shared_base(case: Case) -> None:
    assert issubclass(case.cls, Params)


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_get_params_is_read_from_the_signature(case: Case) -> None:
    params = case.params()
    obj = case.cls(**params)
    names = [
        p.name
        for p in inspect.signature(case.cls.__init__).parameters.values()
        if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    got = obj.get_params()
    assert list(got) == names
    for name in case.cls._parameter_constraints:
        assert name in got, f"{name} has a rule but is not a parameter of __init__"
    # Settings are stored as given (scalars), so a clone from get_params() is the same problem/model.
    for name, value in params.items():
        if np.isscalar(value):
            assert got[name] == value


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_set_params_round_trips_and_names_unknown_settings(case: Case) -> None:
    obj = case.cls(**case.params())
    assert obj.set_params(**obj.get_params()) is obj
    with pytest.raises(InputError, match="has no parameter 'no_such_setting'"):
        obj.set_params(no_such_setting=1)


RULED = [c for c in CASES if c.cls._parameter_constraints]


@pytest.mark.parametrize("case", RULED, ids=_ids(RULED))
def test_rules_are_checked_by_fit_or_solve_not_init(case: Case) -> None:
    for name in case.cls._parameter_constraints:
        params = {**case.params(), name: "not a valid value"}
        obj = case.cls(**params)  # __init__ only stores
        with pytest.raises(InputError, match=MESSAGE.format(name=name, cls=case.cls.__name__)):
            case.run(obj)


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_methods_before_fit_or_solve_say_which_to_call(case: Case) -> None:
    obj = case.cls(**case.params())
    error, word = (NotFittedError, "fit") if case.kind == "model" else (NotSolvedError, "solve")
    for call in case.needs_run:
        with pytest.raises(error, match=word):
            call(obj)


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_fit_or_solve_returns_self_and_fills_results(case: Case) -> None:
    obj = case.cls(**case.params())
    result = case.run(obj)
    assert result is not obj if case.kind == "simulation" else result is obj
    for call in case.needs_run:
        call(obj)  # no longer raises
    if case.kind == "problem":
        assert obj.status in ("optimal", "time_limit", "heuristic")
        assert np.isfinite(obj.objective) and np.isfinite(obj.bound)
        assert 0.0 <= obj.gap <= 1.0
        assert obj.seconds >= 0.0


PROBLEMS = [c for c in CASES if c.kind == "problem"]


@pytest.mark.parametrize("case", PROBLEMS, ids=_ids(PROBLEMS))
def test_alternate_constructors_build_the_class_they_are_called_on(case: Case) -> None:
    params = case.params()
    cost = np.where(params.pop("coverage").toarray().T > 0, 1.0, 5.0)  # demand x sites
    weights = params.pop("weights")
    problem = case.cls.from_cost_matrix(cost, weights, max_cost=2.0, **params)
    assert type(problem) is case.cls
    assert (problem.coverage != _coverage()["coverage"]).nnz == 0


# ------------------------------------------------------------------ the base itself
class _Toy(Params):
    _parameter_constraints = {"bandwidth": real(0), "n": integer(1)}

    def __init__(self, *, bandwidth: float = 1.0, n: int = 3) -> None:
        self.bandwidth = bandwidth
        self.n = n

    def fit(self) -> _Toy:
        self._validate_params()
        self.fitted_ = True
        return self

    def predict(self) -> bool:
        check_is_fitted(self, method="predict")
        return True


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"bandwidth": -1}, "The 'bandwidth' parameter of _Toy must be a float > 0. Got -1 instead."),
        ({"bandwidth": True}, "The 'bandwidth' parameter of _Toy must be a float > 0. Got True instead."),
        ({"bandwidth": np.nan}, "The 'bandwidth' parameter of _Toy must be a float > 0. Got nan instead."),
        ({"n": 0}, "The 'n' parameter of _Toy must be an int >= 1. Got 0 instead."),
        ({"n": 2.0}, "The 'n' parameter of _Toy must be an int >= 1. Got 2.0 instead."),
    ],
)
def test_one_message_shape(params: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        _Toy(**params).fit()


def test_fitted_check_names_fit_and_the_method() -> None:
    toy = _Toy()
    with pytest.raises(NotFittedError, match=r"not fitted yet: call 'fit' .* before 'predict'"):
        toy.predict()
    assert toy.fit().predict()


def test_py_typed_is_shipped() -> None:
    """PEP 561: the package says it is typed, and the wheel's package data includes the marker."""
    from importlib.resources import files
    from pathlib import Path

    assert files("kalkan").joinpath("py.typed").is_file()
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert '"py.typed"' in pyproject
