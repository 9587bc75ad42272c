"""Numba kernel of Epstein's civil-violence lattice (models I and II), state in flat arrays.

One call runs a whole simulation so that the per-step cost is a tight loop with no Python in it.
Agents act one at a time in a fresh random order every step (random sequential activation, as
Mesa's ``shuffle_do`` and Epstein's Ascape code do), so each agent sees the moves made before it.

Agent arrays (one slot per agent; slots of dead agents are reused by births in model II):

``kind``  0 citizen, 1 cop; ``group`` 0 or 1 (model II); ``cell`` flat lattice index or -1 if dead;
``hardship``, ``risk`` U(0, 1) draws; ``state`` 0 quiet, 1 active, 2 jailed, 3 dead;
``jail`` steps of jail left; ``age`` steps lived (model II).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from kalkan.simulate._shuffle import shuffle_first

QUIET = 0
ACTIVE = 1
JAILED = 2
DEAD = 3

CITIZEN = 0
COP = 1


@njit(cache=True)
def neighbour_table(width: int, height: int, offsets: np.ndarray) -> np.ndarray:
    """Flat index of every cell's neighbours on the torus, one row per cell (centre excluded)."""
    n = width * height
    m = offsets.shape[0]
    table = np.empty((n, m), dtype=np.int32)
    for y in range(height):
        for x in range(width):
            c = y * width + x
            for k in range(m):
                nx = (x + offsets[k, 0]) % width
                ny = (y + offsets[k, 1]) % height
                table[c, k] = ny * width + nx
    return table


@njit(cache=True)
def _code(kind: int, group: int, state: int) -> int:
    """What a cell shows to its neighbours: 0 empty, 1 cop, 2 + 3 * group + state for a citizen."""
    if kind == COP:
        return 1
    return 2 + 3 * group + state


@njit(cache=True)
def _random_empty(here: int, table: np.ndarray, occ: np.ndarray, empties: np.ndarray) -> int:
    """A uniformly random empty cell in vision of ``here``, or -1 if there is none.

    Rejection sampling over the neighbourhood is uniform over its empty cells and usually needs a
    few draws; after 24 misses it falls back to listing the empty cells.
    """
    m = table.shape[1]
    for _ in range(24):
        c = table[here, np.random.randint(0, m)]
        if occ[c] == 0:
            return int(c)
    n_empty = 0
    for k in range(m):
        c = table[here, k]
        if occ[c] == 0:
            empties[n_empty] = c
            n_empty += 1
    if n_empty == 0:
        return -1
    return int(empties[np.random.randint(0, n_empty)])


