"""Where violence comes next: a space-time self-exciting point process (Hawkes / ETAS) on a grid.

Violence is self-exciting: an attack raises the chance of another one nearby for days. The model
(Mohler et al. 2011; Reinhart 2018) writes the event rate at place ``x`` (km) and day ``t`` as

    lambda(x, t) = mu_c(x) / A_c(x)  +  alpha * sum_{t_i < t} h(t - t_i) g(|x - x_i|)

- ``mu_c``: background events per day in grid cell ``c`` (area ``A_c`` km^2), from the cell's own
  history smoothed with its neighbours (so quiet cells next to violent ones are not zero);
- ``alpha``: the branching ratio, the mean number of events one event triggers directly;
- ``h(dt) = omega exp(-omega dt)``: exponential decay in time (``omega`` per day), **truncated** at
  ``time_cutoff_days``; ``g``: isotropic Gaussian in space (``bandwidth_km_`` = sigma), **truncated**
  at ``distance_cutoff_km``. Both are renormalised to integrate to one inside the cut-offs.

Because of the truncation only event pairs closer than both cut-offs interact: they are found once
with a k-d tree (scipy) in (x, y, z, scaled time) with the max-norm, so the fit costs about linearly in
the number of events for a given density. The fit is EM (Veen & Schoenberg 2008): the E-step shares
each event between the background and its possible parents, the M-step has closed forms (or a 1-D
root for the truncated kernels). Parameter uncertainty comes from the observed information of the
log-likelihood in (log alpha, log omega, log sigma) with the background held at its estimate.

Forecasts for the ``horizon_days`` after the cut-off give the expected count per cell from the
background, the decaying influence of past events (spread over the cells by the spatial kernel) and
the cascade of events triggered inside the horizon (kept in their cell: a documented approximation),
and ``probability = 1 - exp(-expected_events)`` (Poisson).

References
----------
Mohler, Short, Brantingham, Schoenberg & Tita (2011). Self-exciting point process modeling of crime.
*JASA* 106(493). Veen & Schoenberg (2008). Estimation of space-time branching process models in
seismology using an EM-type algorithm. *JASA* 103(482). Reinhart (2018). A review of self-exciting
spatio-temporal point processes and their applications. *Statistical Science* 33(3).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import brentq

from kalkan import _base
from kalkan.distance import to_xyz_km
from kalkan.errors import InputError
from kalkan.risk.forecaster import CellForecaster, History, check_horizon, history_before
from kalkan.risk.grids import Grid, days_since_epoch, offset_points

__all__ = [
    "History",
    "HotspotModel",
    "check_horizon",
    "forecast_risk_weight",
    "history_before",
    "simulate_hawkes",
]

_ALPHA_MAX = 0.95
"""Cap on the branching ratio: above it forecasts explode; a non-stationary background shows up as
alpha near 1, and the cap keeps forecasts finite (documented in docs/risk-hotspots.md)."""


class HotspotModel(CellForecaster):
    """Space-time Hawkes process on a forecast grid, fitted by EM; scikit-learn style.

    Parameters
    ----------
    grid
        ``"priogrid"`` (0.5 degree, UCDP ids) or ``"h3:RES"``, or a :class:`~kalkan.risk.grids.Grid`.
    window_days
        Only events in the last ``window_days`` before the cut-off are fitted (older ones still define
        which cells are forecast); conflicts start and end, so a recent window keeps the background
        current. ``None`` fits the whole history.
    time_cutoff_days
        Truncation of the time kernel (days): an event cannot trigger another later than this.
    distance_cutoff_km
        Truncation of the spatial kernel (km).
    background_smoothing
        Share (0-1) of each cell's background taken from the mean of its neighbourhood.
    background_pseudocount
        Background events added to every forecast cell over the window, so a cell with old or
        neighbouring violence keeps a small rate.
    background_halflife_days
        If set, the background weights an event this many days old by one half (follows trends).
    min_bandwidth_km
        Lower bound of the spatial bandwidth (km): event coordinates are often a shared town or
        district point, which would otherwise drive the bandwidth to zero.
    max_iter, tol
        EM stops after ``max_iter`` iterations or when the log-likelihood improves by less than
        ``tol`` (relative).

    Attributes
    ----------
    cells_ : ndarray of int64, the forecast cells (every cell with an event in the history and its
        neighbours). background_rate_ : Series, events per day per cell. branching_ratio_,
    decay_per_day_, bandwidth_km_ : the triggering parameters. params_ : DataFrame with estimates,
        standard errors and 95 % intervals. log_likelihood_, n_iter_, n_events_, n_pairs_, until_.
    """

    _parameter_constraints: ClassVar[Mapping[str, _base.Rule]] = {
        "window_days": _base.optional(_base.real(0)),
        "time_cutoff_days": _base.real(0),
        "distance_cutoff_km": _base.real(0),
        "background_smoothing": _base.real(0, 1, low_open=False),
        "background_pseudocount": _base.real(0, low_open=False),
        "background_halflife_days": _base.optional(_base.real(0)),
        "min_bandwidth_km": _base.real(0, low_open=False),
        "max_iter": _base.integer(1),
        "tol": _base.real(0),
    }
    _fitted = "branching_ratio_"

    def __init__(
        self,
        *,
        grid: str | Grid = "priogrid",
        window_days: float | None = 1460.0,
        time_cutoff_days: float = 90.0,
        distance_cutoff_km: float = 100.0,
        background_smoothing: float = 0.1,
        background_pseudocount: float = 0.1,
        background_halflife_days: float | None = None,
        min_bandwidth_km: float = 1.0,
        max_iter: int = 200,
        tol: float = 1e-6,
    ) -> None:
        self.grid = grid
        self.window_days = window_days
        self.time_cutoff_days = time_cutoff_days
        self.distance_cutoff_km = distance_cutoff_km
        self.background_smoothing = background_smoothing
        self.background_pseudocount = background_pseudocount
        self.background_halflife_days = background_halflife_days
        self.min_bandwidth_km = min_bandwidth_km
        self.max_iter = max_iter
        self.tol = tol

    # ------------------------------------------------------------------ fit
    def _learn(self, hist: History) -> None:
        """EM on the events of the window (``fit`` has set the forecast cells)."""
        t_all = hist.times
        end = hist.end_day
        self.cell_areas_km2_ = self.grid_.areas_km2(self.cells_)
        self._neigh = _neighbour_matrix(self.grid_, self.cells_)

        window = float(self.window_days) if self.window_days is not None else end - float(t_all.min())
        start = end - window
        tc, dc = float(self.time_cutoff_days), float(self.distance_cutoff_km)
        keep = t_all >= start - tc
        t = t_all[keep]
        xyz = to_xyz_km(hist.latitude[keep], hist.longitude[keep])
        is_target = t >= start
        cell_index = self._cell_index[keep]
        self.window_start_ = start
        self.window_length_days_ = window
        self._t, self._xyz = t, xyz
        self._lat, self._lon = hist.latitude[keep], hist.longitude[keep]
        self.n_events_ = int(is_target.sum())

        i, j, dt, r2 = _pairs(t, xyz, tc, dc, is_target)
        self.n_pairs_ = len(i)
        win = _Window(
            t, is_target, cell_index[is_target], i, j, dt, r2, start, end, tc, dc, self.cell_areas_km2_
        )
        fit = _em(
            win,
            self._neigh,
            float(self.background_smoothing),
            float(self.background_pseudocount),
            self.background_halflife_days,
            float(self.min_bandwidth_km),
            self.max_iter,
            float(self.tol),
        )
        self.branching_ratio_ = fit["alpha"]
        self.decay_per_day_ = fit["omega"]
        self.bandwidth_km_ = fit["sigma"]
        self.background_rate_ = pd.Series(
            fit["mu"], index=pd.Index(self.cells_, name="cell_id"), name="events_per_day"
        )
        self.log_likelihood_ = fit["loglik"]
        self.n_iter_ = fit["n_iter"]
        self.params_ = _uncertainty(fit, win, float(self.min_bandwidth_km))

    # ------------------------------------------------------------------ predict
    def predict(self, horizon_days: int) -> pd.DataFrame:
        """Forecast each cell for the ``horizon_days`` days after the cut-off.

        ``expected_events`` includes the cascade inside the horizon; ``probability`` = P(at least one
        event) = 1 - exp(-first_events), where ``first_events`` counts only the events that need no
        event of the horizon before them (background plus the influence of past events): a cell sees
        violence iff one of those happens, and the cascade only adds to it (the cascade is kept in its
        cell, so this is exact under the model's approximation).

        Returns
        -------
        DataFrame ``cell_id, latitude, longitude, probability, expected_events, background_events,
        triggered_events`` (counts in events per horizon), one row per forecast cell, as ``cells_``.
        """
        self._check_is_fitted("predict")
        h = check_horizon(horizon_days)
        first, expected = self._horizon_counts(h)
        background = self.background_rate_.to_numpy() * h
        return pd.DataFrame(
            {
                "cell_id": self.cells_,
                "latitude": self.cell_latitude_,
                "longitude": self.cell_longitude_,
                "probability": -np.expm1(-first),
                "expected_events": expected,
                "background_events": background,
                "triggered_events": np.maximum(expected - background, 0.0),
            }
        )

    def predict_cdf(self, horizon_days: int, max_count: int) -> np.ndarray:
        """P(count <= k), k = 0..max_count, per cell, rows as ``cells_``.

        A negative binomial with the forecast mean and the forecast P(count = 0): clusters make counts
        overdispersed. Where the cascade adds nothing it is the Poisson with that mean.
        """
        from scipy.stats import nbinom, poisson

        self._check_is_fitted("predict_cdf")
        first, mean = self._horizon_counts(check_horizon(horizon_days))
        ks = np.arange(max_count + 1)[None, :]
        over = mean > first * (1 + 1e-6) + 1e-12
        out = poisson.cdf(ks, mean[:, None])
        if over.any():
            k = _nb_size(mean[over], first[over])
            out[over] = nbinom.cdf(ks, k[:, None], (k / (k + mean[over]))[:, None])
        return np.asarray(out)

    def intensity_at(self, latitude: np.ndarray, longitude: np.ndarray, horizon_days: int) -> np.ndarray:
        """Expected events per km^2 over the horizon at given points (for place-level risk weights)."""
        self._check_is_fitted("intensity_at")
        h = check_horizon(horizon_days)
        lat = np.asarray(latitude, dtype=float)
        lon = np.asarray(longitude, dtype=float)
        grid = self.grid_
        cells = grid.cell_ids(lat, lon)
        pos = np.searchsorted(self.cells_, cells)
        pos = np.clip(pos, 0, len(self.cells_) - 1)
        inside = self.cells_[pos] == cells
        mu = np.where(inside, self.background_rate_.to_numpy()[pos] / self.cell_areas_km2_[pos], 0.0) * h
        end = self.until_day_end()
        w = self._time_weights(end, h).sum(axis=1)  # events each parent triggers in the horizon
        if not w.any():
            return mu
        par = w > 0
        sig, dc = self.bandwidth_km_, float(self.distance_cutoff_km)
        pts = to_xyz_km(lat, lon)
        from scipy.spatial import cKDTree

        tree = cKDTree(self._xyz[par])
        dist = tree.sparse_distance_matrix(cKDTree(pts), dc, output_type="coo_matrix")
        norm = 2 * np.pi * sig**2 * -np.expm1(-(dc**2) / (2 * sig**2))
        dens = np.exp(-(dist.data**2) / (2 * sig**2)) / norm
        trig = np.bincount(dist.col, weights=w[par][dist.row] * dens, minlength=len(lat))
        return mu + trig

    def until_day_end(self) -> float:
        """End of the cut-off day on the model's time axis (days since 1970-01-01)."""
        self._check_is_fitted("until_day_end")
        return float(days_since_epoch(pd.Series([pd.Timestamp(self.until_)]))[0] + 1.0)

    def _time_weights(self, end: float, h: int) -> np.ndarray:
        """Events each kept event triggers on each forecast day: (n_events, h), includes alpha."""
        tc = float(self.time_cutoff_days)
        edges = end + np.arange(h + 1)
        cdf = _trunc_exp_cdf(edges[None, :] - self._t[:, None], self.decay_per_day_, tc)
        return np.asarray(self.branching_ratio_ * np.diff(cdf, axis=1))

    def _horizon_counts(self, h: int) -> tuple[np.ndarray, np.ndarray]:
        """Per cell: events needing no horizon event before them, and all expected events."""
        base, rates = self._daily_rates(h)
        return base.sum(axis=1), rates.sum(axis=1)

    def _daily_rates(self, h: int) -> tuple[np.ndarray, np.ndarray]:
        end = self.until_day_end()
        n_cells = len(self.cells_)
        w = self._time_weights(end, h)
        active = w.sum(axis=1) > 0
        trig = np.zeros((n_cells, h))
        if active.any():
            spread = self._spread_matrix(np.flatnonzero(active))
            trig = spread.T @ w[active]
        mu = self.background_rate_.to_numpy()
        base = mu[:, None] + trig
        # cascade inside the horizon: events of day s trigger on days d >= s (kept in their cell)
        alpha, omega, tc = self.branching_ratio_, self.decay_per_day_, float(self.time_cutoff_days)
        lags = np.arange(h + 1)
        kd = alpha * np.diff(_trunc_exp_cdf(np.concatenate([[0.0], lags[1:] - 0.5, [h + 0.5]]), omega, tc))
        same_day = kd[0]
        rates = np.zeros_like(base)
        for d in range(h):
            carry = rates[:, :d] @ kd[d:0:-1] if d else 0.0
            rates[:, d] = (base[:, d] + carry) / (1.0 - same_day)
        return base, rates

    def _spread_matrix(self, parents: np.ndarray) -> sparse.csr_matrix:
        """Share of each parent's offspring that lands in each forecast cell (rows: parents)."""
        east, north = _kernel_points(self.bandwidth_km_, float(self.distance_cutoff_km))
        lat, lon = self._lat[parents], self._lon[parents]
        key = pd.DataFrame({"a": lat, "b": lon})
        codes, uniq = pd.factorize(pd.MultiIndex.from_frame(key))
        ulat = np.asarray([u[0] for u in uniq], dtype=float)
        ulon = np.asarray([u[1] for u in uniq], dtype=float)
        plat, plon = offset_points(
            np.repeat(ulat, len(east)),
            np.repeat(ulon, len(east)),
            np.tile(east, len(ulat)),
            np.tile(north, len(ulat)),
        )
        pc = self.grid_.cell_ids(plat, plon)
        pos = np.clip(np.searchsorted(self.cells_, pc), 0, len(self.cells_) - 1)
        ok = self.cells_[pos] == pc
        rows = np.repeat(np.arange(len(ulat)), len(east))
        m = sparse.coo_matrix(
            (np.full(ok.sum(), 1.0 / len(east)), (rows[ok], pos[ok])), shape=(len(ulat), len(self.cells_))
        ).tocsr()
        return m[codes]


# ---------------------------------------------------------------------- kernels
def _nb_size(mean: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Size k of the negative binomial with mean ``mean`` and P(0) = exp(-first) (first < mean).

    P(0) = (1 + mean/k)^-k rises from 0 to exp(-mean) as k grows, so bisection on log k finds it.
    """
    lo = np.full(len(mean), -20.0)
    hi = np.full(len(mean), 20.0)
    for _ in range(80):
        mid = (lo + hi) / 2
        k = np.exp(mid)
        too_small = k * np.log1p(mean / k) < first
        lo = np.where(too_small, mid, lo)
        hi = np.where(too_small, hi, mid)
    return np.asarray(np.exp((lo + hi) / 2))


def _trunc_exp_cdf(x: np.ndarray, rate: float, cutoff: float) -> np.ndarray:
    """CDF of an exponential(rate) truncated to [0, cutoff] (0 below 0, 1 above cutoff)."""
    xc = np.clip(x, 0.0, cutoff)
    return np.asarray(np.expm1(-rate * xc) / np.expm1(-rate * cutoff))


def _trunc_exp_rate(mean: float, cutoff: float) -> float:
    """MLE of the rate of an exponential truncated at ``cutoff`` whose (weighted) sample mean is ``mean``."""
    q = mean / cutoff
    if q >= 0.5 - 1e-9:
        return 1e-6 / cutoff
    if q <= 1e-9:
        return 1e9 / cutoff

    def g(log_u: float) -> float:
        u = math.exp(log_u)
        val = 0.5 - u / 12.0 if u < 1e-4 else 1.0 / u - 1.0 / math.expm1(u) if u < 700 else 1.0 / u
        return val - q

    return math.exp(brentq(g, math.log(1e-9), math.log(1e9), xtol=1e-12)) / cutoff


def _kernel_points(sigma: float, cutoff: float, n_r: int = 8, n_a: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Equal-mass points of the truncated 2-D Gaussian (km east, km north), for spreading offspring."""
    tail = -math.expm1(-(cutoff**2) / (2 * sigma**2))
    u = (np.arange(n_r) + 0.5) / n_r
    r = sigma * np.sqrt(-2.0 * np.log1p(-u * tail))
    ang = 2 * np.pi * (np.arange(n_a)[None, :] + 0.5 * (np.arange(n_r)[:, None] % 2)) / n_a
    return (r[:, None] * np.cos(ang)).ravel(), (r[:, None] * np.sin(ang)).ravel()


@dataclass(frozen=True)
class _Window:
    """The fitted window's events and their (parent, child) pairs: what EM, the likelihood and its
    curvature all read (one bundle instead of the same twelve arguments to each)."""

    t: np.ndarray  # days of the events that may take part (the window's and up to tc before it)
    is_target: np.ndarray  # events inside the window: the ones whose rate is fitted
    target_cell: np.ndarray  # forecast-cell index of each target event
    i: np.ndarray  # parent of each pair (index into t)
    j: np.ndarray  # child of each pair (a target)
    dt: np.ndarray  # days from parent to child
    r2: np.ndarray  # squared km from parent to child
    start: float  # first day of the window
    end: float  # cut-off day
    tc: float  # time cut-off, days
    dc: float  # distance cut-off, km
    areas: np.ndarray  # area of each forecast cell, km^2


def _pairs(
    t: np.ndarray, xyz: np.ndarray, tc: float, dc: float, is_target: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All (parent i, child j) with 0 < t_j - t_i <= tc, distance <= dc and j a target event."""
    from scipy.spatial import cKDTree

    if len(t) < 2:
        e = np.empty(0)
        return e.astype(np.int64), e.astype(np.int64), e, e
    pts = np.column_stack([xyz, t * (dc / tc)])
    tree = cKDTree(pts)
    pr = tree.query_pairs(r=dc * (1 + 1e-9), p=np.inf, output_type="ndarray")
    a, b = pr[:, 0].astype(np.int64), pr[:, 1].astype(np.int64)
    swap = t[a] > t[b]
    i = np.where(swap, b, a)
    j = np.where(swap, a, b)
    dt = t[j] - t[i]
    r2 = ((xyz[j] - xyz[i]) ** 2).sum(axis=1)
    ok = (dt > 0) & (dt <= tc) & (r2 <= dc * dc) & is_target[j]
    order = np.lexsort((i[ok], j[ok]))
    return i[ok][order], j[ok][order], dt[ok][order], r2[ok][order]


def _neighbour_matrix(grid: Grid, cells: np.ndarray) -> sparse.csr_matrix:
    """Row-normalised matrix averaging each forecast cell's neighbourhood (itself included)."""
    rows, cols = [], []
    for k, c in enumerate(cells):
        nb = grid.neighbours(np.array([c], dtype=np.int64))
        pos = np.searchsorted(cells, nb)
        pos = np.clip(pos, 0, len(cells) - 1)
        pos = pos[cells[pos] == nb]
        rows.append(np.full(len(pos), k))
        cols.append(pos)
    r, c = np.concatenate(rows), np.concatenate(cols)
    m = sparse.coo_matrix((np.ones(len(r)), (r, c)), shape=(len(cells), len(cells))).tocsr()
    deg = np.asarray(m.sum(axis=1)).ravel()
    return sparse.diags(1.0 / deg) @ m


def _log_lik(
    alpha: float,
    omega: float,
    sigma: float,
    bg_density: np.ndarray,
    mu_total: float,
    win: _Window,
    n_targets: int,
    target_pos: np.ndarray,
) -> float:
    """Log-likelihood of the window's events given the kernel parameters and background."""
    kern = _kernel(omega, sigma, win.dt, win.r2, win.tc, win.dc)
    lam = bg_density + alpha * np.bincount(target_pos[win.j], weights=kern, minlength=n_targets)
    comp = mu_total * (win.end - win.start) + alpha * _compensator(win.t, omega, win.start, win.end, win.tc)
    return float(np.log(lam).sum() - comp)


def _kernel(omega: float, sigma: float, dt: np.ndarray, r2: np.ndarray, tc: float, dc: float) -> np.ndarray:
    ht = omega * np.exp(-omega * dt) / -np.expm1(-omega * tc)
    gs = np.exp(-r2 / (2 * sigma**2)) / (2 * np.pi * sigma**2 * -np.expm1(-(dc**2) / (2 * sigma**2)))
    return np.asarray(ht * gs)


def _compensator(t: np.ndarray, omega: float, start: float, end: float, tc: float) -> float:
    return float((_trunc_exp_cdf(end - t, omega, tc) - _trunc_exp_cdf(start - t, omega, tc)).sum())


def _em(
    win: _Window,
    neigh: sparse.csr_matrix,
    smoothing: float,
    pseudocount: float,
    halflife: float | None,
    min_sigma: float,
    max_iter: int,
    tol: float,
) -> dict[str, Any]:
    """EM for the background rates and the kernel parameters (Veen & Schoenberg 2008).

    With ``halflife`` the background's M-step is a time-weighted (local) likelihood: an event
    ``halflife`` days before the cut-off counts half, so the background follows a conflict's trend.
    """
    target_cell, tc = win.target_cell, win.tc
    n_t = int(win.is_target.sum())
    window = win.end - win.start
    if halflife is None:
        weight = np.ones(n_t)
        effective = window
    else:
        weight = np.exp2(-(win.end - win.t[win.is_target]) / halflife)
        effective = halflife / math.log(2) * -np.expm1(-window * math.log(2) / halflife)
    target_pos = np.cumsum(win.is_target) - 1  # index among targets, valid where is_target
    jt = target_pos[win.j]
    n_cells = len(win.areas)

    def background(b: np.ndarray) -> np.ndarray:
        smooth = (1 - smoothing) * b + smoothing * (neigh @ b)
        return np.asarray((smooth + pseudocount) / effective)

    counts = np.bincount(target_cell, weights=weight, minlength=n_cells)
    mu = background(0.5 * counts)
    sigma0 = max(win.dc / 5.0, min_sigma)
    alpha, omega, sigma = (0.5, 1.0 / 7.0, sigma0) if len(win.i) else (0.0, 1.0 / 7.0, sigma0)
    loglik, it = -np.inf, 0
    for it in range(1, max_iter + 1):  # noqa: B007
        bg = mu[target_cell] / win.areas[target_cell]
        kern = alpha * _kernel(omega, sigma, win.dt, win.r2, tc, win.dc)
        lam = bg + np.bincount(jt, weights=kern, minlength=n_t)
        new_ll = float(
            np.log(lam).sum() - mu.sum() * window - alpha * _compensator(win.t, omega, win.start, win.end, tc)
        )
        p = kern / lam[jt]
        b = np.bincount(target_cell, weights=weight * bg / lam, minlength=n_cells)
        mu = background(b)
        s = float(p.sum())
        if s > 1e-12:
            alpha = min(s / _compensator(win.t, omega, win.start, win.end, tc), _ALPHA_MAX)
            omega = _trunc_exp_rate(float((p * win.dt).sum()) / s, tc)
            nu = _trunc_exp_rate(float((p * win.r2).sum()) / s, win.dc * win.dc)
            sigma = max(math.sqrt(1.0 / (2.0 * nu)), min_sigma)
        else:
            alpha = 0.0
        if abs(new_ll - loglik) <= tol * (1.0 + abs(new_ll)):
            loglik = new_ll
            break
        loglik = new_ll
    return {
        "alpha": alpha,
        "omega": omega,
        "sigma": sigma,
        "mu": mu,
        "loglik": loglik,
        "n_iter": it,
        "target_pos": target_pos,
        "n_targets": n_t,
    }


def _uncertainty(fit: dict[str, Any], win: _Window, min_sigma: float = 0.0) -> pd.DataFrame:
    """Estimates with standard errors from the observed information in log-parameters (delta method).

    A parameter at a bound (branching ratio at its cap, bandwidth at its floor) is held fixed and gets
    no interval; the others' information is computed with it fixed.
    """
    mu = fit["mu"]
    bg = mu[win.target_cell] / win.areas[win.target_cell]
    theta = np.log([max(fit["alpha"], 1e-12), fit["omega"], fit["sigma"]])
    se_log = np.full(3, np.nan)
    free = [
        k
        for k, at_bound in enumerate(
            [fit["alpha"] >= _ALPHA_MAX * (1 - 1e-9), False, fit["sigma"] <= min_sigma * (1 + 1e-9)]
        )
        if not at_bound
    ]
    if fit["alpha"] > 1e-6 and len(win.i) >= 3:

        def ll(th: np.ndarray) -> float:
            a, o, s = np.exp(th)
            return _log_lik(a, o, s, bg, float(mu.sum()), win, fit["n_targets"], fit["target_pos"])

        step = 1e-3
        m = len(free)
        hess = np.zeros((m, m))
        f0 = ll(theta)
        for x, a in enumerate(free):
            for y in range(x, m):
                b = free[y]
                ea, eb = np.eye(3)[a] * step, np.eye(3)[b] * step
                if a == b:
                    val = (ll(theta + ea) - 2 * f0 + ll(theta - ea)) / step**2
                else:
                    val = (
                        ll(theta + ea + eb) - ll(theta + ea - eb) - ll(theta - ea + eb) + ll(theta - ea - eb)
                    ) / (4 * step**2)
                hess[x, y] = hess[y, x] = val
        try:
            cov = np.linalg.inv(-hess)
            diag = np.diag(cov)
            if np.all(diag > 0):
                se_log[free] = np.sqrt(diag)
        except np.linalg.LinAlgError:
            pass
    est = np.exp(theta)
    est[0] = fit["alpha"]
    se_log = np.where(se_log < 50, se_log, np.nan)  # a flat likelihood: no usable interval
    return pd.DataFrame(
        {
            "parameter": ["branching_ratio", "decay_per_day", "bandwidth_km"],
            "estimate": est,
            "std_error": est * se_log,
            "ci_low": np.exp(theta - 1.96 * se_log),
            "ci_high": np.exp(theta + 1.96 * se_log),
            "unit": ["events per event", "1/day", "km"],
            "meaning": [
                "mean number of events one event triggers directly",
                "rate of decay of the triggering in time (mean delay 1/decay days)",
                "standard deviation of the distance between an event and those it triggers",
            ],
        }
    )


# ---------------------------------------------------------------------- simulation
def simulate_hawkes(
    *,
    background_per_day: float,
    alpha: float,
    decay_per_day: float,
    bandwidth_km: float,
    days: float,
    bbox: tuple[float, float, float, float] = (34.0, 36.0, 38.0, 40.0),
    hotspots: int = 0,
    start: str = "2015-01-01",
    seed: int,
) -> pd.DataFrame:
    """Simulate the space-time Hawkes process by its branching structure (for tests and benchmarks).

    Parameters
    ----------
    background_per_day
        Background events per day over the whole box.
    alpha, decay_per_day, bandwidth_km
        Branching ratio (< 1), exponential decay rate (1/day), Gaussian spatial sigma (km).
    days
        Length of the simulated period (days from ``start``).
    bbox
        (lat_min, lon_min, lat_max, lon_max), degrees; background uniform in it (or around hotspots).
    hotspots
        If > 0, the background is concentrated around this many random centres (sigma 30 km).
    seed
        Random seed (numpy ``default_rng``).

    Returns
    -------
    DataFrame with ``event_id, date_start`` (timestamps with time of day), ``latitude, longitude,
    country_iso3, fatalities_best, generation``.
    """
    if not 0 <= alpha < 1:
        raise InputError(f"alpha must be in [0, 1) for a stable process, got {alpha}.")
    rng = np.random.default_rng(seed)
    lat0, lon0, lat1, lon1 = bbox
    n0 = rng.poisson(background_per_day * days)
    t = rng.uniform(0, days, n0)
    if hotspots > 0:
        clat = rng.uniform(lat0, lat1, hotspots)
        clon = rng.uniform(lon0, lon1, hotspots)
        k = rng.integers(0, hotspots, n0)
        lat, lon = offset_points(clat[k], clon[k], rng.normal(0, 30, n0), rng.normal(0, 30, n0))
    else:
        lat = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(lat0)), np.sin(np.radians(lat1)), n0)))
        lon = rng.uniform(lon0, lon1, n0)
    all_t, all_lat, all_lon, all_gen = [t], [lat], [lon], [np.zeros(n0, int)]
    gen = 0
    while len(t):
        gen += 1
        kids = rng.poisson(alpha, len(t))
        par = np.repeat(np.arange(len(t)), kids)
        t = t[par] + rng.exponential(1.0 / decay_per_day, len(par))
        lat, lon = offset_points(
            lat[par], lon[par], rng.normal(0, bandwidth_km, len(par)), rng.normal(0, bandwidth_km, len(par))
        )
        inside = t < days
        t, lat, lon = t[inside], lat[inside], lon[inside]
        all_t.append(t)
        all_lat.append(lat)
        all_lon.append(lon)
        all_gen.append(np.full(len(t), gen))
    tt = np.concatenate(all_t)
    order = np.argsort(tt, kind="stable")
    stamps = pd.Timestamp(start) + pd.to_timedelta(tt[order], unit="D")
    n = len(tt)
    return pd.DataFrame(
        {
            "event_id": [f"sim-{seed}-{k}" for k in range(n)],
            "date_start": stamps,
            "latitude": np.concatenate(all_lat)[order],
            "longitude": np.concatenate(all_lon)[order],
            "country_iso3": "SIM",
            "fatalities_best": 1,
            "generation": np.concatenate(all_gen)[order],
        }
    )


