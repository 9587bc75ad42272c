# ruff: noqa: E501  (the Markdown report is prose: long lines are sentences)
"""Benchmark: kalkan's incident kernel against scikit-learn's KernelDensity, side by side.

Both compute, for every place, a sum over incidents of a Gaussian in great-circle distance weighted by an
exponential decay in time (scikit-learn: ``KernelDensity(metric="haversine")`` with ``sample_weight``,
a ball tree). kalkan's ``incident_kernel_weight`` is dense numpy. The run reports seconds (best of 3) and
the largest difference between the two after both are scaled to a maximum of 1 (they must agree).
Sizes: the embedded scenario (1,295 places, 26 located incidents), then synthetic sets up to
10,000 places x 2,000 incidents in the same region (seed 0). It also times ``places_at_risk`` and
``kalkan brief``'s steps on the embedded scenario.

Run from the repository root: ``.venv/bin/python bench/exposure_kernel.py``.
"""

from __future__ import annotations

import sys
import time
from datetime import date

import numpy as np
import pandas as pd

from _report import machine, write_section
from kalkan.plan.defaults import RISK_DECAY_DAYS, RISK_KERNEL_KM
from kalkan.plan.exposure import incident_kernel_weight, places_at_risk
from kalkan.scenarios import load_scenario

AS_OF = date(2010, 6, 30)
DISTANCE_KM, DECAY_DAYS = RISK_KERNEL_KM, RISK_DECAY_DAYS


def best_of(fn, repeat: int = 3) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def sklearn_kernel(places: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    from sklearn.neighbors import KernelDensity

    ev = events[events["latitude"].notna() & (events["date_start"].dt.date <= AS_OF)]
    age = np.array([(AS_OF - min(d.date(), AS_OF)).days for d in ev["date_end"]], dtype=float)
    kde = KernelDensity(kernel="gaussian", metric="haversine", bandwidth=DISTANCE_KM / 6371.0088, rtol=0.0)
    kde.fit(np.radians(ev[["latitude", "longitude"]].to_numpy()), sample_weight=np.exp(-age / DECAY_DAYS))
    density = np.exp(kde.score_samples(np.radians(places[["latitude", "longitude"]].to_numpy())))
    return density / density.max()


def synthetic(n_places: int, n_events: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    places = pd.DataFrame(
        {"latitude": rng.uniform(39.5, 42.0, n_places), "longitude": rng.uniform(70.5, 74.5, n_places)}
    )
    start = pd.Timestamp("2010-05-01") + pd.to_timedelta(rng.integers(0, 60, n_events), unit="D")
    events = pd.DataFrame(
        {
            "latitude": rng.normal(40.7, 0.3, n_events),
            "longitude": rng.normal(72.8, 0.4, n_events),
            "date_start": start,
            "date_end": start,
        }
    )
    return places, events


def main() -> None:
    scenario = load_scenario()
    cases = [("embedded scenario", scenario.places, scenario.incidents)]
    sizes = [(5_000, 500), (10_000, 2_000)] if "--quick" not in sys.argv else [(2_000, 200)]
    cases += [(f"synthetic {n:,} x {m:,}", *synthetic(n, m)) for n, m in sizes]
    rows = []
    for name, places, events in cases:
        located = int(events["latitude"].notna().sum())
        t_ours, ours = best_of(
            lambda p=places, e=events: incident_kernel_weight(
                p, e, AS_OF, distance_km=DISTANCE_KM, decay_days=DECAY_DAYS, floor=0.0
            )
        )
        t_peer, peer = best_of(lambda p=places, e=events: sklearn_kernel(p, e))
        diff = float(np.max(np.abs(np.asarray(ours) - np.asarray(peer))))
        rows.append(
            f"| {name} | {len(places):,} | {located:,} | {t_ours * 1000:,.1f} | {t_peer * 1000:,.1f} | {diff:.1e} |"
        )
        print(rows[-1], flush=True)

    t_exp, table = best_of(lambda: places_at_risk(scenario))
    from kalkan.scenarios import _loader

    _loader._load.cache_clear()
    t0 = time.perf_counter()
    load_scenario()
    t_load = time.perf_counter() - t0

    from kalkan.report.brief import compute_brief, render_html, write_pdf

    t0 = time.perf_counter()
    data = compute_brief(scenario)
    t_compute = time.perf_counter() - t0
    t0 = time.perf_counter()
    html = render_html(data)
    t_html = time.perf_counter() - t0
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_pdf(html, Path(tmp) / "brief.pdf")
        t_pdf = time.perf_counter() - t0

    text = f"""## Populations at risk: incident kernel vs scikit-learn KernelDensity

{machine()} Command: `.venv/bin/python bench/exposure_kernel.py`.

The brief's risk weight is a Gaussian kernel in great-circle distance (25 km) times an exponential decay in time
(14 days) summed over incidents. scikit-learn's `KernelDensity(metric="haversine", kernel="gaussian")` with
`sample_weight` computes the same sum (ball tree, exact: `rtol=0`). Both are scaled to a maximum of 1; the last
column is the largest difference (they must agree). Seconds are the best of 3.

| case | places | located incidents | kalkan (ms) | scikit-learn (ms) | max difference |
|---|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

On the embedded scenario: `places_at_risk` (population estimates, group shares, kernel) {t_exp * 1000:,.0f} ms over
{len(table):,} places; loading and checking the scenario's ten files (first call; later calls are cached) {t_load * 1000:,.0f} ms.
`kalkan brief` with the default five options: analysis (people at risk, 5 placements at 2 s solver limit each,
two coverage curves) {t_compute:,.1f} s, HTML {t_html:,.1f} s, PDF (WeasyPrint) {t_pdf:,.1f} s. The solver time is
bounded by `--time-limit`; the 2-core machine is shared, so wall times vary.
"""
    write_section("exposure_kernel", text)
    print(text)


if __name__ == "__main__":
    main()
