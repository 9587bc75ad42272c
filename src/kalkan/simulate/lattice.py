"""Epstein's civil-violence lattice, models I and II (PNAS 2002), on numpy arrays and a numba kernel.

Model I: citizens rebel against a central authority, cops arrest them. Model II: two groups
(Blue and Green) whose members, once active, kill a member of the other group in vision;
cops act as peacekeepers who arrest active agents of either group; agents age and split.

The rules are Epstein's (J. M. Epstein, "Modeling civil violence: An agent-based computational
approach", PNAS 99 suppl. 3:7243-7250, 2002, doi:10.1073/pnas.092080199):

* grievance ``G = H (1 - L)``, hardship ``H ~ U(0, 1)``, legitimacy ``L`` global (model II: each
  group's view of the other's legitimacy);
* estimated arrest probability ``P = 1 - exp(-k round(C / A))`` with ``C`` cops and ``A`` actives
  (counting the agent itself) in vision, ``k = 2.3``; the rounding follows Mesa's example, which
  notes it is needed to reproduce the paper's dynamics;
* an agent is active when ``G - R P > T`` (risk aversion ``R ~ U(0, 1)``, threshold ``T = 0.1``);
* cops arrest one random active agent in vision and jail it for ``U{0, J_max}`` steps; jailed
  agents stay on their cell (as in Mesa) and do nothing until released;
* everyone then moves to a random empty cell in vision.

Defaults are Mesa 3.3.1's example (40 x 40 torus, citizen density 0.7, cop density 0.074,
von Neumann vision 7, L = 0.8, J_max = 1000), so the benchmark against Mesa compares like with like.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from kalkan._base import Params, Rule, choice, flag, integer, real
from kalkan.errors import InputError
from kalkan.simulate import _lattice_kernel as _k

__all__ = ["LatticeModel", "LatticeRun", "MODEL_II_RUNS"]

# Model II settings of Epstein's original Ascape code (CVModelInterGroup.java, comments "Model II,
# run 1 / runs 2,3 / runs 4a,4b"), see ../shared/reference/force-planning-anchors.md section 5.
MODEL_II_RUNS: dict[str, dict[str, Any]] = {
    "coexistence": {"legitimacy": 0.9, "cop_density": 0.0},
    "genocide": {"legitimacy": 0.8, "cop_density": 0.0},
    "safe_havens": {"legitimacy": 0.8, "cop_density": 0.04},
}


def _offsets(vision: int, neighbourhood: str) -> np.ndarray:
    """Cell offsets within ``vision`` cells, centre excluded (von Neumann: |dx|+|dy| <= v)."""
    pts = []
    for dy in range(-vision, vision + 1):
        for dx in range(-vision, vision + 1):
            if dx == 0 and dy == 0:
                continue
            if neighbourhood == "von_neumann" and abs(dx) + abs(dy) > vision:
                continue
            pts.append((dx, dy))
    return np.array(pts, dtype=np.int64).reshape(-1, 2)


@dataclass
class LatticeRun:
    """What one lattice run produced: per-step counts and the final agent arrays.

    ``counts`` has one row per step (row 0 = before the first step) and the columns ``quiet``,
    ``active``, ``jailed`` (citizens), ``group0``, ``group1`` (living citizens per group),
    ``kills``, ``births``, ``arrests``, ``aged`` (deaths of old age) (events during that step).
    """

    agents: int
    cops: int
    steps: int
    seed: int
    seconds: float
    counts: pd.DataFrame
    state: dict[str, np.ndarray] = field(repr=False)

    @property
    def steps_per_second(self) -> float:
        """Simulation speed, steps per wall-clock second."""
        return self.steps / self.seconds if self.seconds > 0 else math.inf


class LatticeModel(Params):
    """Epstein's civil-violence model on a torus lattice (model I, or model II with ``groups=2``).

    Parameters
    ----------
    width, height : int
        Lattice size in cells.
    citizen_density, cop_density : float
        Share of cells holding a citizen / a cop at the start (sum <= 1).
    vision : int
        How far agents and cops see and move, in cells.
    neighbourhood : {"von_neumann", "moore"}
        Shape of vision: von Neumann (Mesa's example) or Moore (Epstein's Ascape code).
    legitimacy : float
        L in [0, 1]; model II: each group's view of the other's legitimacy.
    threshold : float
        T, net grievance above which an agent turns active.
    k_arrest : float
        k in P = 1 - exp(-k C/A); 2.3 gives P = 0.9 when C = A = 1.
    round_ratio : bool
        Round C/A before the exponential (Mesa's example; needed for the paper's bursts).
    max_jail : int
        J_max, steps; a jail term is uniform on {0, ..., J_max}.
    movement : bool
        Whether agents move to a random empty cell in vision each step.
    groups : {1, 2}
        1 = model I, 2 = model II (actives kill a member of the other group in vision).
    fission, max_age : float, int
        Model II demography: split probability per step and age at death (steps); 0 disables.
    """

    _parameter_constraints: ClassVar[Mapping[str, Rule]] = {
        "width": integer(3),
        "height": integer(3),
        "citizen_density": real(0, 1, low_open=False),
        "cop_density": real(0, 1, low_open=False),
        "vision": integer(1),
        "neighbourhood": choice("von_neumann", "moore"),
        "legitimacy": real(0, 1, low_open=False),
        "threshold": real(),
        "k_arrest": real(0, low_open=False),
        "round_ratio": flag(),
        "max_jail": integer(0),
        "movement": flag(),
        "groups": choice(1, 2),
        "fission": real(0, 1, low_open=False),
        "max_age": integer(0),
    }

    def __init__(
        self,
        *,
        width: int = 40,
        height: int = 40,
        citizen_density: float = 0.7,
        cop_density: float = 0.074,
        vision: int = 7,
        neighbourhood: str = "von_neumann",
        legitimacy: float = 0.8,
        threshold: float = 0.1,
        k_arrest: float = 2.3,
        round_ratio: bool = True,
        max_jail: int = 1000,
        movement: bool = True,
        groups: int = 1,
        fission: float = 0.0,
        max_age: int = 0,
    ) -> None:
        self.width = width
        self.height = height
        self.citizen_density = citizen_density
        self.cop_density = cop_density
        self.vision = vision
        self.neighbourhood = neighbourhood
        self.legitimacy = legitimacy
        self.threshold = threshold
        self.k_arrest = k_arrest
        self.round_ratio = round_ratio
        self.max_jail = max_jail
        self.movement = movement
        self.groups = groups
        self.fission = fission
        self.max_age = max_age

    @classmethod
    def model_ii(cls, run: str = "genocide", **overrides: Any) -> LatticeModel:
        """Model II with the settings of Epstein's original code for ``run`` (see ``MODEL_II_RUNS``).

        Vision 1.7 in Moore cells (so 1), jail 15 steps, fission 0.05, maximum age 200 steps.
        """
        if run not in MODEL_II_RUNS:
            raise InputError(f"Unknown model II run {run!r}: use one of {', '.join(MODEL_II_RUNS)}.")
        settings: dict[str, Any] = {
            "width": 40,
            "height": 40,
            "citizen_density": 0.7,
            "vision": 1,
            "neighbourhood": "moore",
            "max_jail": 15,
            "groups": 2,
            "fission": 0.05,
            "max_age": 200,
        }
        settings.update(MODEL_II_RUNS[run])
        settings.update(overrides)
        return cls(**settings)

    def _check(self) -> None:
        """The parameter rules (kalkan._base), then the rules between parameters."""
        self._validate_params()
        if self.citizen_density + self.cop_density > 1.0:
            raise InputError(
                f"citizen_density + cop_density is {self.citizen_density + self.cop_density:.3f} > 1: "
                "lower one of them."
            )
        if 2 * self.vision + 1 > min(self.width, self.height):
            raise InputError(
                f"vision {self.vision} wraps around a {self.width} x {self.height} torus: "
                f"use a lattice at least {2 * self.vision + 1} cells wide or a smaller vision."
            )

    def initial_state(self, seed: int) -> dict[str, np.ndarray]:
        """Place agents at random: each cell holds a citizen, a cop or nothing (Mesa's rule)."""
        self._check()
        rng = np.random.default_rng(seed)
        n = self.width * self.height
        u = rng.random(n)
        is_cit = u < self.citizen_density
        is_cop = (u >= self.citizen_density) & (u < self.citizen_density + self.cop_density)
        cells = np.flatnonzero(is_cit | is_cop)
        n_agents = cells.size
        # Model II needs spare slots for births; agents never outnumber cells.
        cap = n if self.groups == 2 else n_agents
        state = np.full(cap, _k.DEAD, dtype=np.int64)
        cell = np.full(cap, -1, dtype=np.int64)
        kind = np.zeros(cap, dtype=np.int64)
        group = np.zeros(cap, dtype=np.int64)
        hardship = np.zeros(cap)
        risk = np.zeros(cap)
        age = np.zeros(cap, dtype=np.int64)
        state[:n_agents] = _k.QUIET
        cell[:n_agents] = cells
        kind[:n_agents] = np.where(is_cop[cells], _k.COP, _k.CITIZEN)
        hardship[:n_agents] = rng.random(n_agents)
        risk[:n_agents] = rng.random(n_agents)
        if self.groups == 2:
            group[:n_agents] = rng.integers(0, 2, n_agents)
            if self.max_age > 0:
                age[:n_agents] = rng.integers(0, self.max_age, n_agents)
        return {
            "kind": kind,
            "group": group,
            "cell": cell,
            "hardship": hardship,
            "risk": risk,
            "state": state,
            "jail": np.zeros(cap, dtype=np.int64),
            "age": age,
        }

    def run(self, steps: int, *, seed: int = 0) -> LatticeRun:
        """Run ``steps`` steps from a random start; the same seed gives the same run."""
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
            raise InputError(f"steps must be an int >= 0. Got {steps!r} instead.")
        if not isinstance(seed, int) or seed < 0:
            raise InputError(f"seed must be an int >= 0. Got {seed!r} instead.")
        st = self.initial_state(seed)
        return self.run_from(st, steps, seed=seed)

    def run_from(self, st: dict[str, np.ndarray], steps: int, *, seed: int = 0) -> LatticeRun:
        """Run ``steps`` steps from a given state (modified in place), e.g. a hand-built case."""
        self._check()
        table = _k.neighbour_table(self.width, self.height, _offsets(int(self.vision), self.neighbourhood))
        n_cells = self.width * self.height
        if st["cell"].max(initial=-1) >= n_cells:
            raise InputError(f"An agent sits on cell {st['cell'].max()} of a {n_cells}-cell lattice.")
        legit = np.full(2, float(self.legitimacy))
        kernel_seed = int(np.random.SeedSequence(seed).generate_state(1)[0] & 0x7FFFFFFF)
        start = time.perf_counter()
        out = _k.run_lattice(
            kernel_seed,
            steps,
            table,
            st["kind"],
            st["group"],
            st["cell"],
            st["hardship"],
            st["risk"],
            st["state"],
            st["jail"],
            st["age"],
            legit,
            float(self.threshold),
            float(self.k_arrest),
            bool(self.round_ratio),
            int(self.max_jail),
            bool(self.movement),
            self.groups == 2,
            float(self.fission),
            int(self.max_age),
        )
        seconds = time.perf_counter() - start
        counts = pd.DataFrame(
            out,
            columns=["quiet", "active", "jailed", "group0", "group1", "kills", "births", "arrests", "aged"],
        )
        counts.index.name = "step"
        live = st["state"] != _k.DEAD
        return LatticeRun(
            agents=int((live & (st["kind"] == _k.CITIZEN)).sum() + (live & (st["kind"] == _k.COP)).sum()),
            cops=int((live & (st["kind"] == _k.COP)).sum()),
            steps=steps,
            seed=seed,
            seconds=seconds,
            counts=counts,
            state=st,
        )
