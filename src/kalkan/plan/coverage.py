"""Coverage problems as classes: maximal covering (MCLP) and location set covering (LSCP).

- :class:`MaximalCovering` (Church & ReVelle 1974): choose at most ``p`` sites to maximise the demand
  weight within reach of a chosen site.
- :class:`SetCovering` (Toregas, Swain, ReVelle & Bergman 1971): the fewest sites that reach every
  demand point some site can reach.
- :class:`CapacitatedCovering` (in :mod:`kalkan.plan.capacitated`): MCLP where a post protects at most
  a number of people.

Each problem is built by ``from_cost_matrix`` (the real work), ``from_coordinates`` (planar x/y or
latitude/longitude) or ``from_places`` (a places table with ``weight``), all delegating to
``cls(...)``. ``solve(time_limit=...)`` runs greedy, swap local search, a Lagrangian bound and (unless
``method="heuristic"``) the exact HiGHS MILP warm-started from the heuristic, and returns the problem
with its declared result attributes filled: ``selected`` (site ids), ``objective``, ``bound``, ``gap``,
``status``, ``seconds``.

Statuses: ``"optimal"`` only when proven (the bound meets the objective, by HiGHS or by the
Lagrangian bound); ``"time_limit"`` when the exact solver ran out of time; ``"heuristic"`` when the
exact solver was not asked for and the bound does not prove optimality. The gap is relative:
``(bound - objective) / bound`` for MCLP, ``(objective - bound) / objective`` for LSCP; 0 = proven.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple, Self, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from kalkan import _base
from kalkan.distance import EARTH_RADIUS_KM, to_unit_vectors
from kalkan.errors import InfeasibleError, InputError, NotSolvedError
from kalkan.plan import _solvers
from kalkan.plan._tables import places_frame, row_list
from kalkan.plan.defaults import MILP_MAX_NONZEROS, MILP_MIN_SECONDS
from kalkan.plan.reach import weight_share
from kalkan.plan.travel import (
    CIRCUITY,
    SPEED_KMH,
    network_minutes,
    planar_distance,
    travel_minutes,
)

METHODS = ("auto", "exact", "heuristic")


class UnreachableDemandWarning(UserWarning):
    """Some demand points with weight are out of reach of every candidate site."""


def validate_ids(ids: Sequence[Any] | None, n: int, what: str) -> list[Any]:
    """Return ids (default 0..n-1) after checking their count and uniqueness."""
    if ids is None:
        return list(range(n))
    ids = list(ids)
    if len(ids) != n:
        raise InputError(f"{len(ids)} {what} ids for {n} {what} points: give one id per row.")
    series = pd.Series(ids)
    dup = series.duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(dup.to_numpy())
        raise InputError(
            f"{int(dup.sum())} {what} rows share an id ({', '.join(map(str, series[dup].unique()[:5]))}; "
            f"rows {row_list(rows)}, counting from 0): make every id unique."
        )
    return ids


def validate_weights(weights: npt.ArrayLike, n: int) -> npt.NDArray[np.float64]:
    """Weights as floats, one per demand point, finite and >= 0 (else an InputError naming rows)."""
    w = np.asarray(weights, dtype=float).ravel()
    if w.size != n:
        raise InputError(f"{w.size} weights for {n} demand points: give one weight per demand point.")
    bad = np.flatnonzero(~np.isfinite(w))
    if bad.size:
        raise InputError(
            f"{bad.size} demand weights are missing or infinite (rows {row_list(bad)}, counting "
            f"from 0): fill them in or drop those rows."
        )
    neg = np.flatnonzero(w < 0)
    if neg.size:
        raise InputError(
            f"{neg.size} demand weights are negative (rows {row_list(neg)}, counting from 0; "
            f"smallest {w.min():g}): weights are people at risk and must be >= 0."
        )
    return w


#: The rule of a budget of posts: a force smaller than one 24/7 post cannot cover anything.
BUDGET_RULE = _base.Rule(
    "a whole number >= 1 (a force smaller than one 24/7 post covers nothing: raise the budget)",
    lambda v: _base.integer(1)(v),
)


def check_latlon(lat: npt.ArrayLike, lon: npt.ArrayLike, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Latitudes in [-90, 90] and longitudes in [-180, 180], no gaps; hints at swapped columns."""
    la = np.asarray(lat, dtype=float).ravel()
    lo = np.asarray(lon, dtype=float).ravel()
    missing = np.flatnonzero(~np.isfinite(la) | ~np.isfinite(lo))
    if missing.size:
        raise InputError(
            f"{missing.size} {what} rows have no coordinates (rows {row_list(missing)}, counting "
            f"from 0): add latitude/longitude or drop them."
        )
    bad = np.flatnonzero((np.abs(la) > 90) | (np.abs(lo) > 180))
    if bad.size:
        swapped = np.flatnonzero((np.abs(lo) <= 90) & (np.abs(la) <= 180) & (np.abs(la) > 90))
        hint = (
            " They look swapped (latitude holds longitudes): exchange the two columns."
            if swapped.size == bad.size
            else ""
        )
        raise InputError(
            f"{bad.size} {what} rows have latitude outside [-90, 90] or longitude outside "
            f"[-180, 180] (rows {row_list(bad)}, counting from 0).{hint}"
        )
    return la, lo


