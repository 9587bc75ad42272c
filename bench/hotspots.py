"""Benchmark of the hotspot models: fit time, a naive likelihood, tick, and the GED backtest skill table.

Run from the repository root::

    .venv/bin/python bench/hotspots.py                 # everything (backtest ~10-20 min on 2 cores)
    .venv/bin/python bench/hotspots.py --skip-backtest  # fit times only

Writes the ``hotspots`` section of BENCHMARKS.md (``--no-write`` prints it instead).

1. Fit time on ~100,000 events simulated from known parameters (kalkan's EM with truncated kernels),
   with the recovered parameters beside the true ones.
2. A naive O(n^2) log-likelihood (every earlier event, no truncation, no tree) timed on growing
   prefixes and extrapolated to the same n; an EM fit needs one such evaluation per iteration.
3. The ``tick`` library's Hawkes learners (temporal only; there is no space-time learner in tick).
4. Fit time and parameters on the UCDP GED file, per country.
5. The selection protocol on GED (kalkan.risk.hotspot_selection): candidates chosen on 2012-2014,
   the winner and every baseline scored once on 2015-2019, on Dask; ships the decision as package data.
6. Speed: the default model fitted and forecast at one cut-off for the four GED countries.
"""

from __future__ import annotations

import argparse
import math
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

from _report import machine, write_section
from kalkan.risk.hotspot_selection import ProtocolResult
from kalkan.risk.hotspots import HotspotModel, simulate_hawkes

GED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ged" / "ged_events_pre2020.csv"
TRUE = {"alpha": 0.5, "decay_per_day": 0.2, "bandwidth_km": 5.0}


def simulated(n_target: int, seed: int = 1) -> pd.DataFrame:
    """About ``n_target`` events over 1,000 days in a 10 x 10 degree box (Syria-sized), known parameters."""
    per_day = n_target * (1 - TRUE["alpha"]) / 1000.0
    return simulate_hawkes(
        background_per_day=per_day,
        alpha=TRUE["alpha"],
        decay_per_day=TRUE["decay_per_day"],
        bandwidth_km=TRUE["bandwidth_km"],
        days=1000.0,
        bbox=(30.0, 35.0, 40.0, 45.0),
        seed=seed,
    )


def fit_simulated(n: int) -> tuple[str, HotspotModel, float]:
    ev = simulated(n)
    t0, c0 = time.perf_counter(), time.process_time()
    model = HotspotModel(
        window_days=None,
        time_cutoff_days=60.0,
        distance_cutoff_km=50.0,
        background_smoothing=0.0,
        background_pseudocount=0.0,
    ).fit(ev)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    p = model.params_.set_index("parameter")
    rows = [
        f"| {name} | {TRUE[key]:g} | {p.loc[name, 'estimate']:.4f} | "
        f"[{p.loc[name, 'ci_low']:.4f}, {p.loc[name, 'ci_high']:.4f}] |"
        for name, key in (
            ("branching_ratio", "alpha"),
            ("decay_per_day", "decay_per_day"),
            ("bandwidth_km", "bandwidth_km"),
        )
    ]
    text = (
        f"**{len(ev):,} simulated events** (background {len(ev) * 0.5 / 1000:.0f}/day over 1,000 days, "
        f"10 x 10 degrees): kalkan fit **{wall:.2f} s wall, {cpu:.2f} s CPU**, {model.n_iter_} EM "
        f"iterations, {model.n_pairs_:,} event pairs inside the cut-offs (60 days, 50 km).\n\n"
        "| parameter | true | estimate | 95 % interval |\n|---|---|---|---|\n" + "\n".join(rows)
    )
    return text, model, wall


def naive_log_lik(
    t: np.ndarray,
    xyz: np.ndarray,
    mu_density: np.ndarray,
    mu_total: float,
    alpha: float,
    omega: float,
    sigma: float,
    end: float,
) -> float:
    """Every earlier event is a possible parent: O(n^2), untruncated, vectorised per event."""
    total = 0.0
    for j in range(len(t)):
        dt = t[j] - t[:j]
        r2 = ((xyz[:j] - xyz[j]) ** 2).sum(axis=1)
        trig = alpha * omega * np.exp(-omega * dt) * np.exp(-r2 / (2 * sigma**2)) / (2 * np.pi * sigma**2)
        total += math.log(mu_density[j] + trig.sum())
    comp = mu_total * (end - t.min()) + alpha * (-np.expm1(-omega * (end - t))).sum()
    return total - comp


