"""Benchmark: kalkan's Epstein lattice vs Mesa's own Epstein civil-violence example, and the Monte Carlo.

Run from the repository root: ``.venv/bin/python bench/simulate_vs_mesa.py [--runs 1000] [--quick]``.

1. Steps per second of Mesa 3's ``mesa.examples.advanced.epstein_civil_violence`` model and of
   ``kalkan.simulate.LatticeModel`` at the same size, densities and rules (Mesa's defaults: citizen
   density 0.7, cop density 0.074, von Neumann vision 7, L = 0.8, J_max = 1000, T = 0.1, k = 2.3,
   random sequential activation), at 40x40, 80x80 and 200x200, in one run. Set-up is not timed;
   kalkan's numba kernel is compiled before timing (the compile is reported separately).
2. The brief's default comparison of the embedded scenario (``kalkan.simulate.compare_options``:
   ``--runs`` posterior-predictive runs for each of six options) and the Morris sensitivity analysis,
   on a Dask LocalCluster: runs per second (wall and CPU) and total time.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from _report import machine, write_section

T = TypeVar("T")


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
        print(
            f"{width}x{width}: Mesa {m_sps:.2f} steps/s ({m_agents} agents), kalkan {k_sps:.1f} steps/s "
            f"({k_agents} agents), x{k_sps / m_sps:.0f}",
            flush=True,
        )
    lines = [
        "| lattice | agents (Mesa / kalkan) | Mesa steps per CPU s (steps timed) | kalkan steps per CPU s "
        "(steps timed) | speed-up |",
        "|---|---|---|---|---|",
    ]
    for width, ma, ka, ms, msps, ks, ksps, ratio in rows:
        lines.append(
            f"| {width}x{width} | {ma:,} / {ka:,} | {msps:,.2f} ({ms}) | {ksps:,.0f} ({ks}) | "
            f"**{ratio:,.0f}x** |"
        )
    lines.append("")
    load = os.getloadavg()[0]
    lines.append(
        f"Timed in CPU seconds of this process (`time.process_time`), since the machine is "
        f"shared (load average {load:.1f} on {os.cpu_count()} cores at the end of this part); "
        f"both models are single-threaded. kalkan's numba kernel compiled (or loaded from cache) "
        f"in {compile_s:.1f} s before timing. Agent counts differ by the random draw of who stands "
        "where (same densities). Target: at least 100x Mesa at 80x80 and above."
    )
    return "\n".join(lines)


def _timed(client: Any, fn: Callable[[], T]) -> tuple[T, float, float]:
    """Run ``fn()`` and return (result, wall seconds, CPU seconds in the Dask workers)."""
    before = client.run(time.process_time)
    start = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - start
    after = client.run(time.process_time)
    return result, wall, sum(after[w] - before[w] for w in after)


def montecarlo_section(runs: int, trajectories: int) -> str:
    """The brief's default comparison (posterior-predictive, six options) and the Morris sensitivity."""
    from dask.distributed import Client, LocalCluster

    from kalkan.plan.units import parse_options
    from kalkan.scenarios import load_scenario
    from kalkan.simulate import compare_options, sensitivity

    scenario = load_scenario("kyrgyzstan_2010")
    options = parse_options(scenario.option_spec)
    per_draw = 4
    draws = -(-runs // per_draw)
    n_cores = os.cpu_count() or 1
    start = time.perf_counter()
    with (
        LocalCluster(
            n_workers=n_cores, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        setup = time.perf_counter() - start
        cmp, wall, cpu = _timed(
            client,
            lambda: compare_options(
                scenario, options, draws=draws, seeds_per_draw=per_draw, seed=0, scheduler=client
            ),
        )
        sens, s_wall, s_cpu = _timed(
            client,
            lambda: sensitivity(
                scenario, options, trajectories=trajectories, seeds=2, seed=0, scheduler=client
            ),
        )
    total_runs = int(cmp.table["runs"].sum())
    load = os.getloadavg()[0]
    print(
        f"comparison: {total_runs} runs in {wall:.0f} s wall, {cpu:.0f} CPU s; sensitivity: {sens.runs} runs "
        f"in {s_wall:.0f} s wall, {s_cpu:.0f} CPU s",
        flush=True,
    )
    lines = [
        f"The brief's default comparison: **{len(cmp.table)} options x {runs} runs** "
        f"({draws} posterior draws x {per_draw} seeds, flashpoints from the risk forecast, arrival from the "
        f"pledges' timeline) = {total_runs:,} runs, then a Morris sensitivity analysis ({trajectories} "
        f"trajectories x 2 seeds = {sens.runs:,} runs), on a Dask LocalCluster of {n_cores} single-threaded "
        f"workers (started in {setup:.1f} s). The machine was shared (load average {load:.1f} on {n_cores} "
        "cores), so CPU seconds in the workers say more about kalkan than wall-clock time does.",
        "",
        "| step | runs | wall s | runs per wall s | worker CPU s | runs per CPU s | on 2 free cores, s |",
        "|---|---|---|---|---|---|---|",
        f"| comparison (brief default) | {total_runs:,} | {wall:,.0f} | {total_runs / wall:,.1f} "
        f"| {cpu:,.0f} | "
        f"{total_runs / max(cpu, 1e-9):,.1f} | {cpu / n_cores:,.0f} |",
        f"| Morris sensitivity | {sens.runs:,} | {s_wall:,.0f} | {sens.runs / s_wall:,.1f} | {s_cpu:,.0f} | "
        f"{sens.runs / max(s_cpu, 1e-9):,.1f} | {s_cpu / n_cores:,.0f} |",
        "",
        "Target: the brief's default comparison within 3 minutes (180 s) on two cores.",
        "",
        "| option | deaths median [5-95%] | P(fewest deaths) | on duty from (days after decision) |",
        "|---|---|---|---|",
    ]
    for row in cmp.table.itertuples():
        lines.append(
            f"| {row.option} | {row.deaths_median:,.0f} [{row.deaths_p5:,.0f}-{row.deaths_p95:,.0f}] | "
            f"{row.p_best:.0%} | {'-' if row.unit == 'none' else f'{row.generation_day:g}'} |"
        )
    lines += ["", cmp.interval_note, ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per option (the brief's default: 200)")
    parser.add_argument("--trajectories", type=int, default=8, help="Morris trajectories")
    parser.add_argument("--quick", action="store_true", help="smaller lattices (a smoke test)")
    args = parser.parse_args()
    np.seterr(all="ignore")
    lattice = lattice_section(args.quick)
    mc = montecarlo_section(args.runs, args.trajectories)
    text = "\n".join(
        [
            "## Simulation: kalkan lattice vs Mesa's Epstein example; the options compared; sensitivity",
            "",
            machine(),
            "Reproduce: `.venv/bin/python bench/simulate_vs_mesa.py "
            f"--runs {args.runs} --trajectories {args.trajectories}`"
            + (" --quick" if args.quick else "")
            + " (from the repository root).",
            "",
            lattice,
            "",
            mc,
        ]
    )
    write_section("simulate", text)


if __name__ == "__main__":
    main()
