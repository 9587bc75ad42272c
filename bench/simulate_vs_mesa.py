"""Benchmark: kalkan's Epstein lattice vs Mesa's own Epstein civil-violence example, and the Monte Carlo.

Run from the repository root: ``.venv/bin/python bench/simulate_vs_mesa.py [--runs 1000] [--quick]``.

1. Steps per second of Mesa 3's ``mesa.examples.advanced.epstein_civil_violence`` model and of
   ``kalkan.simulate.LatticeModel`` at the same size, densities and rules (Mesa's defaults: citizen
   density 0.7, cop density 0.074, von Neumann vision 7, L = 0.8, J_max = 1000, T = 0.1, k = 2.3,
   random sequential activation), at 40x40, 80x80 and 200x200, in one run. Set-up is not timed;
   kalkan's numba kernel is compiled before timing (the compile is reported separately).
2. The Monte Carlo of the embedded scenario: ``--runs`` runs for each of six options (no force and the
   scenario's five default options) on a Dask LocalCluster, wall-clock time end to end, with the
   no-force outcomes beside the 2010 figures the model was calibrated to.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from _report import machine, write_section


def mesa_steps_per_second(width: int, steps: int, seed: int = 1) -> tuple[int, float]:
    """Steps per CPU second of Mesa's example (CPU time: fair on a machine shared with other jobs)."""
    from mesa.examples.advanced.epstein_civil_violence.model import EpsteinCivilViolence

    model = EpsteinCivilViolence(width=width, height=width, seed=seed)
    agents = len(model.agents)
    model.step()  # warm the caches the way a running model has them
    start = time.process_time()
    for _ in range(steps):
        model.step()
    return agents, steps / (time.process_time() - start)


def kalkan_steps_per_second(width: int, steps: int, seed: int = 1) -> tuple[int, float]:
    """Steps per CPU second of kalkan's lattice at Mesa's defaults."""
    from kalkan.simulate import LatticeModel

    model = LatticeModel(width=width, height=width)
    state = model.initial_state(seed)
    start = time.process_time()
    run = model.run_from(state, steps, seed=seed)
    return run.agents, steps / (time.process_time() - start)


def lattice_section(quick: bool) -> str:
    from kalkan.simulate import LatticeModel

    start = time.perf_counter()
    LatticeModel(width=10, height=10, vision=2).run(2, seed=0)
    compile_s = time.perf_counter() - start
    sizes = [(40, 30, 2000), (80, 10, 1000), (200, 3, 100)] if not quick else [(40, 10, 500), (80, 3, 200)]
    rows = []
    for width, mesa_steps, kalkan_steps in sizes:
        m_agents, m_sps = mesa_steps_per_second(width, mesa_steps)
        k_agents, k_sps = kalkan_steps_per_second(width, kalkan_steps)
        rows.append((width, m_agents, k_agents, mesa_steps, m_sps, kalkan_steps, k_sps, k_sps / m_sps))
        print(f"{width}x{width}: Mesa {m_sps:.2f} steps/s ({m_agents} agents), kalkan {k_sps:.1f} steps/s "
              f"({k_agents} agents), x{k_sps / m_sps:.0f}", flush=True)
    lines = [
        "| lattice | agents (Mesa / kalkan) | Mesa steps per CPU s (steps timed) | kalkan steps per CPU s "
        "(steps timed) | speed-up |",
        "|---|---|---|---|---|",
    ]
    for width, ma, ka, ms, msps, ks, ksps, ratio in rows:
        lines.append(f"| {width}x{width} | {ma:,} / {ka:,} | {msps:,.2f} ({ms}) | {ksps:,.0f} ({ks}) | "
                     f"**{ratio:,.0f}x** |")
    lines.append("")
    load = os.getloadavg()[0]
    lines.append(f"Timed in CPU seconds of this process (`time.process_time`), since the machine is "
                 f"shared (load average {load:.1f} on {os.cpu_count()} cores at the end of this part); "
                 f"both models are single-threaded. kalkan's numba kernel compiled (or loaded from cache) "
                 f"in {compile_s:.1f} s before timing. Agent counts differ by the random draw of who stands "
                 "where (same densities). Target: at least 100x Mesa at 80x80 and above.")
    return "\n".join(lines)