def naive_timing(model: HotspotModel, n_full: int) -> str:
    """The naive likelihood next to kalkan's (pairs from the k-d tree + one evaluation) on prefixes."""
    from kalkan.risk import hotspots as hs

    t, xyz = model._t, model._xyz
    cells = model.grid_.cell_ids(model._lat, model._lon)
    pos = np.searchsorted(model.cells_, cells)
    dens = model.background_rate_.to_numpy()[pos] / model.cell_areas_km2_[pos]
    mu_total = float(model.background_rate_.sum())
    a, w, s = model.branching_ratio_, model.decay_per_day_, model.bandwidth_km_
    tc, dc = float(model.time_cutoff_days), float(model.distance_cutoff_km)
    sizes = [n for n in (2_000, 4_000, 8_000) if n <= len(t)] or [len(t)]
    rows, secs = [], []
    for n in sizes:
        end = float(t[n - 1])
        t0 = time.perf_counter()
        naive = naive_log_lik(t[:n], xyz[:n], dens[:n], mu_total, a, w, s, end)
        secs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        target = np.ones(n, bool)
        i, j, dt, r2 = hs._pairs(t[:n], xyz[:n], tc, dc, target)
        fast = hs._log_lik(
            a, w, s, dens[:n], mu_total, t[:n], i, j, dt, r2, n, np.arange(n), float(t[0]), end, tc, dc
        )
        fast_s = time.perf_counter() - t0
        rows.append(f"| {n:,} | {secs[-1]:.2f} | {fast_s:.3f} | {naive:,.2f} | {fast:,.2f} |")
    per_eval = secs[-1] / sizes[-1] ** 2 * n_full**2
    return (
        "One log-likelihood evaluation, naive O(n^2) (numpy, every earlier event a possible parent, "
        "no truncation) next to kalkan's (k-d tree pairs inside the cut-offs, then one vectorised "
        "pass; the small differences are the truncated tails):\n\n"
        "| events | naive s | kalkan s | naive log-lik | kalkan log-lik |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
        + f"\n\nThe naive evaluation extrapolated to {n_full:,} events: **{per_eval:,.0f} s**, x "
        f"{model.n_iter_} EM iterations = {per_eval * model.n_iter_ / 3600:,.1f} h for a fit "
        "(quadratic); kalkan's whole fit is in the table above (about linear for a given density)."
    )


def tick_check() -> str:
    lines = ["`tick` (X-DataInitiative; temporal Hawkes only, no space-time learner):"]
    try:
        import tick  # noqa: F401
        from tick.hawkes import SimuHawkesExpKernels
    except Exception as error:  # report what happens on this machine, whatever it is
        return lines[0] + f" not importable here ({type(error).__name__}: {error})."
    sim = SimuHawkesExpKernels(
        adjacency=np.array([[TRUE["alpha"]]]),
        decays=np.array([[TRUE["decay_per_day"]]]),
        baseline=np.array([50.0]),
        end_time=1000.0,
        seed=1,
        verbose=False,
    )
    t0 = time.perf_counter()
    sim.simulate()
    n = len(sim.timestamps[0])
    took = time.perf_counter() - t0
    lines.append(f"- simulator `SimuHawkesExpKernels`: works, {n:,} events in {took:.2f} s.")
    from tick import hawkes as th

    for name, kwargs in (
        ("HawkesExpKern", {"decays": TRUE["decay_per_day"], "verbose": False}),
        ("HawkesSumExpKern", {"decays": np.array([TRUE["decay_per_day"]]), "verbose": False}),
        ("HawkesEM", {"kernel_support": 30.0, "kernel_size": 30}),
        ("HawkesADM4", {"decay": TRUE["decay_per_day"], "verbose": False}),
    ):
        try:
            t0 = time.perf_counter()
            learner = getattr(th, name)(**kwargs)
            learner.fit(sim.timestamps)
            lines.append(f"- learner `{name}`: fitted in {time.perf_counter() - t0:.2f} s.")
        except Exception as error:
            last = traceback.extract_tb(error.__traceback__)[-1]
            lines.append(
                f"- learner `{name}`: **fails** ({type(error).__name__}: {error}; in "
                f"{Path(last.filename).name}:{last.lineno})."
            )
    return "\n".join(lines)


