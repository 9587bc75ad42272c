"""Benchmark: kalkan's Epstein lattice vs Mesa's own Epstein civil-violence example, and the Monte Carlo.

Run from the repository root: ``.venv/bin/python bench/simulate_vs_mesa.py [--runs 1000] [--quick]``.

1. Steps per second of Mesa 3's ``mesa.examples.advanced.epstein_civil_violence`` model and of
   ``kalkan.simulate.LatticeModel`` at the same size, densities and rules (Mesa's defaults: citizen
   density 0.7, cop density 0.074, von Neumann vision 7, L = 0.8, J_max = 1000, T = 0.1, k = 2.3,
   random sequential activation), at 40x40, 80x80 and 200x200, in one run. Set-up is not timed;
   kalkan's numba kernel is compiled before timing (the compile is reported separately).
2. The brief's default simulation of the embedded scenario (``kalkan.simulate.compare_options`` twice:
   on duty on the decision day and on the pledges' timeline; ``--runs`` posterior-predictive runs for
   each of six options), serially and on a Dask LocalCluster: runs per second (wall and CPU) and
   total time. The Morris sensitivity analysis is not part of the brief's default: it is computed once
   (``kalkan simulate sensitivity --save``) and stored in the scenario folder.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from typing import Any

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


def _brief_default(scenario: Any, options: Any, draws: int, per_draw: int, scheduler: Any) -> tuple[Any, Any]:
    """What the brief runs: every option on duty on the decision day, then on the pledges' timeline."""
    from kalkan.simulate import compare_options

    common = {"draws": draws, "seeds_per_draw": per_draw, "seed": 0, "scheduler": scheduler}
    now = compare_options(scenario, options, arrival=0.0, **common)
    later = compare_options(scenario, options, arrival="timeline", **common)
    return now, later