def _coordinates(
    demand: npt.ArrayLike, sites: npt.ArrayLike, geographic: bool
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Demand and site coordinates as checked (n x 2) float arrays: (latitude, longitude) pairs in
    range when ``geographic`` (:func:`check_latlon`), else planar (x, y); no gaps in either."""
    D = np.asarray(demand, dtype=float)
    S = np.asarray(sites, dtype=float)
    if D.ndim != 2 or D.shape[1] != 2 or S.ndim != 2 or S.shape[1] != 2:
        raise InputError(f"Coordinates must be two columns; got demand {D.shape} and sites {S.shape}.")
    for name, arr in (("demand", D), ("site", S)):
        if geographic:
            check_latlon(arr[:, 0], arr[:, 1], name)
            continue
        missing = np.flatnonzero(~np.isfinite(arr).all(axis=1))
        if missing.size:
            raise InputError(
                f"{missing.size} {name} rows have no coordinates (rows {row_list(missing)}, "
                f"counting from 0): add x/y or drop them."
            )
    return D, S


class _CoveringProblem(_base.Params):
    """Shared state and helpers of the coverage problems (not public).

    Settings (``p``, ``busy``, ``capacity``) follow :mod:`kalkan._base`: one rule table per class,
    checked by every ``from_*`` constructor and again by ``solve`` (so ``set_params`` cannot slip a
    bad value past it); ``get_params`` is read from ``__init__``'s signature.
    """

    model: ClassVar[str] = ""
    #: "max" (cover the most weight) or "min" (the fewest sites): how the gap is measured.
    sense: ClassVar[str] = "max"

    # Declared results, filled by solve().
    selected: list[Any]
    selected_index: npt.NDArray[np.int64]
    objective: float
    bound: float
    gap: float
    status: str
    seconds: float
    covered: npt.NDArray[np.bool_]

    def __init__(
        self,
        coverage: sp.csr_matrix,
        weights: npt.ArrayLike,
        *,
        demand_ids: Sequence[Any] | None = None,
        site_ids: Sequence[Any] | None = None,
    ) -> None:
        self.coverage = _solvers.as_coverage(coverage)
        n_sites, n_demand = self.coverage.shape
        self.weights = validate_weights(weights, n_demand)
        self.demand_ids = validate_ids(demand_ids, n_demand, "demand")
        self.site_ids = validate_ids(site_ids, n_sites, "site")
        self._reset_results()
        reach = np.asarray(self.coverage.sum(axis=0)).ravel()
        self.unreachable = np.flatnonzero(reach == 0)
        #: Warn about unreachable demand (once: the first solve, or :meth:`warn_unreachable_demand`).
        self.warn_unreachable = True

    def _reset_results(self) -> None:
        """Results as before ``solve`` (status "unsolved")."""
        self.selected = []
        self.selected_index = np.zeros(0, dtype=np.int64)
        self.objective = math.nan
        self.bound = math.nan
        self.gap = math.nan
        self.status = "unsolved"
        self.seconds = 0.0
        self.covered = np.zeros(self.coverage.shape[1], dtype=bool)

    # ---------------------------------------------------------------- constructors
    @classmethod
    def from_cost_matrix(
        cls,
        cost_matrix: npt.ArrayLike | sp.spmatrix,
        weights: npt.ArrayLike | None = None,
        *,
        max_cost: float,
        demand_ids: Sequence[Any] | None = None,
        site_ids: Sequence[Any] | None = None,
        **params: Any,
    ) -> Self:
        """From a (demand x sites) cost matrix: a site reaches a point when cost <= ``max_cost``.

        ``params`` are the class's settings (``p`` of :class:`MaximalCovering`, ``busy`` of
        :class:`~kalkan.plan.depth.ExpectedCovering`, ...). ``weights`` default to 1 per point.
        """
        max_cost = cls._check_reach(max_cost)
        A = cls._coverage_from_cost(cost_matrix, max_cost)
        return cls._build(A, weights, demand_ids=demand_ids, site_ids=site_ids, **params)

    @classmethod
    def from_coordinates(
        cls,
        demand: npt.ArrayLike,
        sites: npt.ArrayLike,
        weights: npt.ArrayLike | None = None,
        *,
        radius: float | None = None,
        response_minutes: float | None = None,
        demand_ids: Sequence[Any] | None = None,
        site_ids: Sequence[Any] | None = None,
        circuity: float | None = None,
        speed_kmh: float | None = None,
        network: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> Self:
        """From coordinates: planar (x, y) with ``radius``, or (lat, lon) with ``response_minutes``
        (straight-line travel time, or road time over ``network``). ``params`` as in
        :meth:`from_cost_matrix`."""
        A = cls._coverage_within(demand, sites, radius, response_minutes, circuity, speed_kmh, network)
        return cls._build(A, weights, demand_ids=demand_ids, site_ids=site_ids, **params)

    @classmethod
    def from_places(
        cls,
        places: pd.DataFrame,
        sites: pd.DataFrame | None = None,
        *,
        response_minutes: float,
        weight: str = "weight",
        id_column: str | None = None,
        **params: Any,
    ) -> Self:
        """From a places table (``latitude``, ``longitude``, ``weight``; e.g. ``places_at_risk(...)``).

        Sites default to the places themselves; ids come from ``id_column``, else ``id`` or
        ``place_id``. ``params`` as in :meth:`from_cost_matrix` (a class may read more of them from
        the table: see :meth:`kalkan.plan.capacitated.CapacitatedCovering.from_places`).
        """
        demand, ids = places_frame(places, weight=weight, id_column=id_column, what="demand")
        site_frame, site_ids = places_frame(
            sites if sites is not None else places, weight=None, id_column=id_column, what="site"
        )
        return cls.from_coordinates(
            demand[["latitude", "longitude"]].to_numpy(),
            site_frame[["latitude", "longitude"]].to_numpy(),
            demand[weight].to_numpy(),
            response_minutes=response_minutes,
            demand_ids=ids,
            site_ids=site_ids,
            **cls._params_from_places(demand, params),
        )

    @classmethod
    def _params_from_places(cls, demand: pd.DataFrame, params: dict[str, Any]) -> dict[str, Any]:
        """The settings :meth:`from_places` passes on (a subclass may derive some from the table)."""
        return params

    @staticmethod
    def _coverage_from_cost(cost_matrix: npt.ArrayLike | sp.spmatrix, max_cost: float) -> sp.csr_matrix:
        if sp.issparse(cost_matrix):
            C = sp.csr_matrix(cost_matrix)
            if C.data.size and (np.isnan(C.data).any() or (C.data < 0).any()):
                raise InputError(
                    "The cost matrix has negative or missing entries: costs are distances or "
                    "minutes and must be >= 0."
                )
            C = C.copy()
            C.data = (C.data <= max_cost).astype(float)
            return _solvers.as_coverage(C.T)
        C = np.asarray(cost_matrix, dtype=float)
        if C.ndim != 2:
            raise InputError(f"The cost matrix must be 2-D (demand x sites); got shape {C.shape}.")
        bad = np.argwhere(np.isnan(C) | (C < 0))
        if bad.size:
            raise InputError(
                f"{len(bad)} cost matrix entries are negative or missing (first at demand row "
                f"{bad[0][0]}, site column {bad[0][1]}): costs are distances or minutes >= 0; use inf "
                f"for 'unreachable'."
            )
        return _solvers.as_coverage(sp.csr_matrix((C <= max_cost).T))

    @classmethod
    def _check_reach(cls, max_cost: float, what: str = "max_cost") -> float:
        if not (
            isinstance(max_cost, int | float | np.integer | np.floating)
            and max_cost > 0
            and math.isfinite(max_cost)
        ):
            raise InputError(f"{what} must be a finite number > 0; got {max_cost!r}.")
        return float(max_cost)

    @staticmethod
    def cost_from_coordinates(
        demand: npt.ArrayLike,
        sites: npt.ArrayLike,
        *,
        geographic: bool,
        circuity: float | None = None,
        speed_kmh: float | None = None,
    ) -> np.ndarray:
        """Cost matrix (demand x sites): planar distance, or travel minutes when ``geographic``.

        For ``geographic`` the coordinates are (latitude, longitude) pairs.
        """
        D, S = _coordinates(demand, sites, geographic)
        if geographic:
            kwargs = {k: v for k, v in (("circuity", circuity), ("speed_kmh", speed_kmh)) if v is not None}
            return travel_minutes(D[:, 0:1], D[:, 1:2], S[:, 0][None, :], S[:, 1][None, :], **kwargs)
        return planar_distance(D[:, 0][:, None], D[:, 1][:, None], S[:, 0][None, :], S[:, 1][None, :])

    @classmethod
    def _coverage_within(
        cls,
        demand: npt.ArrayLike,
        sites: npt.ArrayLike,
        radius: float | None,
        response_minutes: float | None,
        circuity: float | None,
        speed_kmh: float | None,
        network: Mapping[str, Any] | None,
    ) -> sp.csr_matrix:
        """Coverage for planar x/y within ``radius`` or latitude/longitude within ``response_minutes``."""
        geographic, reach = _reach(radius, response_minutes)
        return cls.coverage_from_coordinates(
            demand,
            sites,
            geographic=geographic,
            reach=reach,
            circuity=circuity,
            speed_kmh=speed_kmh,
            network=network,
        )

    @classmethod
    def coverage_from_coordinates(
        cls,
        demand: npt.ArrayLike,
        sites: npt.ArrayLike,
        *,
        geographic: bool,
        reach: float,
        circuity: float | None = None,
        speed_kmh: float | None = None,
        network: Mapping[str, Any] | None = None,
    ) -> sp.csr_matrix:
        """Sparse coverage (sites x demand) without a dense cost matrix: a KD-tree finds candidate
        pairs (on 3-D unit vectors for latitude/longitude), then the exact cost decides, so the result
        equals ``cost_from_coordinates(...) <= reach``. With ``network`` (GeoJSON road lines) the
        reach is the shortest road time instead (:func:`kalkan.plan.travel.network_minutes`)."""
        from scipy.spatial import cKDTree

        if network is not None and not geographic:
            raise InputError("A road network needs latitude/longitude points and response_minutes.")
        D, S = _coordinates(demand, sites, geographic)
        dl, do, sl, so = D[:, 0], D[:, 1], S[:, 0], S[:, 1]
        if network is not None:
            extra = {} if speed_kmh is None else {"speed_kmh": speed_kmh}
            # Dijkstra from the (fewer) sites; roads are two-way, so transpose.
            minutes = network_minutes(network, sl, so, dl, do, max_minutes=reach, **extra)
            return _solvers.as_coverage(sp.csr_matrix(minutes <= reach))
        if geographic:
            kwargs = {k: v for k, v in (("circuity", circuity), ("speed_kmh", speed_kmh)) if v is not None}
            km = reach / 60.0 * kwargs.get("speed_kmh", SPEED_KMH) / kwargs.get("circuity", CIRCUITY)
            chord = 2.0 * np.sin(min(km / EARTH_RADIUS_KM, np.pi) / 2.0) * (1 + 1e-9) + 1e-12
            pd_, ps_ = to_unit_vectors(dl, do), to_unit_vectors(sl, so)
            pairs = cKDTree(ps_).query_ball_point(pd_, chord, return_sorted=False)
            rows, cols = _pairs(pairs)
            cost = travel_minutes(dl[rows], do[rows], sl[cols], so[cols], **kwargs)
        else:
            pairs = cKDTree(S).query_ball_point(D, reach * (1 + 1e-9) + 1e-12, return_sorted=False)
            rows, cols = _pairs(pairs)
            cost = planar_distance(D[rows, 0], D[rows, 1], S[cols, 0], S[cols, 1])
        keep = cost <= reach
        A = sp.csr_matrix((np.ones(int(keep.sum())), (cols[keep], rows[keep])), shape=(len(S), len(D)))
        return _solvers.as_coverage(A)

    # ---------------------------------------------------------------- results
    def _require_solved(self) -> None:
        if self.status == "unsolved":
            raise NotSolvedError(f"{type(self).__name__} has not been solved: call solve() first.")

    @classmethod
    def _build(cls, coverage: sp.csr_matrix, weights: npt.ArrayLike | None, **params: Any) -> Self:
        """``cls(coverage, weights, **params)`` with its parameter rules checked (every ``from_*``);
        no ``weights`` is 1 per demand point."""
        w = np.ones(coverage.shape[1]) if weights is None else weights
        problem = cls(coverage, w, **params)
        problem._validate_params()
        return problem

    def warn_unreachable_demand(self) -> None:
        """Warn (:class:`UnreachableDemandWarning`) about weighted demand no site reaches, once: later
        calls, solves and problems made by :meth:`with_budget` from this one stay quiet."""
        if not self.warn_unreachable:
            return
        self.warn_unreachable = False
        lost = self.unreachable[self.weights[self.unreachable] > 0]
        if lost.size:
            ids = [self.demand_ids[i] for i in lost[:8]]
            warnings.warn(
                UnreachableDemandWarning(
                    f"{lost.size} demand points (weight {self.weights[lost].sum():g} of "
                    f"{self.weights.sum():g}) are out of reach of every site "
                    f"(ids {', '.join(map(str, ids))}{' ...' if lost.size > 8 else ''}): "
                    f"add sites near them or raise the reach; they are left uncovered."
                ),
                stacklevel=3,
            )

    @staticmethod
    def _check_solve(method: str, time_limit: float) -> None:
        if method not in METHODS:
            raise InputError(f"method must be one of {', '.join(METHODS)}; got {method!r}.")
        if not (time_limit > 0):
            raise InputError(f"time_limit must be > 0 seconds; got {time_limit!r}.")

    def _record(
        self, selected: npt.ArrayLike, objective: float, bound: float, status: str, t0: float
    ) -> None:
        """The one way a ``solve`` stores its result: selection, objective, bound, gap, status, time.

        ``bound`` is clipped to the right side of ``objective``; "optimal" means gap 0 and the bound is
        the objective. The gap is relative to the bound (maximisation) or the objective (minimisation).
        """
        self._set_selection(selected)
        if status == "optimal":
            bound = objective
        if self.sense == "max":
            bound = max(bound, objective)
            gap = (bound - objective) / bound if bound > 0 else 0.0
        else:
            bound = min(bound, objective)
            gap = (objective - bound) / objective if objective > 0 else 0.0
        self.objective = float(objective)
        self.bound = float(bound)
        self.gap = 0.0 if status == "optimal" else max(gap, 0.0)
        self.status = status
        self.seconds = time.perf_counter() - t0

    def _set_selection(self, index: npt.ArrayLike) -> None:
        self.selected_index = np.sort(np.asarray(index, dtype=np.int64))
        self.selected = [self.site_ids[j] for j in self.selected_index]
        if self.selected_index.size:
            self.covered = np.asarray(self.coverage[self.selected_index].sum(axis=0)).ravel() > 0
        else:
            self.covered = np.zeros(self.coverage.shape[1], dtype=bool)

    @property
    def covered_ids(self) -> list[Any]:
        """Ids of the demand points within reach of a selected site."""
        self._require_solved()
        return [self.demand_ids[i] for i in np.flatnonzero(self.covered)]

    @property
    def covered_weight(self) -> float:
        """Weight within reach of a selected site."""
        self._require_solved()
        return float(self.weights[self.covered].sum())

    @property
    def total_weight(self) -> float:
        """Total demand weight, reachable or not."""
        return float(self.weights.sum())

    def result(self) -> dict[str, Any]:
        """The result as a plain dict (the CLI's JSON object)."""
        self._require_solved()
        return {
            "model": self.model,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "selected": [_plain(s) for s in self.selected],
            "status": self.status,
            "seconds": round(self.seconds, 6),
            "covered_weight": self.covered_weight,
            "total_weight": self.total_weight,
            "covered_share": weight_share(self.covered_weight, self.total_weight),
            "n_selected": len(self.selected),
            "n_unreachable": int(self.unreachable.size),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


class SolveCall(NamedTuple):
    """The checked arguments of one :meth:`MaximalCovering.solve` call and when it started."""

    time_limit: float
    method: str
    start: Sequence[Any] | None
    seed: int | np.random.Generator | None
    t0: float


class MaximalCovering(_CoveringProblem):
    """Maximal covering location problem: at most ``p`` sites maximising the weight within reach.

    Build it with :meth:`from_cost_matrix`, :meth:`from_coordinates` or :meth:`from_places`.
    """

    model: ClassVar[str] = "mclp"
    _parameter_constraints: ClassVar[Mapping[str, _base.Rule]] = {"p": BUDGET_RULE}

    def __init__(
        self,
        coverage: sp.csr_matrix,
        weights: npt.ArrayLike,
        *,
        p: int,
        demand_ids: Sequence[Any] | None = None,
        site_ids: Sequence[Any] | None = None,
    ) -> None:
        super().__init__(coverage, weights, demand_ids=demand_ids, site_ids=site_ids)
        self.p = p
        self._AT: sp.csr_matrix | None = None
        self._multipliers: npt.NDArray[np.float64] | None = None

    def with_budget(self, p: int) -> Self:
        """This problem with a budget of ``p`` posts, unsolved.

        It shares the coverage matrix and its transpose with this one and starts its Lagrangian bound
        from this one's multipliers (a warm start), so a series of budgets costs one matrix. Demand out
        of reach is not warned about again. For a whole series use :func:`solve_budgets`.
        """
        if self._AT is None:
            self._AT = self.coverage.T.tocsr()
        clone = copy.copy(self)
        clone.p = p
        clone._validate_params()
        clone._reset_results()
        if self._multipliers is not None:
            clone._multipliers = self._multipliers.copy()
        return clone

    # ---------------------------------------------------------------- solve
    def solve(
        self,
        time_limit: float = 10.0,
        *,
        method: str = "auto",
        start: Sequence[Any] | None = None,
        seed: int | np.random.Generator | None = 0,
    ) -> Self:
        """Solve within ``time_limit`` seconds and return ``self`` with the results filled in.

        Every method starts with greedy, best-improvement swaps and a Lagrangian bound, and stops there
        when the bound proves optimality. Then ``"heuristic"`` stops; ``"exact"`` runs the HiGHS MILP
        warm-started from the heuristic; ``"auto"`` runs the MILP when the coverage matrix has at most
        :data:`MILP_MAX_NONZEROS` entries and otherwise, until the time limit or a proof, rounds of
        iterated local search (seeded by ``seed``), HiGHS on the kernel of the best local optima and
        more bound iterations. ``start`` gives site ids to warm-start the greedy (incremental budgets).
        A subclass says what its own method does in :meth:`_solve`.
        """
        self._validate_params()
        self._check_solve(method, time_limit)
        t0 = time.perf_counter()
        self.warn_unreachable_demand()
        self._solve(SolveCall(float(time_limit), method, start, seed, t0))
        return self

    def _solve(self, run: SolveCall) -> None:
        """The work of :meth:`solve` after its checks (``run`` holds its arguments and its start time);
        a subclass overrides this, not ``solve``, and ends, like this one, with :meth:`_record`."""
        time_limit, method, start, seed, t0 = run
        deadline = t0 + time_limit
        A, w = self.coverage, self.weights
        if self._AT is None:
            self._AT = A.T.tocsr()
        AT = self._AT
        start_index = self._site_index(start) if start is not None else np.zeros(0, dtype=np.int64)
        if start_index.size > self.p:
            start_index = start_index[: self.p]
        T = float(time_limit)
        sel = _solvers.greedy_mclp(A, w, self.p, start=start_index, AT=AT)
        sel = _solvers.swap_mclp(A, w, sel, deadline=t0 + 0.3 * T)
        objective = _solvers.coverage_value(A, w, sel)
        reachable = float(w[np.asarray(AT.sum(axis=1)).ravel() > 0].sum())
        # Lagrange multipliers, carried from one bound call to the next (and between budgets of a curve).
        lam = self._multipliers if self._multipliers is not None else w / 2.0
        dual = _solvers.DualSearch()  # the subgradient's step and direction, kept across this solve
        bound = min(
            reachable,
            _solvers.lagrangian_mclp(
                A, w, self.p, objective, AT=AT, multipliers=lam, deadline=t0 + 0.45 * T, search=dual
            ),
        )
        status = "optimal" if self._proven(objective, bound) else "heuristic"
        use_milp = method == "exact" or (method == "auto" and A.nnz <= MILP_MAX_NONZEROS)
        if status != "optimal" and method == "auto" and not use_milp:
            # Too large for the whole MILP: search until the deadline or a proof (local search,
            # HiGHS on the kernel of the best local optima, more bound iterations).
            sel, objective, bound = _solvers.search_mclp(
                A,
                w,
                self.p,
                sel,
                multipliers=lam,
                bound=bound,
                deadline=deadline,
                seed=seed,
                AT=AT,
                search=dual,
            )
            status = "optimal" if self._proven(objective, bound) else "time_limit"
        if status != "optimal" and use_milp:
            remaining = deadline - time.perf_counter()
            if remaining < MILP_MIN_SECONDS:
                # Too little time for HiGHS to finish its root LP: local search, then the bound.
                sel = _solvers.iterated_swap_mclp(
                    A, w, self.p, sel, seed=seed, deadline=time.perf_counter() + remaining / 2, AT=AT
                )
                objective = _solvers.coverage_value(A, w, sel)
                bound = min(
                    bound,
                    _solvers.lagrangian_mclp(
                        A, w, self.p, objective, AT=AT, multipliers=lam, deadline=deadline, search=dual
                    ),
                )
                status = "optimal" if self._proven(objective, bound) else "time_limit"
            else:
                res = _solvers.milp_mclp(A, w, self.p, start=sel, time_limit=remaining, AT=AT)
                if res.objective > objective:
                    sel, objective = res.selected, res.objective
                bound = min(bound, objective if res.status == "optimal" else res.bound)
                status = (
                    "optimal" if res.status == "optimal" or self._proven(objective, bound) else "time_limit"
                )
        self._multipliers = lam
        self._record(sel, objective, bound, status, t0)

    def _proven(self, objective: float, bound: float) -> bool:
        return bool(bound - objective <= _solvers.REL_TOL * max(float(self.weights.sum()), 1.0))

    def _site_index(self, ids: Sequence[Any]) -> npt.NDArray[np.int64]:
        lookup = {s: j for j, s in enumerate(self.site_ids)}
        missing = [s for s in ids if s not in lookup]
        if missing:
            raise InputError(
                f"{len(missing)} start sites are not candidate sites ({', '.join(map(str, missing[:5]))})."
            )
        return np.asarray([lookup[s] for s in ids], dtype=np.int64)


class SetCovering(_CoveringProblem):
    """Location set covering problem: the fewest sites that reach every reachable demand point.

    Points no site reaches are left out with an :class:`UnreachableDemandWarning` (their ids are in
    ``unreachable``). Zero-weight points still count: the model is about reaching every place.
    """

    model: ClassVar[str] = "lscp"
    sense: ClassVar[str] = "min"

    def solve(
        self, time_limit: float = 10.0, *, method: str = "auto", seed: int | np.random.Generator | None = 0
    ) -> Self:
        """Solve within ``time_limit`` seconds and return ``self`` (results as in MaximalCovering).

        Greedy and a Lagrangian heuristic with its bound; then, unless ``method="heuristic"``, iterated
        local search (seeded by ``seed``; ``auto`` only) for up to 60% of the time and the HiGHS MILP,
        warm-started, for the rest.
        """
        self._validate_params()
        self._check_solve(method, time_limit)
        t0 = time.perf_counter()
        deadline = t0 + float(time_limit)
        A = self.coverage
        reach = np.asarray(A.sum(axis=0)).ravel()
        targets = reach > 0
        self.warn_unreachable_demand()
        if not targets.any():
            raise InfeasibleError(
                f"No site reaches any of the {A.shape[1]} demand points: add sites or raise "
                f"the reach (radius or response minutes)."
            )
        sel = _solvers.greedy_lscp(A, targets)
        low, sel = _solvers.lagrangian_lscp(A, targets, sel, deadline=t0 + 0.4 * time_limit)
        objective = float(sel.size)
        bound = float(math.ceil(low - 1e-9))
        status = "optimal" if bound >= objective else "heuristic"
        if status != "optimal" and method == "auto":
            sel = _solvers.iterated_repair_lscp(A, targets, sel, seed=seed, deadline=t0 + 0.6 * time_limit)
            objective = float(sel.size)
            status = "optimal" if bound >= objective else "heuristic"
        if status != "optimal" and method in ("auto", "exact"):
            remaining = deadline - time.perf_counter()
            if remaining > 0.01:
                res = _solvers.milp_lscp(A, targets, start=sel, time_limit=remaining)
                if res.selected.size and res.selected.size < sel.size:
                    sel = res.selected
                objective = float(sel.size)
                if res.status == "optimal":
                    bound = objective
                else:
                    bound = max(bound, float(math.ceil(res.bound - 1e-6)))
                status = "optimal" if bound >= objective else "time_limit"
            else:
                status = "time_limit"
        self._record(sel, objective, bound, status, t0)
        return self


Covering = TypeVar("Covering", bound=MaximalCovering)


def solve_budgets(
    problem: Covering,
    budgets: Iterable[int],
    *,
    time_limit: float = 2.0,
    method: str = "auto",
) -> dict[int, Covering]:
    """Solve ``problem`` for each budget of posts, smallest first, on one coverage matrix.

    Each budget is :meth:`MaximalCovering.with_budget` of the one before, so it starts from the
    previous selection (greedy warm start) and the previous Lagrange multipliers; each gets
    ``time_limit`` seconds and its own certified bound. Demand out of reach is warned about once.
    Returns ``{posts: solved problem}`` for the distinct budgets given (each >= 1).
    """
    problem.warn_unreachable_demand()
    solved: dict[int, Covering] = {}
    current, previous = problem, None
    for p in sorted({int(b) for b in budgets}):
        current = current.with_budget(p).solve(time_limit=time_limit, method=method, start=previous)
        previous = current.selected
        solved[p] = current
    return solved


def _pairs(neighbours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) index arrays from query_ball_point's list of neighbour lists (row = query point)."""
    counts = np.fromiter((len(x) for x in neighbours), dtype=np.int64, count=len(neighbours))
    rows = np.repeat(np.arange(len(neighbours), dtype=np.int64), counts)
    cols = np.fromiter((j for x in neighbours for j in x), dtype=np.int64, count=int(counts.sum()))
    return rows, cols


def _reach(radius: float | None, response_minutes: float | None) -> tuple[bool, float]:
    if (radius is None) == (response_minutes is None):
        raise InputError("Give exactly one of radius (planar x/y) or response_minutes (latitude/longitude).")
    if radius is not None:
        return False, _CoveringProblem._check_reach(radius, "radius")
    assert response_minutes is not None  # one of the two is given (checked above)
    return True, _CoveringProblem._check_reach(response_minutes, "response_minutes")
