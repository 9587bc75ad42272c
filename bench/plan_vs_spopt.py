"""kalkan's coverage planner against PySAL spopt (MCLP and LSCP over PuLP/CBC), side by side in one run.

Instances (issue 3, item 10):

- random planar 1,000 demand x 200 sites and 10,000 x 1,000 in the unit square, p = 50 posts, radius
  sqrt(0.02 / pi) (each post's disc covers about 2% of the square), integer weights 1-10, fixed seeds;
- the embedded Kyrgyzstan 2010 scenario (places at risk, 30-minute response, posts at the places).

spopt gets its default CBC solver with a time limit (120 s by default); kalkan gets ``--kalkan-limit``
seconds (default: 1/20 of spopt's limit). Times include building the model from the cost matrix.
CBC's best bound is read from its log. Run from the repository root:

    .venv/bin/python bench/plan_vs_spopt.py
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from _report import machine, write_section

RADIUS = float(np.sqrt(0.02 / np.pi))


def random_instance(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Demand points, sites and integer weights 1-10 in the unit square."""
    rng = np.random.default_rng(seed)
    return rng.random((n, 2)), rng.random((m, 2)), rng.integers(1, 11, n).astype(float)


def planar_cost(demand: np.ndarray, sites: np.ndarray) -> np.ndarray:
    """The dense (demand x sites) distance matrix spopt needs."""
    return np.hypot(demand[:, None, 0] - sites[None, :, 0], demand[:, None, 1] - sites[None, :, 1])


def _cbc_log(path: Path) -> dict[str, Any]:
    text = path.read_text(errors="replace") if path.exists() else ""
    out: dict[str, Any] = {"cbc_result": None, "cbc_objective": None, "cbc_bound": None}
    m = re.search(r"Result - (.+)", text)
    if m:
        out["cbc_result"] = m.group(1).strip()
    m = re.search(r"Objective value:\s+(-?[\d.eE+-]+)", text)
    if m:
        out["cbc_objective"] = float(m.group(1))
    m = re.search(r"(?:Lower|Upper) bound:\s+(-?[\d.eE+-]+)", text)
    if m:
        out["cbc_bound"] = float(m.group(1))
    return out


def run_spopt(
    model: str, cost: np.ndarray, weights: np.ndarray | None, radius: float, p: int | None, time_limit: float
) -> dict[str, Any]:
    """Build and solve spopt's MCLP or LSCP with CBC; report objective, CBC's bound and times."""
    import pulp
    from spopt.locate import LSCP, MCLP

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "cbc.log"
        solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, logPath=str(log))
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if model == "mclp":
                problem = MCLP.from_cost_matrix(cost, weights, service_radius=radius, p_facilities=p)
            else:
                problem = LSCP.from_cost_matrix(cost, service_radius=radius)
            t_build = time.perf_counter() - t0
            try:
                problem.solve(solver)
                ok = True
            except Exception as error:  # spopt raises on a non-optimal status in some versions
                ok = False
                err = str(error)
        seconds = time.perf_counter() - t0
        info = _cbc_log(log)
        tail = log.read_text(errors="replace").strip().splitlines()[-12:] if log.exists() else []
    status = pulp.LpStatus[problem.problem.status] if ok else f"error: {err}"
    objective = pulp.value(problem.problem.objective) if ok else None
    if model == "mclp" and ok:
        # Recompute the covered weight from the chosen sites (PuLP's value can include y slack).
        chosen = [j for j, v in enumerate(problem.fac_vars) if (v.value() or 0) > 0.5]
        covered = (cost[:, chosen] <= radius).any(axis=1) if chosen else np.zeros(len(cost), bool)
        objective = float(weights[covered].sum())
    if model == "lscp" and ok:
        objective = float(sum(1 for v in problem.fac_vars if (v.value() or 0) > 0.5))
    bound = info["cbc_bound"]
    if bound is not None:
        bound = abs(bound)
    if bound is None and ok and str(info["cbc_result"]).startswith("Optimal"):
        bound = objective  # CBC proved this solution optimal
    return {
        "tool": "spopt+CBC",
        "model": model,
        "objective": objective,
        "bound": bound,
        "status": status,
        "cbc_result": info["cbc_result"],
        "cbc_log_tail": tail,
        "seconds": seconds,
        "build_seconds": t_build,
    }