def montecarlo_section(runs: int, serial_runs: int) -> str:
    """The brief's default comparison (posterior-predictive, six options, two arrival assumptions) on a
    Dask LocalCluster, then serially (``serial_runs`` per option: fewer on a loaded machine, to stay
    within the benchmark's time cap; its total is then scaled up and said to be)."""
    from dask.distributed import Client, LocalCluster

    from kalkan.plan.units import parse_options
    from kalkan.scenarios import load_scenario
    from kalkan.simulate.engine import QUIET_CLUSTER

    scenario = load_scenario("kyrgyzstan_2010")
    options = parse_options(scenario.option_spec)
    per_draw = 4
    draws = -(-runs // per_draw)
    serial_draws = -(-serial_runs // per_draw)
    n_cores = os.cpu_count() or 1
    _brief_default(scenario, options[:1], 1, 1, None)  # numba compiled (or loaded) before timing
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    with (
        LocalCluster(n_workers=n_cores, threads_per_worker=1, processes=True, **QUIET_CLUSTER) as cluster,
        Client(cluster) as client,
    ):
        setup = time.perf_counter() - start
        client.run(_brief_default, scenario, options[:1], 1, 1, None)  # the workers compile too
        before = client.run(time.process_time)
        cpu0, start = time.process_time(), time.perf_counter()
        now, later = _brief_default(scenario, options, draws, per_draw, client)
        dask_wall = time.perf_counter() - start
        after = client.run(time.process_time)
        dask_cpu = sum(after[w] - before[w] for w in after) + time.process_time() - cpu0
    ran = int(now.table["runs"].sum()) + int(later.table["runs"].sum())
    copied = int(later.attrs.get("copied_runs", 0)) + int(now.attrs.get("copied_runs", 0))
    executed = ran - copied
    print(
        f"dask: set-up {setup:.1f} s, {executed} runs in {dask_wall:.0f} s wall, {dask_cpu:.0f} CPU s",
        flush=True,
    )
    cpu0, start = time.process_time(), time.perf_counter()
    s_now, s_later = _brief_default(scenario, options, serial_draws, per_draw, None)
    serial_wall, serial_cpu = time.perf_counter() - start, time.process_time() - cpu0
    s_ran = int(s_now.table["runs"].sum()) + int(s_later.table["runs"].sum())
    s_executed = s_ran - int(s_later.attrs.get("copied_runs", 0)) - int(s_now.attrs.get("copied_runs", 0))
    scale = executed / max(s_executed, 1)
    print(f"serial: {s_executed} runs in {serial_wall:.0f} s wall, {serial_cpu:.0f} CPU s", flush=True)
    load = os.getloadavg()[0]
    serial_total = serial_wall * scale
    dask_total = setup + dask_wall
    faster = "Dask LocalCluster" if dask_total < serial_total else "serial"
    scaled = "" if s_executed == executed else f" (measured on {serial_runs} runs per option, x{scale:.1f})"
    lines = [
        f"The brief's default simulation: **{len(now.table)} options x {runs} runs, twice** (on duty on the "
        f"decision day; on the pledges' timeline), {draws} posterior draws x {per_draw} seeds, flashpoints "
        f"from the risk forecast = {ran:,} results, of which {copied:,} are copied from the no-force run "
        f"(a force ready after the simulated days end changes nothing) and {executed:,} are run. The machine "
        f"was shared (load average {load_before:.1f} before, {load:.1f} after, on {n_cores} cores): wall "
        "times are what a user on this machine would wait; CPU seconds say what kalkan costs, and CPU "
        f"seconds / {n_cores} is the wall time on {n_cores} free cores.",
        "",
        "| brief default | runs run | wall s | runs per wall s | CPU s | runs per CPU s | on free cores, s |",
        "|---|---|---|---|---|---|---|",
        f"| Dask LocalCluster, {n_cores} workers (+{setup:.0f} s set-up) | {executed:,} | "
        f"{dask_total:,.0f} | "
        f"{executed / dask_total:,.1f} | {dask_cpu:,.0f} | {executed / max(dask_cpu, 1e-9):,.1f} | "
        f"{setup + dask_cpu / n_cores:,.0f} |",
        f"| serial (one process){scaled} | {s_executed:,} | {serial_wall:,.0f} | "
        f"{s_executed / serial_wall:,.1f} | "
        f"{serial_cpu:,.0f} | {s_executed / max(serial_cpu, 1e-9):,.1f} | {serial_cpu * scale:,.0f} |",
        "",
        f"Total for the brief's default: Dask {dask_total:,.0f} s, serial {serial_total:,.0f} s"
        f"{' (scaled)' if scaled else ''} on this machine; faster here: **{faster}**. Target: within 3 "
        "minutes (180 s) on two cores. Serial and Dask give the same numbers (tests/simulate: "
        "test_dask_equals_serial). The sensitivity analysis is not part of the brief's default: it is "
        "stored in the scenario folder (`kalkan simulate sensitivity --save`) and read.",
        "",
        "| option | on duty on the decision day: deaths median [5-95%] | P(fewest) | P(fewer than none) "
        "| on the pledges' timeline: median [5-95%] | P(fewest) | P(fewer than none) | ready (day) |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def beats_none(cmp: Any, option: str) -> str:
        return "-" if option == "none" else f"{cmp.beats.loc[option, 'none']:.0%}"

    for a, b in zip(now.table.itertuples(), later.table.itertuples(), strict=True):
        lines.append(
            f"| {a.option} | {a.deaths_median:,.0f} [{a.deaths_p5:,.0f}-{a.deaths_p95:,.0f}] | "
            f"{a.p_best:.0%} | {beats_none(now, str(a.option))} | "
            f"{b.deaths_median:,.0f} [{b.deaths_p5:,.0f}-{b.deaths_p95:,.0f}] | {b.p_best:.0%} | "
            f"{beats_none(later, str(b.option))} | {'-' if b.unit == 'none' else f'{b.generation_day:g}'} |"
        )
    lines += ["", "Notes the comparison gives (on duty on the decision day):", ""]
    lines += [f"- {n}" for n in now.notes] or ["- none"]
    lines += ["", now.interval_note, ""]
    return "\n".join(lines)


def _part(name: str, text: str) -> str:
    return f"<!-- simulate:{name} -->\n{text.strip()}\n<!-- /simulate:{name} -->"


def _previous_part(name: str) -> str:
    """The part ``name`` of the section as BENCHMARKS.md has it now (kept when this run skips it)."""
    from _report import BENCHMARKS

    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else ""
    match = re.search(rf"<!-- simulate:{name} -->\n(.*?)\n<!-- /simulate:{name} -->", text, re.S)
    return match.group(1) if match else "(not measured yet: run this script with --part " + name + ")"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per option (the brief's default: 200)")
    parser.add_argument("--quick", action="store_true", help="smaller lattices (a smoke test)")
    parser.add_argument(
        "--serial-runs",
        type=int,
        default=None,
        help="runs per option of the serial timing (default: --runs; fewer keeps a loaded machine in "
        "the time cap)",
    )
    parser.add_argument(
        "--part",
        choices=["all", "lattice", "brief"],
        default="all",
        help="measure one part only (on a loaded machine each fits the 10-minute cap); the other part's "
        "last measurement is kept in BENCHMARKS.md",
    )
    args = parser.parse_args()
    np.seterr(all="ignore")
    stamp = machine() + (
        f" Reproduce: `.venv/bin/python bench/simulate_vs_mesa.py --part {{part}} --runs {args.runs}"
        f"{f' --serial-runs {args.serial_runs}' if args.serial_runs else ''}"
        f"{' --quick' if args.quick else ''}` (from the repository root)."
    )
    if args.part in ("all", "lattice"):
        lattice = stamp.format(part="lattice") + "\n\n" + lattice_section(args.quick)
    else:
        lattice = _previous_part("lattice")
    if args.part in ("all", "brief"):
        mc = (
            stamp.format(part="brief") + "\n\n" + montecarlo_section(args.runs, args.serial_runs or args.runs)
        )
    else:
        mc = _previous_part("brief")
    text = "\n".join(
        [
            "## Simulation: kalkan lattice vs Mesa's Epstein example; the brief's default, serial and Dask",
            "",
            "Two parts, each measured in one run of `bench/simulate_vs_mesa.py` (`--part lattice`, "
            "`--part brief`; `--part all` runs both).",
            "",
            "### Lattice: kalkan vs Mesa",
            "",
            _part("lattice", lattice),
            "",
            "### The brief's default comparison",
            "",
            _part("brief", mc),
        ]
    )
    write_section("simulate", text)


if __name__ == "__main__":
    main()
