"""Epstein's lattice model: the rules on hand-worked cases, conservation, seeds, model II outcomes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kalkan.errors import InputError
from kalkan.simulate import LatticeModel
from kalkan.simulate import _lattice_kernel as k


def _state(
    cells: list[int],
    kinds: list[int],
    hardship: list[float],
    risk: list[float],
    groups: list[int] | None = None,
) -> dict[str, np.ndarray]:
    n = len(cells)
    return {
        "kind": np.array(kinds, dtype=np.int64),
        "group": np.array(groups or [0] * n, dtype=np.int64),
        "cell": np.array(cells, dtype=np.int64),
        "hardship": np.array(hardship, dtype=float),
        "risk": np.array(risk, dtype=float),
        "state": np.zeros(n, dtype=np.int64),
        "jail": np.zeros(n, dtype=np.int64),
        "age": np.zeros(n, dtype=np.int64),
    }


# A 5 x 5 torus, Moore vision 1, no movement: the citizen sits on cell 12 (the centre); cops on
# cells 6, 7, 8 are its neighbours. Expected: active iff H (1 - L) - R P > T, P = 1 - exp(-2.3 round(C/A)).
@pytest.mark.parametrize(
    ("hardship", "risk", "cops", "legitimacy"),
    [
        (0.55, 0.5, 0, 0.8),  # G = 0.11 > T with no cops: active
        (0.45, 0.5, 0, 0.8),  # G = 0.09 < T: quiet whatever the risk
        (0.9, 0.5, 1, 0.8),  # G = 0.18, P = 0.8997, R P = 0.45: quiet
        (0.9, 0.05, 1, 0.8),  # G = 0.18, R P = 0.045, net 0.135 > T: active
        (0.9, 0.09, 1, 0.8),  # net = 0.18 - 0.081 = 0.099 < T: quiet (just)
        (1.0, 0.2, 3, 0.5),  # G = 0.5, P = 1 - exp(-6.9), net 0.3002 > T: active
        (1.0, 0.5, 3, 0.7),  # G = 0.3, R P ~ 0.4995: quiet
    ],
)
def test_activation_rule_matches_hand_computation(
    hardship: float, risk: float, cops: int, legitimacy: float
) -> None:
    cells = [12] + [6, 7, 8][:cops]
    st = _state(cells, [k.CITIZEN] + [k.COP] * cops, [hardship] + [0.0] * cops, [risk] + [0.0] * cops)
    model = LatticeModel(
        width=5, height=5, vision=1, neighbourhood="moore", legitimacy=legitimacy, movement=False, max_jail=3
    )
    run = model.run_from(st, 1, seed=1)
    p_arrest = 1.0 - math.exp(-2.3 * round(cops / 1))
    expected_active = hardship * (1 - legitimacy) - risk * p_arrest > 0.1
    if expected_active:
        # Active, or already caught by a cop that moved after it in the random order.
        assert st["state"][0] in (k.ACTIVE, k.JAILED)
        assert run.counts["active"].iloc[1] + run.counts["arrests"].iloc[1] >= 1
    else:
        assert st["state"][0] == k.QUIET
        assert run.counts["arrests"].iloc[1] == 0


def test_ratio_is_rounded_like_mesa() -> None:
    # One cop, the citizen and one active neighbour: C/A = 1/2 rounds (half to even) to 0, so P = 0.
    st = _state([12, 6, 13], [k.CITIZEN, k.COP, k.CITIZEN], [0.9, 0.0, 1.0], [0.9, 0.0, 0.0])
    st["state"][2] = k.ACTIVE
    model = LatticeModel(width=5, height=5, vision=1, neighbourhood="moore", movement=False, max_jail=0)
    model.run_from(st, 1, seed=3)
    # 0.18 - 0.9 * 0 > 0.1: active unless arrested (jail term 0 leaves it "jailed" this step).
    assert st["state"][0] in (k.ACTIVE, k.JAILED)
    unrounded = LatticeModel(
        width=5, height=5, vision=1, neighbourhood="moore", movement=False, round_ratio=False
    )
    st2 = _state([12, 6, 13], [k.CITIZEN, k.COP, k.CITIZEN], [0.9, 0.0, 1.0], [0.9, 0.0, 0.0])
    st2["state"][2] = k.ACTIVE
    unrounded.run_from(st2, 1, seed=3)
    # Without rounding P = 1 - exp(-1.15) = 0.68 and 0.18 - 0.62 < 0.1: quiet.
    assert st2["state"][0] == k.QUIET


def test_model_i_conserves_agents_and_cells() -> None:
    model = LatticeModel(width=20, height=20)
    run = model.run(60, seed=5)
    c = run.counts
    citizens = int((run.state["kind"] == k.CITIZEN).sum())
    assert (c["quiet"] + c["active"] + c["jailed"] == citizens).all()
    assert (c["kills"] == 0).all() and (c["births"] == 0).all()
    cells = run.state["cell"]
    assert (cells >= 0).all() and len(np.unique(cells)) == len(cells)  # one agent per cell
    assert run.counts["arrests"].sum() > 0  # the rules did act


def test_model_ii_population_changes_only_by_kills_births_and_age() -> None:
    run = LatticeModel.model_ii("safe_havens").run(150, seed=2)
    c = run.counts
    living = (c["group0"] + c["group1"]).to_numpy()
    change = np.diff(living)
    assert (change == (c["births"] - c["kills"] - c["aged"]).to_numpy()[1:]).all()
    live = run.state["state"] != k.DEAD
    cells = run.state["cell"][live]
    assert len(np.unique(cells)) == len(cells)


def test_same_seed_same_run_and_other_seed_differs() -> None:
    model = LatticeModel(width=20, height=20, legitimacy=0.7)
    a, b, c = model.run(80, seed=11), model.run(80, seed=11), model.run(80, seed=12)
    assert a.counts.equals(b.counts)
    assert not a.counts.equals(c.counts)


def test_model_ii_outcomes_as_in_epstein() -> None:
    # Low legitimacy, no peacekeepers: one group is wiped out (Epstein's runs 2-3).
    genocide = LatticeModel.model_ii("genocide").run(400, seed=1).counts
    assert min(genocide["group0"].iloc[-1], genocide["group1"].iloc[-1]) == 0
    # High legitimacy: peaceful coexistence, nobody killed after the first steps.
    peace = LatticeModel.model_ii("coexistence").run(200, seed=1).counts
    assert peace["kills"].sum() == 0 and min(peace["group0"].iloc[-1], peace["group1"].iloc[-1]) > 300

    # Peacekeepers (cop density 0.04) delay the extinction of one group (Epstein's Figs 15-16).
    def waiting(cop_density: float, seed: int, steps: int = 400) -> int:
        c = LatticeModel.model_ii("genocide", cop_density=cop_density).run(steps, seed=seed).counts
        gone = np.flatnonzero(np.minimum(c["group0"], c["group1"]).to_numpy() == 0)
        return int(gone[0]) if gone.size else steps

    bare = [waiting(0.0, s) for s in range(1, 5)]
    kept = [waiting(0.04, s) for s in range(1, 5)]
    assert np.median(kept) > 2 * np.median(bare)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"width": 2}, "'width' parameter of LatticeModel must be an int >= 3"),  # too small
        ({"citizen_density": 0.9, "cop_density": 0.2}, "citizen_density \\+ cop_density is 1.100"),
        ({"legitimacy": 1.5}, "'legitimacy' parameter of LatticeModel must be a float in \\[0, 1\\]"),
        ({"neighbourhood": "hex"}, "'neighbourhood' parameter"),
        ({"vision": 25}, "vision 25 wraps around a 40 x 40 torus"),
    ],
)
def test_bad_parameters_are_named(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InputError, match=match):
        LatticeModel(**kwargs).run(1)  # type: ignore[arg-type]


def test_bad_steps_and_run_name() -> None:
    with pytest.raises(InputError, match="steps must be an int >= 0"):
        LatticeModel().run(-1)
    with pytest.raises(InputError, match="Unknown model II run 'war'"):
        LatticeModel.model_ii("war")