@njit(cache=True)
def run_lattice(
    seed: int,
    steps: int,
    table: np.ndarray,
    kind: np.ndarray,
    group: np.ndarray,
    cell: np.ndarray,
    hardship: np.ndarray,
    risk: np.ndarray,
    state: np.ndarray,
    jail: np.ndarray,
    age: np.ndarray,
    legitimacy: np.ndarray,
    threshold: float,
    k_arrest: float,
    round_ratio: bool,
    max_jail: int,
    movement: bool,
    two_groups: bool,
    fission: float,
    max_age: int,
) -> np.ndarray:
    """Run ``steps`` steps in place and return per-step counts.

    Returns an int64 array of shape (steps + 1, 9): quiet, active, jailed citizens, living
    citizens of group 0 and of group 1, kills, births, arrests and deaths of old age this step.
    Row 0 is the state before the first step.
    """
    np.random.seed(seed)
    n_cells = table.shape[0]
    m = table.shape[1]
    cap = kind.shape[0]
    grid = np.full(n_cells, -1, dtype=np.int64)
    occ = np.zeros(n_cells, dtype=np.int8)
    for i in range(cap):
        if cell[i] >= 0 and state[i] != DEAD:
            grid[cell[i]] = i
            occ[cell[i]] = _code(kind[i], group[i], state[i])
    free = np.empty(cap, dtype=np.int64)
    n_free = 0
    for i in range(cap - 1, -1, -1):
        if state[i] == DEAD:
            free[n_free] = i
            n_free += 1
    out = np.zeros((steps + 1, 9), dtype=np.int64)
    empties = np.empty(m, dtype=np.int64)
    candidates = np.empty(m, dtype=np.int64)
    order = np.empty(cap, dtype=np.int64)
    _count(out, 0, kind, group, state)
    for t in range(1, steps + 1):
        kills = 0
        births = 0
        arrests = 0
        aged = 0
        n_live = 0
        for i in range(cap):
            if state[i] != DEAD:
                order[n_live] = i
                n_live += 1
        # Fisher-Yates shuffle of the living agents: a fresh random order every step.
        shuffle_first(order, n_live)
        for o in range(n_live):
            i = order[o]
            if state[i] == DEAD:
                continue  # killed earlier in this step
            here = cell[i]
            if kind[i] == CITIZEN:
                if jail[i] > 0:
                    jail[i] -= 1
                    continue
                g = group[i]
                grievance = hardship[i] * (1.0 - legitimacy[g])
                new_state = QUIET
                if grievance > threshold:
                    # Only an agent whose grievance exceeds T can turn active: count what it sees.
                    own_active = 2 + 3 * g + ACTIVE
                    other_quiet = 2 + 3 * (1 - g) + QUIET
                    other_active = 2 + 3 * (1 - g) + ACTIVE
                    cops = 0
                    actives = 1  # the agent counts itself (Epstein 2002)
                    n_target = 0
                    for k in range(m):
                        c = table[here, k]
                        oc = occ[c]
                        if oc == 1:
                            cops += 1
                        elif oc == own_active:
                            actives += 1
                        elif two_groups and (oc == other_quiet or oc == other_active):
                            candidates[n_target] = c
                            n_target += 1
                    ratio = cops / actives
                    if round_ratio:
                        ratio = np.round(ratio)
                    p_arrest = 1.0 - np.exp(-k_arrest * ratio)
                    if grievance - risk[i] * p_arrest > threshold:
                        new_state = ACTIVE
                        if two_groups and n_target > 0:
                            vc = candidates[np.random.randint(0, n_target)]
                            v = grid[vc]
                            state[v] = DEAD
                            grid[vc] = -1
                            occ[vc] = 0
                            cell[v] = -1
                            free[n_free] = v
                            n_free += 1
                            kills += 1
                state[i] = new_state
                occ[here] = _code(CITIZEN, g, new_state)
            else:
                n_act = 0
                for k in range(m):
                    c = table[here, k]
                    oc = occ[c]
                    if oc == 2 + ACTIVE or oc == 5 + ACTIVE:
                        candidates[n_act] = c
                        n_act += 1
                if n_act > 0:
                    vc = candidates[np.random.randint(0, n_act)]
                    v = grid[vc]
                    state[v] = JAILED
                    occ[vc] = _code(CITIZEN, group[v], JAILED)
                    jail[v] = np.random.randint(0, max_jail + 1)
                    arrests += 1
            if movement:
                dest = _random_empty(here, table, occ, empties)
                if dest >= 0:
                    grid[dest] = i
                    occ[dest] = occ[here]
                    grid[here] = -1
                    occ[here] = 0
                    cell[i] = dest
        if two_groups and (fission > 0.0 or max_age > 0):
            # Model II demography: age, die at max_age, split into an empty neighbouring cell.
            for o in range(n_live):
                i = order[o]
                if state[i] == DEAD or kind[i] != CITIZEN:
                    continue
                age[i] += 1
                if max_age > 0 and age[i] >= max_age:
                    grid[cell[i]] = -1
                    occ[cell[i]] = 0
                    cell[i] = -1
                    state[i] = DEAD
                    free[n_free] = i
                    n_free += 1
                    aged += 1
                    continue
                if fission > 0.0 and np.random.random() < fission and n_free > 0:
                    dest = _random_empty(cell[i], table, occ, empties)
                    if dest >= 0:
                        n_free -= 1
                        j = free[n_free]
                        kind[j] = CITIZEN
                        group[j] = group[i]
                        cell[j] = dest
                        grid[dest] = j
                        hardship[j] = np.random.random()
                        risk[j] = np.random.random()
                        state[j] = QUIET
                        occ[dest] = _code(CITIZEN, group[j], QUIET)
                        jail[j] = 0
                        age[j] = 0
                        births += 1
        _count(out, t, kind, group, state)
        out[t, 5] = kills
        out[t, 6] = births
        out[t, 7] = arrests
        out[t, 8] = aged
    return out


@njit(cache=True)
def _count(out: np.ndarray, t: int, kind: np.ndarray, group: np.ndarray, state: np.ndarray) -> None:
    for i in range(kind.shape[0]):
        if kind[i] != CITIZEN or state[i] == DEAD:
            continue
        s = state[i]
        if s == QUIET:
            out[t, 0] += 1
        elif s == ACTIVE:
            out[t, 1] += 1
        else:
            out[t, 2] += 1
        out[t, 3 + group[i]] += 1