def run_kalkan(
    model: str,
    cost: np.ndarray | None,
    weights: np.ndarray | None,
    radius: float,
    p: int | None,
    time_limit: float,
    coords: tuple[np.ndarray, np.ndarray] | None = None,
    method: str = "auto",
) -> dict[str, Any]:
    """Build (from coordinates when given, else the cost matrix) and solve with kalkan."""
    from kalkan.plan.coverage import MaximalCovering, SetCovering

    t0 = time.perf_counter()
    cpu0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if model == "mclp":
            if coords is not None:
                problem = MaximalCovering.from_coordinates(coords[0], coords[1], weights, p=p, radius=radius)
            else:
                problem = MaximalCovering.from_cost_matrix(cost, weights, max_cost=radius, p=p)
        else:
            if coords is not None:
                problem = SetCovering.from_coordinates(coords[0], coords[1], radius=radius)
            else:
                problem = SetCovering.from_cost_matrix(cost, max_cost=radius)
        t_build = time.perf_counter() - t0
        problem.solve(time_limit=time_limit, method=method)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    return {
        "cpu_seconds": cpu,
        "tool": "kalkan" + ("" if method == "auto" else f" ({method})"),
        "model": model,
        "objective": problem.objective,
        "bound": problem.bound,
        "gap": problem.gap,
        "status": problem.status,
        "seconds": seconds,
        "build_seconds": t_build,
    }


def _gap(row: dict[str, Any]) -> float | None:
    obj, bound = row.get("objective"), row.get("bound")
    if obj is None or bound is None or bound == 0:
        return None
    return abs(bound - obj) / max(abs(bound), abs(obj))


