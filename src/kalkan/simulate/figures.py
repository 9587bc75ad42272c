"""The validation plots of docs/simulate.md: model I bursts, model II outcomes, the options compared.

``python -m kalkan.simulate.figures [OUTDIR] [--runs N]`` writes ``simulate-model1-bursts.png``,
``simulate-model2-outcomes.png`` and ``simulate-options.png`` (default OUTDIR ``docs/img``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kalkan.simulate.lattice import LatticeModel

__all__ = ["model_i_bursts", "model_ii_outcomes", "options_chart", "sensitivity_chart", "waiting_times"]

#: Model I settings for the bursts plot: Epstein's cop density 0.04 and a jail term of 30 steps with
#: legitimacy 0.82, vision 7 (von Neumann); the rest as in Mesa's example.
BURSTS: dict[str, Any] = {"cop_density": 0.04, "legitimacy": 0.82, "max_jail": 30}


def model_i_bursts(path: Path, *, steps: int = 1000, seed: int = 3) -> pd.DataFrame:
    """Active agents per step on the 40 x 40 lattice: long quiet spells broken by outbursts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = LatticeModel(**BURSTS).run(steps, seed=seed).counts
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(counts.index, counts["active"], lw=0.8, color="#b2182b", label="active")
    ax.plot(counts.index, counts["jailed"], lw=0.8, color="#2166ac", alpha=0.6, label="jailed")
    ax.set_xlabel("step")
    ax.set_ylabel("citizens")
    ax.set_title(
        "Epstein model I, 40x40, L = 0.82, cop density 0.04, J_max = 30: punctuated equilibrium", fontsize=9
    )
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return counts


def waiting_times(densities: list[float], seeds: list[int], *, steps: int = 1500) -> pd.DataFrame:
    """Steps until one group of model II (L = 0.8) dies out, per cop density and seed (``steps``: never)."""
    rows = []
    for density in densities:
        for seed in seeds:
            c = LatticeModel.model_ii("genocide", cop_density=density).run(steps, seed=seed).counts
            gone = np.flatnonzero(np.minimum(c["group0"].to_numpy(), c["group1"].to_numpy()) == 0)
            rows.append(
                {
                    "cop_density": density,
                    "seed": seed,
                    "waiting": int(gone[0]) if gone.size else steps,
                    "censored": not gone.size,
                }
            )
    return pd.DataFrame(rows)


def model_ii_outcomes(path: Path, *, steps: int = 600, seed: int = 1) -> pd.DataFrame:
    """Group sizes in Epstein's three model II runs, and the waiting time to genocide vs peacekeepers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(13, 3))
    titles = {
        "coexistence": "L = 0.9, no peacekeepers",
        "genocide": "L = 0.8, no peacekeepers",
        "safe_havens": "L = 0.8, peacekeepers 0.04",
    }
    for ax, (run, title) in zip(axes, titles.items(), strict=False):
        c = LatticeModel.model_ii(run).run(steps, seed=seed).counts
        ax.plot(c.index, c["group0"], color="#1b7837", lw=1, label="Green")
        ax.plot(c.index, c["group1"], color="#2166ac", lw=1, label="Blue")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step")
    axes[0].set_ylabel("living agents")
    axes[0].legend(frameon=False, fontsize=8)
    waits = waiting_times([0.0, 0.02, 0.04, 0.06], list(range(1, 7)))
    summary = waits.groupby("cop_density")["waiting"].agg(["mean", "std"])
    axes[3].errorbar(summary.index, summary["mean"], yerr=summary["std"], marker="o", capsize=3, color="k")
    axes[3].set_title("steps to genocide (mean, sd; 6 seeds)", fontsize=9)
    axes[3].set_xlabel("initial cop density")
    axes[3].set_ylabel("steps")
    fig.suptitle(
        "Epstein model II on the 40x40 lattice (fission 0.05, max age 200, Moore vision 1, jail 15)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return waits


def options_chart(path: Path, table: pd.DataFrame) -> None:
    """Median deaths and displaced per option with 90% intervals (a ``simulate_options`` table)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    y = np.arange(len(table))
    for ax, what, label in ((axes[0], "deaths", "people killed"), (axes[1], "displaced", "people displaced")):
        med = table[f"{what}_median"].to_numpy(float)
        lo = med - table[f"{what}_p5"].to_numpy(float)
        hi = table[f"{what}_p95"].to_numpy(float) - med
        colors = [
            "#888888" if k == "none" else "#d6604d" if k == "observed" else "#4393c3"
            for k in table["coverage_kind"]
        ]
        ax.barh(y, med, xerr=[lo, hi], color=colors, capsize=3)
        ax.set_yticks(y, table["option"])
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.invert_yaxis()
        ax.set_xlabel(f"{label}, first {table.attrs.get('days', 10)} days (median, 5th-95th percentile)")
    fig.suptitle(
        f"{table.attrs.get('title', '')} simulated: grey no force, red unarmed monitors, blue armed "
        f"police ({int(table['runs'].iloc[0])} runs each; a model, not a prophecy)",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


#: Plain names for the sensitivity chart (a brief has no code names).
PLAIN = {
    "lethality": "people killed per attack",
    "arson": "homes burnt per attack",
    "flight": "how fast people flee",
    "spark_distrust": "size of the first clashes",
    "distrust_per_attack": "how attacks breed revenge",
    "crowd_growth": "how crowds grow",
    "officer_weight": "how strongly armed police deter",
    "monitor_effect": "effect of unarmed monitors (either sign)",
    "forces_join": "officers who stand aside or join in",
    "avoid_posts": "how much mobs avoid posts",
    "response_minutes": "reach of a post",
    "speed_factor": "road speed with roadblocks",
    "officers_factor": "officers on duty per post",
    "population_factor": "population estimates",
    "share_factor": "share of the group at risk",
}


def sensitivity_chart(path: Path, ranking: pd.DataFrame, *, title: str = "") -> None:
    """Bar chart of what drives simulated deaths (a :class:`~kalkan.simulate.sensitivity.Sensitivity`'s
    ``ranking``: ``parameter``, ``mean_share``), largest on top, in plain words."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = ranking.sort_values("mean_share", ascending=True)
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(frame) + 1.2))
    labels = [PLAIN.get(str(p), str(p)) for p in frame["parameter"]]
    ax.barh(labels, frame["mean_share"].to_numpy(float) * 100, color="#4393c3")
    ax.set_xlabel("share of the effect on simulated deaths (%, mean over options)")
    ax.set_title(title or "What drives the simulated deaths (Morris elementary effects)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the simulation plots of docs/simulate.md.")
    parser.add_argument("outdir", nargs="?", default="docs/img")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    model_i_bursts(out / "simulate-model1-bursts.png")
    waits = model_ii_outcomes(out / "simulate-model2-outcomes.png")
    print(waits.groupby("cop_density")["waiting"].agg(["mean", "std", "max"]))
    from kalkan.plan.units import parse_options
    from kalkan.scenarios import load_scenario
    from kalkan.simulate.montecarlo import simulate_options

    scenario = load_scenario("kyrgyzstan_2010")
    options = parse_options(scenario.option_spec)
    table = simulate_options(scenario, options, runs=args.runs, days=10, seed=0, scheduler="serial")
    print(table[["option", "deaths_p5", "deaths_median", "deaths_p95", "displaced_median"]])
    options_chart(out / "simulate-options.png", table)


if __name__ == "__main__":
    main()
