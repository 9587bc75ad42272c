"""Numba kernel of the geographic model: Epstein's model II on a graph of real places.

Agents stand for ``persons`` people each (a household group). They live in a place, belong to one
of two groups and follow Epstein's activation rule; an active agent attacks the other group in the
place it stands in (kills, burns homes) or, if nobody of the other group is left there, travels to
the nearby place with the most of them. Attacks raise the victims' group's distrust of the other
group in that place (Epstein's endogenous-distrust extension), which both lowers legitimacy (so
victims may retaliate) and makes quiet members of that group flee (displacement). Armed police
deter (they enter the arrest-probability ratio) and arrest within a per-post capacity.

Agent state codes: 0 quiet, 1 active, 2 jailed, 3 dead, 4 displaced.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from kalkan.simulate._shuffle import shuffle_first

QUIET = 0
ACTIVE = 1
JAILED = 2
DEAD = 3
DISPLACED = 4

# Columns of the per-day outputs (axis 2 of ``daily``): victims are counted by their own group.
D_DEATHS0, D_DEATHS1, D_HOMES0, D_HOMES1, D_DISPL0, D_DISPL1, D_ATTACKS, D_OBSERVED, D_ARRESTS = range(9)
N_DAILY = 9


@njit(cache=True)
def _victim(
    p: int, g: int, bucket_ptr: np.ndarray, bucket: np.ndarray, place: np.ndarray, state: np.ndarray
) -> int:
    """A random quiet agent of group ``g`` at home in ``p``, or -1.

    Mobs attack homes and the people in them, not other mobs: victims are the quiet members of the
    other group living there. Rejection sampling, then a full scan of the home bucket.
    """
    lo = bucket_ptr[2 * p + g]
    hi = bucket_ptr[2 * p + g + 1]
    n = hi - lo
    if n == 0:
        return -1
    for _ in range(16):
        j = bucket[lo + np.random.randint(0, n)]
        if place[j] == p and state[j] == QUIET:
            return int(j)
    count = 0
    for q in range(lo, hi):
        j = bucket[q]
        if place[j] == p and state[j] == QUIET:
            count += 1
    if count == 0:
        return -1
    pick = np.random.randint(0, count)
    for q in range(lo, hi):
        j = bucket[q]
        if place[j] == p and state[j] == QUIET:
            if pick == 0:
                return int(j)
            pick -= 1
    return -1


@njit(cache=True)
def run_geo(
    seed: int,
    steps: int,
    steps_per_day: int,
    group: np.ndarray,
    home: np.ndarray,
    place: np.ndarray,
    hardship: np.ndarray,
    risk: np.ndarray,
    state: np.ndarray,
    jail: np.ndarray,
    persons: np.ndarray,
    bucket_ptr: np.ndarray,
    bucket: np.ndarray,
    homes: np.ndarray,
    nbr_ptr: np.ndarray,
    nbr_idx: np.ndarray,
    cover_ptr: np.ndarray,
    cover_post: np.ndarray,
    post_officers: np.ndarray,
    post_arrival: np.ndarray,
    observed: np.ndarray,
    distrust: np.ndarray,
    fear: np.ndarray,
    spark_step: np.ndarray,
    spark_level: float,
    legitimacy: float,
    threshold: float,
    k_arrest: float,
    officer_weight: float,
    persons_per_agent: float,
    lethality: float,
    arson: float,
    flight: float,
    distrust_per_attack: float,
    distrust_decay: float,
    max_jail: int,
    arrests_per_officer: float,
    flee_active: bool,
    fear_spread: float,
    watch_from: np.ndarray,
    monitor_effect: float,
    crowd_growth: float,
    avoid_posts: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``steps`` steps in place.

    Returns ``daily`` of shape (days, places, 9) (see ``D_*``) and ``per_step`` of shape
    (steps + 1, 4): active agents of group 0 and 1, jailed agents, displaced agents.

    ``watch_from[p]`` is the first step unarmed monitors in reach of place ``p`` are on duty (0: never);
    where they are, an agent's net risk gains ``monitor_effect`` x its risk aversion (negative: being
    watched emboldens). ``crowd_growth`` adds that share of the active share of the agent's group here to
    its grievance (crowds draw people in). ``avoid_posts`` discounts a place with armed police on duty
    when a mob chooses where to go (0: ignores posts, 1: never goes there while another place has
    targets).
    """
    np.random.seed(seed)
    n = group.shape[0]
    n_places = homes.shape[0]
    n_posts = post_officers.shape[0]
    days = (steps + steps_per_day - 1) // steps_per_day
    daily = np.zeros((max(days, 1), n_places, N_DAILY), dtype=np.int64)
    per_step = np.zeros((steps + 1, 4), dtype=np.int64)
    present = np.zeros((n_places, 2), dtype=np.int64)
    active = np.zeros((n_places, 2), dtype=np.int64)
    home_count = np.zeros((n_places, 2), dtype=np.int64)
    for i in range(n):
        home_count[home[i], group[i]] += 1
        if state[i] == QUIET or state[i] == ACTIVE:
            present[place[i], group[i]] += 1
        if state[i] == ACTIVE:
            active[place[i], group[i]] += 1
    # Armed officers on duty within reach of each place (they deter wherever they can respond). A post
    # is on duty from its arrival step (1 = from the start).
    on_duty = np.zeros(n_posts)
    for b in range(n_posts):
        if post_arrival[b] <= 1:
            on_duty[b] = post_officers[b]
    cover_officers = np.zeros(n_places)
    _cover(cover_officers, cover_ptr, cover_post, on_duty)
    budget = np.zeros(n_posts)
    felt = np.zeros((n_places, 2))
    order = np.empty(n, dtype=np.int64)
    calm = 1.0 - legitimacy <= threshold
    _snapshot(per_step, 0, state, group)
    for t in range(1, steps + 1):
        day = (t - 1) // steps_per_day
        # Flashpoints: both groups' distrust jumps where a clash breaks out at this step.
        for p in range(n_places):
            if spark_step[p] == t:
                for g in range(2):
                    if distrust[p, g] < spark_level:
                        distrust[p, g] = spark_level
        arrived = False
        for b in range(n_posts):
            if t > 1 and post_arrival[b] == t:
                on_duty[b] = post_officers[b]
                arrived = True
        if arrived:
            _cover(cover_officers, cover_ptr, cover_post, on_duty)
        for b in range(n_posts):
            budget[b] = on_duty[b] * arrests_per_officer
        # News travels one hop: a group also feels a share of the worst fear among nearby places.
        for p in range(n_places):
            for g in range(2):
                worst = 0.0
                for q in range(nbr_ptr[p], nbr_ptr[p + 1]):
                    if fear[nbr_idx[q], g] > worst:
                        worst = fear[nbr_idx[q], g]
                felt[p, g] = fear_spread * worst
        # Only agents that can do something this step take part: active or jailed ones, and quiet
        # ones where their group feels distrust or fear. A quiet agent elsewhere stays quiet (its
        # grievance H (1 - L) cannot pass T when 1 - L <= T) and has no reason to flee.
        n_act = 0
        for i in range(n):
            s = state[i]
            if (
                s == ACTIVE
                or s == JAILED
                or (
                    s == QUIET
                    and (not calm or distrust[place[i], group[i]] > 0.0 or felt[place[i], group[i]] > 0.0)
                )
            ):
                order[n_act] = i
                n_act += 1
        shuffle_first(order, n_act)
        for o in range(n_act):
            i = order[o]
            s = state[i]
            if s == DEAD or s == DISPLACED:
                continue
            if s == JAILED:
                jail[i] -= 1
                if jail[i] <= 0:
                    state[i] = QUIET
                    place[i] = home[i]
                    present[home[i], group[i]] += 1
                continue
            p = place[i]
            g = group[i]
            h = 1 - g
            # Epstein's rule A with legitimacy lowered by this group's distrust here.
            legit = legitimacy - distrust[p, g]
            if legit < 0.0:
                legit = 0.0
            grievance = hardship[i] * (1.0 - legit)
            if crowd_growth > 0.0 and present[p, g] > 0:
                grievance += crowd_growth * active[p, g] / present[p, g]
            p_arrest = 0.0
            if cover_officers[p] > 0.0:
                own = active[p, g] + (0 if s == ACTIVE else 1)
                p_arrest = 1.0 - np.exp(
                    -k_arrest * officer_weight * cover_officers[p] / (own * persons_per_agent)
                )
            net = risk[i] * p_arrest
            if watch_from[p] > 0 and t >= watch_from[p]:
                net += monitor_effect * risk[i]
            want_active = grievance - net > threshold
            if not want_active:
                if s == ACTIVE:
                    active[p, g] -= 1
                    # A quiet agent goes home.
                    if p != home[i]:
                        present[p, g] -= 1
                        place[i] = home[i]
                        present[home[i], g] += 1
                    state[i] = QUIET
                    p = home[i]
                # Fear: quiet members of a group under attack here flee.
                f = max(fear[p, g], felt[p, g])
                if flight > 0.0 and f > 0.0:
                    if np.random.random() < 1.0 - np.exp(-flight * f):
                        state[i] = DISPLACED
                        present[p, g] -= 1
                        daily[day, home[i], D_DISPL0 + g] += persons[i]
                continue
            # Households under attack at home flee whether or not their members have joined the fight.
            f = max(fear[p, g], felt[p, g])
            if flee_active and p == home[i] and flight > 0.0 and f > 0.0:
                if np.random.random() < 1.0 - np.exp(-flight * f):
                    if s == ACTIVE:
                        active[p, g] -= 1
                    state[i] = DISPLACED
                    present[p, g] -= 1
                    daily[day, home[i], D_DISPL0 + g] += persons[i]
                    continue
            if s != ACTIVE:
                state[i] = ACTIVE
                active[p, g] += 1
            # Police in reach may catch an active agent: probability P, within the posts' capacity.
            if p_arrest > 0.0 and np.random.random() < p_arrest:
                for q in range(cover_ptr[p], cover_ptr[p + 1]):
                    b = cover_post[q]
                    if budget[b] <= 0.0:
                        continue
                    if budget[b] >= persons_per_agent or np.random.random() < budget[b] / persons_per_agent:
                        budget[b] -= persons_per_agent
                        state[i] = JAILED
                        jail[i] = 1 + np.random.randint(0, max_jail)
                        active[p, g] -= 1
                        present[p, g] -= 1
                        daily[day, p, D_ARRESTS] += 1
                        break
                    budget[b] = 0.0
                if state[i] == JAILED:
                    continue
            if present[p, h] - active[p, h] <= 0:
                # No quiet member of the other group here: travel to the nearby place with the most.
                best = -1
                most = 0.0
                for q in range(nbr_ptr[p], nbr_ptr[p + 1]):
                    r = nbr_idx[q]
                    pull = float(present[r, h] - active[r, h])
                    if avoid_posts > 0.0 and cover_officers[r] > 0.0:
                        pull *= 1.0 - avoid_posts
                    if pull > most:
                        most = pull
                        best = r
                if best >= 0:
                    present[p, g] -= 1
                    active[p, g] -= 1
                    place[i] = best
                    present[best, g] += 1
                    active[best, g] += 1
                continue
            # Attack: kill and burn in the other group's homes here.
            v = _victim(p, h, bucket_ptr, bucket, place, state)
            if v < 0:
                continue
            daily[day, p, D_ATTACKS] += 1
            if observed[p]:
                daily[day, p, D_OBSERVED] += 1
            killed = np.random.poisson(lethality)
            if killed > persons[v]:
                killed = persons[v]
            if killed > 0:
                persons[v] -= killed
                daily[day, p, D_DEATHS0 + h] += killed
                if persons[v] == 0:
                    state[v] = DEAD
                    present[p, h] -= 1
            burnt = np.random.poisson(arson)
            if burnt > homes[p, h]:
                burnt = homes[p, h]
            homes[p, h] -= burnt
            daily[day, p, D_HOMES0 + h] += burnt
            # Distrust (anger) and fear rise with the share of the group's households attacked here.
            if home_count[p, h] > 0:
                rise = distrust_per_attack / home_count[p, h]
                distrust[p, h] = min(1.0, distrust[p, h] + rise)
                fear[p, h] = min(1.0, fear[p, h] + rise)
        for p in range(n_places):
            for g in range(2):
                distrust[p, g] *= distrust_decay
                fear[p, g] *= distrust_decay
        _snapshot(per_step, t, state, group)
    return daily, per_step


@njit(cache=True)
def _cover(
    cover_officers: np.ndarray, cover_ptr: np.ndarray, cover_post: np.ndarray, on_duty: np.ndarray
) -> None:
    """Officers on duty within reach of each place, in place."""
    for p in range(cover_officers.shape[0]):
        total = 0.0
        for q in range(cover_ptr[p], cover_ptr[p + 1]):
            total += on_duty[cover_post[q]]
        cover_officers[p] = total


@njit(cache=True)
def _snapshot(per_step: np.ndarray, t: int, state: np.ndarray, group: np.ndarray) -> None:
    for i in range(state.shape[0]):
        s = state[i]
        if s == ACTIVE:
            per_step[t, group[i]] += 1
        elif s == JAILED:
            per_step[t, 2] += 1
        elif s == DISPLACED:
            per_step[t, 3] += 1