def read_ged() -> pd.DataFrame:
    from kalkan.ingest import read_events

    result = read_events(GED)
    print(f"GED: {len(result.events):,} events read, {len(result.quarantine):,} quarantined")
    return result.events


def ged_fits(events: pd.DataFrame) -> str:
    rows = []
    for iso, sub in [("all", events), *events.groupby("country_iso3")]:
        t0 = time.perf_counter()
        model = HotspotModel(window_days=None).fit(sub)
        wall = time.perf_counter() - t0
        p = model.params_.set_index("parameter")

        def fmt(name: str, p: pd.DataFrame = p) -> str:
            est, lo, hi = p.loc[name, ["estimate", "ci_low", "ci_high"]]
            return f"{est:.3g} [{lo:.3g}, {hi:.3g}]"

        rows.append(
            f"| {iso} | {model.n_events_:,} | {model.n_pairs_:,} | {wall:.2f} | "
            f"{fmt('branching_ratio')} | {fmt('decay_per_day')} | {fmt('bandwidth_km')} |"
        )
    return (
        "Fit on the whole GED file (all years, default settings: PRIO-GRID, kernels cut at 90 days and "
        "100 km):\n\n| country | events | pairs | seconds | branching ratio | decay per day | "
        "bandwidth km |\n|---|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\nGED coordinates are often a town or district centroid shared by many events, so the "
        "bandwidth sits at its 1 km floor (no interval: held fixed there): triggering is 'same coded "
        "place', which the grid forecast handles. Intervals hold the background fixed."
    )


def speed(events: pd.DataFrame, model: str, until: str = "2019-11-30", horizon: int = 31) -> str:
    """Fit the default model and forecast one cut-off for every country of the GED file, timed."""
    import os

    from kalkan.risk.hotspot_backtest import make_model
    from kalkan.risk.hotspot_fatalities import fatality_samples

    rows, total_wall, total_cpu = [], 0.0, 0.0
    load = os.getloadavg()[0]
    for iso, sub in events.groupby("country_iso3"):
        t0, c0 = time.perf_counter(), time.process_time()
        fitted = make_model(model, "priogrid").fit(sub, until=until)
        fc = fitted.predict(horizon)
        draws = fatality_samples(fitted, sub, horizon, seed=0)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        total_wall += wall
        total_cpu += cpu
        rows.append(
            f"| {iso} | {len(sub):,} | {len(fc):,} | {wall:.2f} | {cpu:.2f} | "
            f"{fc['expected_events'].sum():.1f} | {draws.mean(axis=1).sum():,.0f} |"
        )
    verdict = "meets" if total_wall <= 30 else "misses"
    return (
        f"Fit the default model (`{model}`) and forecast the {horizon} days after {until} (events, "
        f"probabilities and the people-killed draws) for each country of the GED file, one process "
        f"(load average {load:.1f} on the 2 cores when it started; other helpers' jobs share them):\n\n"
        "| country | events | cells | wall s | CPU s | expected events | expected deaths |\n"
        "|---|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + f"\n\n**All four countries: {total_wall:.1f} s wall, {total_cpu:.1f} s CPU**; the target is "
        f"30 s: it {verdict} it (ratio {total_wall / 30:.2f} of the budget)."
    )


def _ci(row: pd.Series, key: str, d: int) -> str:
    if key not in row or row[key] != row[key]:
        return "-"
    low, high = row.get(key + "_low"), row.get(key + "_high")
    if low is None or low != low:
        return f"{row[key]:.{d}f}"
    return f"{row[key]:.{d}f} [{low:.{d}f}, {high:.{d}f}]"


