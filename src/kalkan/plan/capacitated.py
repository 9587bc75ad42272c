"""Capacitated maximal covering: a post protects at most so many people.

Reach alone says a post *can* get to a place in time; it does not say the post's officers can protect
everyone there. Here each post has a capacity in people, by default its officers (24/7 staffing
included) times the people one officer can secure:

    capacity = officers_per_post(unit) x 1,000 / per_1000

with ``per_1000 = 20`` security personnel per 1,000 inhabitants, Quinlivan's threshold for
successful population security in stabilisation operations (J. T. Quinlivan, "Force Requirements in
Stability Operations", Parameters 25(4), 1995; "Burden of Victory", RAND Review 27(2), 2003; see
``force-planning-anchors.md`` section 1). Routine policing of a peaceful population is 1-4 per 1,000.
With the default police post (2 on duty, 10.4 officers) the capacity is 520 people, i.e. 260 people
per officer on duty.

Model (places may be split between posts; only the post choice is integer)::

    max  sum_i w_i y_i
    s.t. sum_{j reaches i} z_ij = y_i            (share of place i protected)
         sum_i pop_i z_ij <= capacity x_j        (post j protects at most its capacity)
         z_ij <= x_j   for places with pop_i = 0
         sum_j x_j <= p,  0 <= y, z <= 1,  x binary

``w`` is the planner's weight (people at risk x risk multiplier) and ``pop`` the people at risk
(default: ``w``). Greedy: add the post whose capacity, filled with the densest (w/pop) unprotected
people in reach, adds the most weight. Bound: the uncapacitated MCLP bound (dropping capacity can
only help), tightened by the HiGHS MILP bound when the MILP runs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from kalkan import _base
from kalkan.errors import InputError
from kalkan.plan import _solvers
from kalkan.plan.coverage import BUDGET_RULE, MaximalCovering, SolveCall
from kalkan.plan.defaults import PER_1000
from kalkan.plan.units import officers_per_post, unit_type


def capacity_per_post(unit: str, per_1000: float = PER_1000) -> float:
    """People one 24/7 post of ``unit`` can protect: officers per post x 1,000 / ``per_1000``."""
    if not per_1000 > 0:
        raise InputError(f"per_1000 (security personnel per 1,000 people) must be > 0; got {per_1000!r}.")
    return officers_per_post(unit_type(unit)) * 1000.0 / per_1000


class CapacitatedCovering(MaximalCovering):
    """Maximal covering where each post protects at most ``capacity`` people (see module docs)."""

    model: ClassVar[str] = "capacitated-mclp"
    _parameter_constraints: ClassVar[Mapping[str, _base.Rule]] = {
        "p": BUDGET_RULE,
        "capacity": _base.real(0),  # people one post protects
    }

    assigned: pd.DataFrame

    def __init__(
        self,
        coverage: sp.csr_matrix,
        weights: npt.ArrayLike,
        *,
        p: int,
        capacity: float,
        population: npt.ArrayLike | None = None,
        demand_ids: Sequence[Any] | None = None,
        site_ids: Sequence[Any] | None = None,
    ) -> None:
        super().__init__(coverage, weights, p=p, demand_ids=demand_ids, site_ids=site_ids)
        self.capacity = capacity
        pop = self.weights.copy() if population is None else np.asarray(population, dtype=float).ravel()
        if pop.size != self.weights.size or not np.all(np.isfinite(pop)) or (pop < 0).any():
            raise InputError("population must give one finite number >= 0 of people per demand point.")
        self.population = pop

    def _reset_results(self) -> None:
        super()._reset_results()
        self.assigned = pd.DataFrame(columns=["demand_id", "site_id", "share", "people", "weight"])

    @classmethod
    def _params_from_places(cls, demand: pd.DataFrame, params: dict[str, Any]) -> dict[str, Any]:
        """``from_places(..., unit="police", per_1000=PER_1000, population="at_risk")``: capacity from
        ``unit`` and ``per_1000`` (unless ``capacity`` is given), people from the ``population`` column
        (default ``at_risk``; the weights when the table has no such column)."""
        params = dict(params)
        unit = params.pop("unit", "police")
        per_1000 = params.pop("per_1000", PER_1000)
        column = params.pop("population", "at_risk")
        params.setdefault("capacity", capacity_per_post(unit, per_1000))
        if isinstance(column, str):
            params["population"] = demand[column].to_numpy(float) if column in demand.columns else None
        else:
            params["population"] = column
        return params

    # ------------------------------------------------------------------ solve
    def _solve(self, run: SolveCall) -> None:
        """Greedy, then (unless ``method="heuristic"``) the HiGHS MILP warm-started from it
        (``start`` and ``seed`` are not used: the greedy fills capacity and nothing is random)."""
        time_limit, method, _, _, t0 = run
        A, w = self.coverage, self.weights
        sel, z = _greedy_capacitated(A, w, self.population, self.capacity, self.p)
        objective = _solvers.assigned_value(z, w)
        # Upper bound: the uncapacitated optimum's bound, and capacity x best density per post.
        base = MaximalCovering(A, w, p=self.p)
        base.warn_unreachable = False
        base.solve(time_limit=max(0.2 * time_limit, 0.01), method="heuristic")
        bound = base.bound
        status = "optimal" if bound - objective <= _solvers.REL_TOL * max(w.sum(), 1.0) else "heuristic"
        if status != "optimal" and method in ("auto", "exact"):
            remaining = t0 + time_limit - time.perf_counter()
            if remaining > 0.01:
                res_sel, res_z, res_obj, res_bound, res_status = _solvers.milp_capacitated(
                    A, w, self.population, self.capacity, self.p, start=(sel, z), time_limit=remaining
                )
                if res_obj > objective:
                    sel, z, objective = res_sel, res_z, res_obj
                bound = min(bound, objective if res_status == "optimal" else res_bound)
                status = (
                    "optimal"
                    if res_status == "optimal" or bound - objective <= _solvers.REL_TOL * max(w.sum(), 1.0)
                    else "time_limit"
                )
            else:
                status = "time_limit"
        self._record(sel, objective, bound, status, t0)
        self.covered = np.asarray(z.sum(axis=0)).ravel() > 1e-9 if z.nnz else np.zeros(A.shape[1], dtype=bool)
        zc = z.tocoo()
        keep = zc.data > 1e-9
        self.assigned = pd.DataFrame(
            {
                "demand_id": [self.demand_ids[i] for i in zc.col[keep]],
                "site_id": [self.site_ids[j] for j in zc.row[keep]],
                "share": zc.data[keep],
                "people": zc.data[keep] * self.population[zc.col[keep]],
                "weight": zc.data[keep] * w[zc.col[keep]],
            }
        )

    @property
    def covered_weight(self) -> float:
        """Weight protected (places may be partly protected)."""
        self._require_solved()
        return float(self.objective)


def _greedy_capacitated(
    A: sp.csr_matrix, w: npt.NDArray[np.float64], pop: npt.NDArray[np.float64], capacity: float, p: int
) -> tuple[npt.NDArray[np.int64], sp.csr_matrix]:
    """Greedy: each step adds the post whose capacity, filled densest-first, adds the most weight."""
    m, n = A.shape
    left = np.ones(n)  # unprotected share of each place
    chosen: list[int] = []
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    density = np.where(pop > 0, w / np.maximum(pop, 1e-300), np.inf)
    for _ in range(min(p, m)):
        rem_w = A @ (w * left)
        rem_pop = A @ (pop * left)
        gain = np.where(rem_pop > capacity, rem_w * capacity / np.maximum(rem_pop, 1e-300), rem_w)
        gain[chosen] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= _solvers.REL_TOL * max(w.sum(), 1.0):
            break
        row = A.indices[A.indptr[j] : A.indptr[j + 1]]
        row = row[left[row] > 1e-12]
        order = row[np.argsort(-density[row], kind="stable")]
        room = capacity
        for i in order:
            if room <= 1e-12:
                break
            need = pop[i] * left[i]
            share = left[i] if need <= room else room / pop[i]
            room -= share * pop[i]
            left[i] -= share
            rows.append(j)
            cols.append(int(i))
            vals.append(float(share))
        chosen.append(j)
    z = sp.csr_matrix((vals, (rows, cols)), shape=(m, n))
    return np.asarray(chosen, dtype=np.int64), z
