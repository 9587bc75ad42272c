"""Siting for depth: the maximum expected covering location problem (MEXCLP).

Maximal covering (:class:`~kalkan.plan.coverage.MaximalCovering`) counts a place as protected once
one post is in reach, so a larger force spreads its extra posts to villages further out and adds
nothing where the people at risk are concentrated. Yet a post is not always free: its officers may be
on another call, on patrol or outnumbered. Daskin's maximum expected covering counts a place's weight
by the chance that at least one post in reach is free. With each post busy with probability ``q``
(independently) and ``n_i`` posts in reach of place ``i``::

    max  sum_i w_i (1 - q ** n_i)        s.t.  at most p posts

A second post in reach adds ``w_i (1 - q) q``, a third ``w_i (1 - q) q**2``: depth counts, less and
less. ``q = 0`` is maximal covering again; the larger ``q``, the more the posts gather where the weight
is. M. S. Daskin, "A maximum expected covering location model: formulation, properties and heuristic
solution", Transportation Science 17(1), 1983, pp. 48-70.

Solved here by greedy (the objective is monotone submodular, so greedy is within 1 - 1/e of the
optimum; Nemhauser, Wolsey & Fisher 1978), then Daskin's linear MILP in HiGHS warm-started from the
greedy (one variable per place and depth level, points with the same sites merged). The bound is the
MILP's, or, from greedy alone, the submodular bound ``f(S_k) + sum of the p largest gains at S_k``
(minimised over the greedy's steps), which is valid for any k. The answer always carries its gap.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from kalkan import _base
from kalkan.plan import _solvers
from kalkan.plan.coverage import BUDGET_RULE, MaximalCovering, SolveCall
from kalkan.plan.defaults import BUSY, MILP_MAX_NONZEROS
from kalkan.plan.reach import weight_share


class ExpectedCovering(MaximalCovering):
    """Maximum expected covering (Daskin 1983): at most ``p`` posts, depth counted (see module docs).

    Build it like :class:`MaximalCovering` (``from_coordinates``, ``from_places``, ...) with the extra
    keyword ``busy`` (q, the chance a post is busy, 0 <= q < 1). After :meth:`solve`, ``depth`` holds
    the number of selected posts in reach of each demand point.
    """

    model: ClassVar[str] = "mexclp"
    _parameter_constraints: ClassVar[Mapping[str, _base.Rule]] = {
        "p": BUDGET_RULE,
        # the chance a post is busy when it is needed
        "busy": _base.real(0, 1, low_open=False, high_open=True),
    }

    def __init__(
        self,
        coverage: sp.csr_matrix,
        weights: npt.ArrayLike,
        *,
        p: int,
        busy: float = BUSY,
        demand_ids: Sequence[Any] | None = None,
        site_ids: Sequence[Any] | None = None,
    ) -> None:
        super().__init__(coverage, weights, p=p, demand_ids=demand_ids, site_ids=site_ids)
        self.busy = busy

    def _reset_results(self) -> None:
        super()._reset_results()
        self.depth = np.zeros(self.coverage.shape[1], dtype=np.int64)

    def expected_value(self, selected: npt.ArrayLike) -> float:
        """Expected covered weight of the sites ``selected`` (indices): sum of w (1 - q^depth)."""
        sel = np.asarray(selected, dtype=np.int64)
        depth = (
            np.asarray(self.coverage[sel].sum(axis=0)).ravel() if sel.size else np.zeros(len(self.weights))
        )
        return float((self.weights * (1.0 - float(self.busy) ** depth)).sum())

    def _solve(self, run: SolveCall) -> None:
        """Greedy, then (unless ``method="heuristic"``) HiGHS on the MILP for the rest of ``time_limit``.

        ``"auto"`` runs the MILP when it is small enough to build in memory (at most
        :data:`kalkan.plan.coverage.MILP_MAX_NONZEROS` coverage entries). ``seed`` is accepted for the
        same call as :meth:`MaximalCovering.solve`; nothing here is random.
        """
        time_limit, method, start, _, t0 = run
        start_index = self._site_index(start) if start is not None else np.zeros(0, dtype=np.int64)
        sel, bound = _greedy_expected(self.coverage, self.weights, self.p, self.busy, start=start_index)
        objective = self.expected_value(sel)
        status = "optimal" if self._proven(objective, bound) else "heuristic"
        use_milp = method == "exact" or (method == "auto" and self.coverage.nnz <= MILP_MAX_NONZEROS)
        if status != "optimal" and use_milp:
            remaining = t0 + time_limit - time.perf_counter()
            res = _solvers.milp_expected(
                self.coverage, self.weights, self.p, self.busy, start=sel, time_limit=remaining
            )
            value = self.expected_value(res.selected)
            if value > objective:
                sel, objective = res.selected, value
            bound = min(bound, res.bound)
            status = "optimal" if res.status == "optimal" or self._proven(objective, bound) else "time_limit"
        self._record(sel, objective, bound, status, t0)
        self.depth = (
            np.asarray(self.coverage[self.selected_index].sum(axis=0)).ravel().astype(np.int64)
            if self.selected_index.size
            else np.zeros(self.coverage.shape[1], dtype=np.int64)
        )

    @property
    def expected_share(self) -> float:
        """Expected covered weight as a share of all weight."""
        self._require_solved()
        return weight_share(self.objective, self.total_weight)

    def result(self) -> dict[str, Any]:
        """The result as a plain dict: :meth:`MaximalCovering.result` plus ``busy`` and ``expected_share``
        (``objective`` is the expected covered weight; ``covered_share`` is plain reach)."""
        out = super().result()
        out["busy"] = float(self.busy)
        out["expected_share"] = self.expected_share
        out["mean_depth"] = (
            float((self.weights * self.depth).sum() / self.total_weight) if self.total_weight > 0 else 0.0
        )
        return out


def _greedy_expected(
    A: sp.csr_matrix, w: npt.NDArray[np.float64], p: int, q: float, *, start: npt.ArrayLike = ()
) -> tuple[npt.NDArray[np.int64], float]:
    """Greedy for the expected covering, with the best submodular upper bound seen on the way.

    The gain of site j is sum over the points it reaches of w_i (1 - q) q^depth_i. For a monotone
    submodular f, OPT <= f(S) + (sum of the p largest gains at S) for every S (Nemhauser et al. 1978).
    """
    m, n = A.shape
    depth = np.zeros(n, dtype=np.int64)
    chosen: list[int] = []
    is_chosen = np.zeros(m, dtype=bool)
    value = 0.0
    bound = math.inf
    forced = [int(j) for j in np.asarray(start, dtype=np.int64)]
    k = min(p, m)
    tol = _solvers.REL_TOL * max(float(w.sum()), 1.0)

    def gains_now() -> npt.NDArray[np.float64]:
        nonlocal bound
        gains = np.asarray(A @ (w * (1.0 - q) * q**depth), dtype=float).ravel()
        gains[is_chosen] = 0.0
        top = np.partition(gains, m - k)[m - k :] if k < m else gains
        bound = min(bound, value + float(top.sum()))
        return gains

    while len(chosen) < k:
        gains = gains_now()
        if forced:
            j = forced.pop(0)
            if is_chosen[j]:
                continue
        else:
            j = int(np.argmax(gains))
            if gains[j] <= tol:
                break
        chosen.append(j)
        is_chosen[j] = True
        value += float(gains[j])
        depth[A.indices[A.indptr[j] : A.indptr[j + 1]]] += 1
    gains_now()
    return np.asarray(chosen, dtype=np.int64), bound