# ---------------------------------------------------------------------- planner hook
def forecast_risk_weight(
    places: pd.DataFrame,
    events: pd.DataFrame,
    as_of: date | None,
    *,
    horizon_days: int = 14,
    floor: float = 0.1,
    model: str | None = None,
) -> np.ndarray:
    """A ``RiskWeight`` for the planner: the hotspot forecast of violence at each place.

    ``model`` names the forecaster (``None``: the default, the selection protocol's winner,
    :func:`kalkan.risk.hotspot_selection.selected_model`). It is fitted on H3 resolution-6 cells
    (~36 km^2) to the located, dated events on or before ``as_of`` (events without coordinates or
    dates are left out: the planner's incident lists are often town-level or undated) and gives the
    expected events per km^2 at each place over the next ``horizon_days``: for the Hawkes model at
    the place's coordinates (kernels cut at 30 days and 50 km, bandwidth at least 5 km because
    incident coordinates are town points), for the others in the place's cell. The weight is
    ``floor + (1 - floor) * f / max(f)``: 1 at the place most at risk, never below ``floor`` (the same
    scale as :func:`kalkan.plan.exposure.incident_kernel_weight`, so the two can be swapped). With no
    usable event before ``as_of``, or a forecast that is flat, every place gets 1.

    Parameters
    ----------
    places
        Table with ``latitude`` and ``longitude`` (degrees).
    events
        Event table in kalkan.model columns.
    as_of
        Cut-off day (``None``: the last event's day).
    horizon_days, floor
        Days forecast; weight of a place with no forecast violence, in [0, 1].
    model
        A model name (see ``kalkan risk hotspots --model``) or ``None`` for the default.

    Returns
    -------
    One multiplier in [floor, 1] per place.
    """
    if not 0 <= floor <= 1:
        raise InputError(f"floor must be in [0, 1], got {floor}.")
    n = len(places)
    if n == 0:
        return np.zeros(0)
    ev = events.copy()
    for col in ("latitude", "longitude", "date_start"):
        if col not in ev.columns:
            ev[col] = np.nan
    lat = pd.to_numeric(ev["latitude"], errors="coerce")
    lon = pd.to_numeric(ev["longitude"], errors="coerce")
    dates = pd.to_datetime(ev["date_start"], errors="coerce")
    usable = lat.notna() & lon.notna() & dates.notna()
    if as_of is not None:
        usable &= dates.dt.normalize() <= pd.Timestamp(as_of)
    ev = ev.loc[usable]
    if len(ev) == 0:
        return np.ones(n)
    if model is None:
        from kalkan.risk.hotspot_selection import selected_model

        model = selected_model(None).model
    p_lat = places["latitude"].to_numpy(float)
    p_lon = places["longitude"].to_numpy(float)
    if model == "hawkes" or model.startswith("hawkes_"):
        from kalkan.risk.hotspot_backtest import VARIANTS

        settings = dict(VARIANTS.get(model, ("hawkes", {}))[1])
        settings.setdefault("window_days", None)
        hawkes = HotspotModel(
            grid="h3:6",
            time_cutoff_days=30.0,
            distance_cutoff_km=50.0,
            background_smoothing=0.5,
            background_pseudocount=0.1,
            min_bandwidth_km=5.0,
            **settings,
        )
        hawkes.fit(ev, until=as_of)
        dens = hawkes.intensity_at(p_lat, p_lon, horizon_days)
    else:
        from kalkan.risk.hotspot_backtest import make_model

        fitted = make_model(model, "h3:6").fit(ev, until=as_of)
        fc = fitted.predict(horizon_days)
        cells = fitted.cells_
        per_km2 = fc["expected_events"].to_numpy(float) / fitted.grid_.areas_km2(cells)
        ids = fitted.grid_.cell_ids(p_lat, p_lon)
        pos = np.clip(np.searchsorted(cells, ids), 0, len(cells) - 1)
        dens = np.where(cells[pos] == ids, per_km2[pos], 0.0)
    dens = np.nan_to_num(dens, nan=0.0)
    top = dens.max()
    return floor + (1 - floor) * dens / top if top > 0 else np.ones(n)