def montecarlo_section(runs: int) -> str:
    from dask.distributed import Client, LocalCluster

    from kalkan.plan.units import parse_options
    from kalkan.scenarios import load_scenario
    from kalkan.simulate import simulate_options
    from kalkan.simulate.calibration import TARGETS

    scenario = load_scenario("kyrgyzstan_2010")
    options = parse_options(scenario.option_spec)
    start = time.perf_counter()
    cpu0 = time.process_time()
    with LocalCluster(n_workers=os.cpu_count(), threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        before = client.run(time.process_time)
        table = simulate_options(scenario, options, runs=runs, days=10, seed=0, scheduler=client)
        after = client.run(time.process_time)
    wall = time.perf_counter() - start
    workers_cpu = sum(after[w] - before[w] for w in after)
    parent_cpu = time.process_time() - cpu0
    load = os.getloadavg()[0]
    print(f"Monte Carlo: {runs} runs x {len(table)} options in {wall:.0f} s wall, {workers_cpu:.0f} CPU s "
          f"in workers, {parent_cpu:.0f} CPU s in the parent", flush=True)
    n_cores = os.cpu_count() or 1
    lines = [
        f"Monte Carlo: **{runs:,} runs x {len(table)} options = {runs * len(table):,} runs**, 10 days each, "
        f"on a Dask LocalCluster of {n_cores} single-threaded workers. The machine was shared (load average "
        f"{load:.1f} on {n_cores} cores), so the wall-clock time ({wall:,.0f} s, including scenario "
        f"loading, planning every option's posts and starting the cluster) says more about the "
        f"other jobs than about kalkan. CPU time: **{workers_cpu:,.0f} s in the workers** plus "
        f"{parent_cpu:,.0f} s in the parent (loading, planning, summaries): on {n_cores} dedicated cores "
        f"that is about **{workers_cpu / n_cores + parent_cpu:,.0f} s** (target < 600 s).",
        "",
        "| option | posts | reach | deaths median [5-95%] | homes destroyed | displaced |",
        "|---|---|---|---|---|---|",
    ]
    for row in table.itertuples():
        reach = "-" if row.coverage_kind == "none" else f"{row.covered_share:.0%} {row.coverage_kind}"
        cells = [f"{getattr(row, w + '_median'):,.0f} "
                 f"[{getattr(row, w + '_p5'):,.0f}-{getattr(row, w + '_p95'):,.0f}]"
                 for w in ("deaths", "homes_destroyed", "displaced")]
        lines.append(f"| {row.option} | {row.posts} | {reach} | " + " | ".join(cells) + " |")
    none = table.iloc[0]
    lines += [
        "",
        "Calibration check (no force, 10 days from 10 June 2010, median and 90% interval over the runs):",
        "",
        "| outcome | observed 2010 | simulated |",
        "|---|---|---|",
        f"| deaths | about {TARGETS['deaths']:,.0f} (KIC) | {none.deaths_median:,.0f} "
        f"[{none.deaths_p5:,.0f}-{none.deaths_p95:,.0f}] |",
        f"| homes destroyed | 1,800-2,800 (UNOSAT, OCHA) | {none.homes_destroyed_median:,.0f} "
        f"[{none.homes_destroyed_p5:,.0f}-{none.homes_destroyed_p95:,.0f}] |",
        f"| displaced | about 400,000 (UNHCR) | {none.displaced_median:,.0f} "
        f"[{none.displaced_p5:,.0f}-{none.displaced_p95:,.0f}] |",
        f"| share of the dead from the group at risk | about 74% (KIC) | "
        f"{none.deaths_group0_median / max(none.deaths_median, 1):.0%} (short: no asymmetry is put in) |",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="Monte Carlo runs per option")
    parser.add_argument("--quick", action="store_true", help="smaller lattices (a smoke test)")
    args = parser.parse_args()
    np.seterr(all="ignore")
    lattice = lattice_section(args.quick)
    mc = montecarlo_section(args.runs)
    text = "\n".join([
        "## Simulation: kalkan lattice vs Mesa's Epstein example; Monte Carlo of the options",
        "",
        machine(),
        f"Reproduce: `.venv/bin/python bench/simulate_vs_mesa.py --runs {args.runs}`"
        + (" --quick" if args.quick else "") + " (from the repository root).",
        "",
        lattice,
        "",
        mc,
    ])
    write_section("simulate", text)


if __name__ == "__main__":
    main()