def protocol_tables(result: ProtocolResult, wall: float | None) -> str:
    """The selection block's ranking, the held-out scores with intervals and the verdicts."""
    r = result
    p = r.protocol
    sel = r.selection_scores
    pooled = sel[sel["group"] == "pooled"].sort_values("brier")
    lines = [
        "| model | Brier | log loss | CRPS events | CRPS deaths | log score deaths |",
        "|---|---|---|---|---|---|",
    ]
    for _, row in pooled.iterrows():
        name = f"**{row['model']}**" if row["model"] == r.winner else row["model"]
        lines.append(
            f"| {name} | {_ci(row, 'brier', 4)} | {row['logloss']:.4f} | {row['crps']:.3f} | "
            f"{row['crps_deaths']:.2f} | {row['logs_deaths']:.3f} |"
        )
    held = r.held_out_scores
    hl = [
        "| group | model | Brier | log loss | CRPS events | CRPS deaths | log score deaths | PAI 5 % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for group, sub in held.groupby("group", sort=False):
        best_b, best_c = sub["brier"].min(), sub["crps_deaths"].min()
        for _, row in sub.iterrows():
            b, c = _ci(row, "brier", 4), _ci(row, "crps_deaths", 2)
            b = f"**{b}**" if row["brier"] == best_b else b
            c = f"**{c}**" if row["crps_deaths"] == best_c else c
            hl.append(
                f"| {group} | {row['model']} | {b} | {_ci(row, 'logloss', 4)} | "
                f"{_ci(row, 'crps', 3)} | "
                f"{c} | {_ci(row, 'logs_deaths', 3)} | {_ci(row, 'pai_0.05', 2)} |"
            )
    vl = [
        "| group | best baseline (Brier) | Brier gain | winner minus best baseline, Brier [95 %] | "
        "CRPS deaths: winner vs best baseline | beats every baseline in CRPS deaths |",
        "|---|---|---|---|---|---|",
    ]
    for v in r.verdicts.to_dict("records"):
        d = v.get("brier_minus_best")
        diff = (
            f"{d:+.5f} [{v['brier_minus_best_low']:+.5f}, {v['brier_minus_best_high']:+.5f}]"
            if d is not None and d == d
            else "-"
        )
        vl.append(
            f"| {v['group']} | {v['best_baseline']} | {100 * v['brier_gain']:+.1f} % | {diff} | "
            f"{v['crps_deaths']:.2f} vs {v['best_baseline_crps_deaths']:.2f} | "
            f"{'yes' if v['beats_every_baseline_crps_deaths'] else 'no'} |"
        )
    s = r.settings
    took = (
        f" Whole protocol: **{wall / 60:.1f} min wall** on a Dask LocalCluster of 2 workers." if wall else ""
    )
    return (
        f"Protocol (docs/risk-hotspots.md): burn-in {p.burn_in_months} months before {p.start} (only to "
        f"train the ensemble's weights), selection block {p.start}..{p.select_until} "
        f"({s['selection_folds']} country-months), held-out block after {p.select_until} to {p.end} "
        f"({s['held_out_folds']} country-months; Syria's data start in 2016, so it is only in the "
        f"held-out block). Candidates, registered before the run: {', '.join(s['candidates'])}; "
        "baselines: "
        f"{', '.join(s['baselines'])}. Criterion: pooled Brier score on the selection block. Ensemble "
        f"weights refitted every {p.refit_months} months on earlier folds only.{took}\n\n"
        f"**Selection block (pooled; the winner in bold):**\n\n"
        + "\n".join(lines)
        + f"\n\n**Held-out block, scored once: the winner `{r.winner}` and every baseline** "
        "(95 % bootstrap intervals over country-months, 200 replicates; best per group in bold; "
        "CRPS deaths and the log score on fatality bins are per cell-month, lower is better; PAI 5 % = "
        "share of the month's events in the top 5 % of cells / 0.05):\n\n"
        + "\n".join(hl)
        + "\n\n**Verdicts on the held-out block** (paired bootstrap: the same resampled country-months for "
        "both):\n\n" + "\n".join(vl)
    )


def _earlier_fit_times() -> str:
    """The fit-time subsections of the current BENCHMARKS.md section, kept when they are not rerun."""
    from _report import BENCHMARKS

    if not BENCHMARKS.exists():
        return ""
    text = BENCHMARKS.read_text()
    a, b = text.find("<!-- begin hotspots -->"), text.find("<!-- end hotspots -->")
    section = text[a:b] if a >= 0 < b else ""
    cut = section.find("### Fit time")
    if cut < 0:
        return ""
    stop = section.find("### Backtest skill")
    kept = section[cut : stop if stop > cut else len(section)].strip()
    return "_Fit times below are from the earlier run (not rerun: `--skip-fit-times`)._\n\n" + kept


def run_protocol_bench(
    events: pd.DataFrame, scheduler: str, workers: int, boot: int, saved: Path | None
) -> tuple[ProtocolResult, float | None]:
    import pickle

    from kalkan.risk.hotspot_selection import Protocol, run_protocol

    if saved is not None and saved.exists():
        with saved.open("rb") as f:
            result = pickle.load(f)
        return result, result.settings.get("wall_seconds")
    t0 = time.perf_counter()
    result = run_protocol(events, Protocol(), scheduler=scheduler, n_workers=workers, n_boot=boot, seed=0)
    wall = time.perf_counter() - t0
    if saved is not None:
        with saved.open("wb") as f:
            pickle.dump(result, f)
    return result, wall


def ship(result: ProtocolResult) -> None:
    """The selection and the held-out table become package data (the CLI and the brief read them)."""
    from kalkan.risk import hotspot_backtest as hb
    from kalkan.risk.hotspot_selection import save_selection

    save_selection(result, measured=machine())
    p = result.protocol
    held = result.held_out_scores.assign(period=f"{p.select_until}<month<={p.end}", measured=machine())
    held.to_csv(Path(hb.__file__).with_name(hb.SKILL_FILE), index=False, float_format="%.6g")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000, help="simulated events for the fit-time test")
    ap.add_argument("--skip-fit-times", action="store_true", help="skip the simulated and GED fit times")
    ap.add_argument("--skip-backtest", action="store_true")
    ap.add_argument("--skip-speed", action="store_true", help="skip the four-country speed measurement")
    ap.add_argument("--scheduler", default="local")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--boot", type=int, default=200)
    ap.add_argument(
        "--saved",
        type=Path,
        default=None,
        help="pickle of the protocol's result: read it if it exists, else run and write it",
    )
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    parts = [
        "## Hotspot forecasts (`bench/hotspots.py`)",
        machine(),
        "Reproduce: `.venv/bin/python bench/hotspots.py` (see `docs/risk-hotspots.md`); the held-out "
        "table is what `kalkan risk backtest --events ../shared/data/ged/ged_events_pre2020.csv` "
        "prints.",
    ]
    need_ged = not (args.skip_fit_times and args.skip_speed and args.saved and args.saved.exists())
    ged = read_ged() if need_ged else pd.DataFrame()
    if not args.skip_backtest:
        result, wall = run_protocol_bench(ged, args.scheduler, args.workers, args.boot, args.saved)
        ship(result)
        tables = protocol_tables(result, wall)
        print(tables)
        parts += ["### Model selection without look-ahead, and the held-out scores", tables]
        from kalkan.risk.hotspot_selection import selected_model

        if not args.skip_speed:
            sp = speed(ged, selected_model(None).model)
            print(sp)
            parts += ["### Speed: the default model, one cut-off, four countries", sp]
    if args.skip_fit_times:
        kept = _earlier_fit_times()
        if kept:
            parts.append(kept)
    else:
        parts.append("### Fit time of the Hawkes model")
        text, model, _ = fit_simulated(args.events)
        print(text)
        parts.append(text)
        naive = naive_timing(model, len(model._t))
        print(naive)
        parts.append(naive)
        tk = tick_check()
        print(tk)
        parts.append(tk)
        gf = ged_fits(ged)
        print(gf)
        parts += ["### UCDP GED fits", gf]
    md = "\n\n".join(parts)
    if args.no_write:
        print(md)
    else:
        write_section("hotspots", md)


if __name__ == "__main__":
    main()