def scenario_instance() -> tuple[np.ndarray, np.ndarray, Any]:
    """Travel-minute cost matrix (places x places) and weights of the embedded scenario."""
    from kalkan.plan.exposure import places_at_risk
    from kalkan.plan.travel import travel_minutes
    from kalkan.scenarios import load_scenario

    places = places_at_risk(load_scenario("kyrgyzstan_2010"))
    lat, lon = places["latitude"].to_numpy(float), places["longitude"].to_numpy(float)
    cost = travel_minutes(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    return cost, places["weight"].to_numpy(float), places


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spopt-limit", type=float, default=120.0, help="CBC time limit per solve (s)")
    parser.add_argument(
        "--kalkan-limit", type=float, default=None, help="kalkan time limit (s); default 1/20"
    )
    parser.add_argument("--only", default="small,large,scenario", help="which instances to run")
    parser.add_argument("--models", default="mclp,lscp", help="which models to run on the random instances")
    parser.add_argument("--no-write", action="store_true", help="print only; do not touch BENCHMARKS.md")
    parser.add_argument("--json", default=None, help="also write the raw rows to this JSON file")
    parser.add_argument("--from-json", default=None, help="render BENCHMARKS.md from rows saved by --json")
    parser.add_argument("--no-same-limit", action="store_true", help="skip kalkan runs at spopt's time limit")
    parser.add_argument("--note", default="", help="a sentence added under the table (e.g. machine load)")
    args = parser.parse_args(argv)
    kalkan_limit = args.kalkan_limit if args.kalkan_limit is not None else args.spopt_limit / 20
    if args.from_json:
        path = Path(args.from_json)
        saved = json.loads(path.read_text())
        if isinstance(saved, list):  # rows only: date the measurement by the file's time
            from datetime import UTC, datetime

            stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M")
            saved = {"rows": saved, "machine": re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", stamp, machine())}
        write_section("plan", render(saved["rows"], args, kalkan_limit, saved["machine"]))
        return 0
    only = set(args.only.split(","))
    models = set(args.models.split(","))
    rows: list[dict[str, Any]] = []

    def record(instance: str, row: dict[str, Any]) -> None:
        row["instance"] = instance
        row["loadavg_1min"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        row["gap_check"] = _gap(row)
        rows.append(row)
        print(json.dumps(row, default=str), flush=True)

    for name, n, m, seed in (("small", 1_000, 200, 1), ("large", 10_000, 1_000, 2)):
        if name not in only:
            continue
        demand, sites, weights = random_instance(n, m, seed)
        label = f"random {n:,} x {m:,} (seed {seed})"
        cost = planar_cost(demand, sites)
        if "mclp" in models:
            record(label, run_kalkan("mclp", None, weights, RADIUS, 50, kalkan_limit, coords=(demand, sites)))
            record(
                label,
                run_kalkan(
                    "mclp",
                    None,
                    weights,
                    RADIUS,
                    50,
                    kalkan_limit,
                    coords=(demand, sites),
                    method="heuristic",
                ),
            )
            record(label, run_spopt("mclp", cost, weights, RADIUS, 50, args.spopt_limit))
        if "lscp" in models:
            record(label, run_kalkan("lscp", None, None, RADIUS, None, kalkan_limit, coords=(demand, sites)))
            # spopt's LSCP is infeasible when a point is out of reach of every site; both models cover the
            # reachable points (kalkan drops the others itself, with a warning).
            reachable = (cost <= RADIUS).any(axis=1)
            record(label, run_spopt("lscp", cost[reachable], None, RADIUS, None, args.spopt_limit))
        if name == "large" and not args.no_same_limit:
            # The same time limit as spopt, to see what more time buys each side.
            for model, w, p in (m for m in (("mclp", weights, 50), ("lscp", None, None)) if m[0] in models):
                row = run_kalkan(model, None, w, RADIUS, p, args.spopt_limit, coords=(demand, sites))
                row["tool"] = f"kalkan ({args.spopt_limit:g} s limit)"
                record(label, row)
        del cost

    if "scenario" in only:
        from kalkan.plan.force import coverage_curve
        from kalkan.plan.units import ForceOption, posts_for

        cost, weights, places = scenario_instance()
        label = "Kyrgyzstan 2010 scenario (30 min)"
        p = posts_for(ForceOption("police", 600))
        record(label, run_kalkan("mclp", cost, weights, 30.0, p, kalkan_limit))
        record(label, run_spopt("mclp", cost, weights, 30.0, p, args.spopt_limit))
        t0 = time.perf_counter()
        budgets = list(range(100, 2001, 100))
        curve = coverage_curve(
            places, "police", response_minutes=30.0, budgets=budgets, time_limit=kalkan_limit / len(budgets)
        )
        record(
            label,
            {
                "tool": "kalkan",
                "model": f"curve of {len(budgets)} budgets (police 100-2,000)",
                "objective": float(curve["covered_weight"].iloc[-1]),
                "bound": float(curve["bound"].iloc[-1]),
                "status": ",".join(sorted(set(curve["status"]))),
                "seconds": time.perf_counter() - t0,
                "build_seconds": None,
                "max_gap": float(curve["gap"].max()),
            },
        )

    measured = machine()
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": measured, "rows": rows}, indent=2, default=str))
    if not args.no_write:
        write_section("plan", render(rows, args, kalkan_limit, measured))
    return 0


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}" if digits else f"{value:g}"
    return str(value)


def _cbc_cpu(row: dict[str, Any]) -> float | None:
    """CBC's own CPU seconds, from the tail of its log."""
    for line in row.get("cbc_log_tail") or []:
        m = re.search(r"Total time \(CPU seconds\):\s+([\d.]+)", line)
        if m:
            return float(m.group(1))
    return None


def _status(row: dict[str, Any]) -> str:
    status = str(row.get("status"))
    if row.get("tool") == "spopt+CBC" and row.get("objective") is None:
        return f"no solution returned ({row.get('cbc_result') or status})"
    return status


def render(rows: list[dict[str, Any]], args: argparse.Namespace, kalkan_limit: float, measured: str) -> str:
    loads = [r["loadavg_1min"] for r in rows if r.get("loadavg_1min") is not None]
    load = f" 1-minute load average during the run: {min(loads):.0f}-{max(loads):.0f}." if loads else ""
    lines = [
        "## Planner: kalkan vs spopt (MCLP, LSCP)",
        "",
        measured + load,
        "",
        f"Reproduce: `.venv/bin/python bench/plan_vs_spopt.py --spopt-limit {args.spopt_limit:g}"
        + (f" --kalkan-limit {args.kalkan_limit:g}" if args.kalkan_limit is not None else "")
        + (f" --only {args.only}" if args.only != "small,large,scenario" else "")
        + (f" --models {args.models}" if args.models != "mclp,lscp" else "")
        + (" --no-same-limit" if args.no_same_limit else "")
        + "` "
        f"(spopt {_version('spopt')}, PuLP {_version('pulp')} with CBC; highspy {_version('highspy')}; "
        "both single-threaded).",
        f"spopt/CBC time limit {args.spopt_limit:g} s per solve; kalkan time limit {kalkan_limit:g} s "
        "(`auto`: greedy, swaps, Lagrangian bound, then HiGHS on the whole problem when it is small, else "
        "iterated local search with restarts, HiGHS on neighbour kernels, more Lagrangian iterations and, "
        "once they stall, the certified LP bound from interior-point duals; `heuristic`: greedy, swaps and "
        "the Lagrangian bound only). Seconds are "
        "wall-clock and include building the model (spopt from the "
        "dense cost matrix its API takes, kalkan from coordinates). Gap = (bound - objective) / bound for "
        "MCLP, (objective - bound) / objective for LSCP; CBC's bound is read from its log. CPU s: kalkan's "
        "process CPU time; for spopt, CBC's own CPU time from its log (spopt's Python model building, which "
        "is most of its build time, is not included). On a loaded machine wall time overstates both.",
        "",
        "| instance | tool | model | objective | bound | gap | status | wall s | build s | CPU s |",
        "|---|---|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        if r.get("bound") is None and str(r.get("cbc_result")).startswith("Optimal"):
            r["bound"], r["gap_check"] = r.get("objective"), 0.0  # CBC proved its solution optimal
        gap = r.get("gap", r.get("gap_check"))
        if "max_gap" in r:
            gap = r["max_gap"]
        if r.get("tool") == "spopt+CBC" and r.get("objective") is None:
            gap = None
        lines.append(
            f"| {r['instance']} | {r['tool']} | {r['model']} | {_fmt(r.get('objective'))} | "
            f"{_fmt(r.get('bound'))} | {_fmt(100 * gap, 2) + '%' if gap is not None else '-'} | "
            f"{_status(r)} | {_fmt(r.get('seconds'), 2)} | {_fmt(r.get('build_seconds'), 2)} | "
            f"{_fmt(r.get('cpu_seconds', _cbc_cpu(r)), 2)} |"
        )
    lines += ["", "Ratios (spopt time / kalkan time; kalkan objective / spopt objective):", ""]
    by: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for r in rows:
        by.setdefault((r["instance"], r["model"]), {})[r["tool"]] = r
    for (instance, model), tools in by.items():
        k, s = tools.get("kalkan"), tools.get("spopt+CBC")
        if not (k and s and k.get("seconds")):
            continue
        if s.get("objective") and model == "lscp":
            lines.append(
                f"- {instance}, {model}: time ratio {s['seconds'] / k['seconds']:.1f}x; "
                f"kalkan {k['objective']:.0f} posts vs spopt {s['objective']:.0f} "
                f"(fewer is better; ratio {k['objective'] / s['objective']:.3f})"
            )
        elif s.get("objective"):
            lines.append(
                f"- {instance}, {model}: time ratio {s['seconds'] / k['seconds']:.1f}x; "
                f"objective ratio {k['objective'] / s['objective']:.4f} (higher is better)"
            )
        else:
            lines.append(
                f"- {instance}, {model}: spopt returned no solution after {s['seconds']:.0f} s; kalkan's "
                f"{k['objective']:,.0f} came in {k['seconds']:.1f} s "
                f"({s['seconds'] / k['seconds']:.0f}x less time) with a certified gap of "
                f"{100 * k['gap']:.2f}%"
                + (
                    f" (CBC's own bound {s['bound']:,.0f} puts it within "
                    f"{100 * (s['bound'] - k['objective']) / s['bound']:.2f}%)"
                    if s.get("bound")
                    else ""
                )
                + "."
            )
    for r in rows:
        if r.get("tool") == "kalkan" and r["model"] == "mclp" and r.get("gap", 0) > 0.02 and r.get("bound"):
            need = 0.98 * r["bound"]
            lines.append(
                f"- {r['instance']}, mclp: a 2% certificate with kalkan's bound {r['bound']:,.0f} needs an "
                f"objective of at least {need:,.0f}; kalkan's is {r['objective']:,.0f} "
                f"({100 * (need - r['objective']) / r['objective']:.2f}% short). With its objective, 2% "
                f"needs a bound of at most {r['objective'] / 0.98:,.0f}."
            )
    curve = [r for r in rows if str(r["model"]).startswith("curve")]
    spopt_scn = [r for r in rows if r["tool"] == "spopt+CBC" and r["instance"].startswith("Kyrgyzstan")]
    if curve and spopt_scn:
        lines.append(
            f"- Scenario: the whole {curve[0]['model']} took {curve[0]['seconds']:.2f} s (largest gap "
            f"{100 * curve[0].get('max_gap', 0):.2f}%); one spopt MCLP solve took "
            f"{spopt_scn[0]['seconds']:.2f} s."
        )
    if args.note:
        lines += ["", args.note]
    return "\n".join(lines)


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


if __name__ == "__main__":
    sys.exit(main())
