"""The geographic model: Epstein's model II on the scenario's real places, with police posts.

Each agent stands for ``persons_per_agent`` people of one group living in one place (populations
from ``kalkan.plan.exposure.places_at_risk``: group 0 is the scenario's group at risk, group 1
everyone else). One step is ``24 / steps_per_day`` hours. Per step, in a fresh random order, each
agent applies Epstein's rule A with grievance ``H (1 - L + d)`` where ``d`` is its group's local
distrust of the other group (Epstein's endogenous-distrust extension): an active agent attacks
the other group where it stands (deaths ~ Poisson(``lethality``) people, homes burnt ~
Poisson(``arson``)), or travels to the nearby place (within ``move_minutes``) with the most members of
the other group. Attacks raise the victims' distrust (``distrust_per_attack`` per household share
attacked; decays by ``distrust_decay`` per step), which makes that group's quiet members flee
(displacement, probability ``1 - exp(-flight d)`` per step) and its members more likely to retaliate.

Armed police on duty within ``response_minutes`` of a place enter the arrest-probability ratio,
``P = 1 - exp(-k w C / A)`` with ``C`` officers on duty in reach, ``A`` active people of the agent's
group there (itself included) and ``w`` = ``officer_weight`` (how many rioters one armed officer
counts against). An active agent is caught with probability ``P`` if a post in reach has arrest
capacity left (``arrests_per_officer`` people per officer per step); a share ``forces_join`` of a
force's officers stands aside or takes part instead. Unarmed monitors record the attacks they can see
(``observed`` share) and change the net risk an agent feels by ``monitor_effect`` (either sign).
Crowds draw people in (``crowd_growth``) and mobs may avoid places with armed police
(``avoid_posts``). Flashpoints
(``spark_step``) set both groups' distrust to ``spark_distrust`` where clashes broke out.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from kalkan._base import Params, Rule, check_is_fitted, real
from kalkan.errors import InputError, SchemaError
from kalkan.plan.defaults import RESPONSE_MINUTES
from kalkan.simulate import _geo_kernel as _k

__all__ = ["GEO_SETTINGS", "GeoModel", "GeoRun", "Setting"]


@dataclass(frozen=True)
class Setting:
    """One parameter of the geographic model: name, default, unit, meaning and where it comes from."""

    name: str
    default: float
    unit: str
    help: str
    low: float
    high: float = float("inf")


#: Every parameter of :class:`GeoModel` in one table (the docs and the CLI read it from here).
GEO_SETTINGS: tuple[Setting, ...] = (
    Setting("persons_per_agent", 100, "people", "people one agent stands for", 1),
    Setting(
        "persons_per_home",
        5.0,
        "people",
        "people per home (assumption; sets the homes each place has to lose)",
        1,
    ),
    Setting("steps_per_day", 4, "steps", "steps per day (6-hour steps)", 1, 48),
    Setting(
        "legitimacy",
        0.9,
        "",
        "L: each group's view of the other's legitimacy before distrust "
        "(Epstein's model II coexistence run uses 0.9)",
        0,
        1,
    ),
    Setting("threshold", 0.1, "", "T of rule A (Epstein 2002)", 0, 1),
    Setting("k_arrest", 2.3, "", "k of P = 1 - exp(-k w C/A) (Epstein 2002)", 0),
    Setting(
        "officer_weight",
        10.0,
        "rioters per officer",
        "w: rioters one armed officer on duty counts against in P (assumption, see docs)",
        0,
    ),
    Setting("arrests_per_officer", 1.0, "people per officer per step", "arrest capacity of a post", 0),
    Setting("max_jail", 40, "steps", "jail term is uniform on 1..max_jail steps", 1),
    Setting(
        "lethality", 0.06, "deaths per attack", "mean people killed by one agent's attack (calibrated)", 0
    ),
    Setting("arson", 0.3, "homes per attack", "mean homes burnt by one agent's attack (calibrated)", 0),
    Setting(
        "flight",
        4.0,
        "",
        "displacement: a quiet agent flees with probability 1 - exp(-flight d) per step (calibrated)",
        0,
    ),
    Setting("flee_active", 1, "0/1", "whether households of active agents at home flee from fear too", 0, 1),
    Setting(
        "fear_spread",
        0.5,
        "",
        "share of the worst fear among a place's neighbours its households feel too (news travels one hop)",
        0,
        1,
    ),
    Setting(
        "distrust_per_attack",
        1.0,
        "",
        "distrust added per share of a group's households attacked in a place",
        0,
    ),
    Setting(
        "distrust_decay",
        0.9,
        "per step",
        "distrust kept from one step to the next (Epstein's code evaporates distrust by 0.9)",
        0,
        1,
    ),
    Setting("spark_distrust", 0.2, "", "distrust of both groups at a flashpoint (calibrated)", 0, 1),
    Setting("move_minutes", 60.0, "minutes", "how far a mob travels to find the other group", 0),
    Setting("neighbours", 8, "places", "nearest places within move_minutes a mob considers", 1),
    Setting("response_minutes", RESPONSE_MINUTES, "minutes", "reach of a police post (as in the planner)", 0),
    Setting(
        "monitor_effect",
        0.0,
        "",
        "change in net risk an agent feels where unarmed monitors are on duty "
        "(> 0 deters, < 0 emboldens: Hultman, Kathman & Shannon find more unarmed observers go "
        "with more civilian deaths); drawn from its prior in comparisons",
        -1,
        1,
    ),
    Setting(
        "crowd_growth",
        0.0,
        "",
        "grievance added per share of the agent's group active here: "
        "crowds draw people in (Granovetter 1978); calibrated",
        0,
        1,
    ),
    Setting(
        "avoid_posts",
        0.25,
        "",
        "discount a mob puts on a place with armed police on duty when "
        "choosing where to go (0 ignores posts; small by default: Weisburd et al. 2006 find little "
        "displacement of crime from policed places)",
        0,
        1,
    ),
    Setting(
        "forces_join",
        0.1,
        "",
        "share of a force's armed officers who stand aside or take part "
        "instead of deterring (inquiry commissions have reported members of the "
        "security forces took part); they neither deter nor arrest",
        0,
        1,
    ),
)
_SETTINGS = {s.name: s for s in GEO_SETTINGS}

PLACE_COLUMNS = ("place_id", "latitude", "longitude", "population", "group_share")
POST_COLUMNS = ("latitude", "longitude", "officers_on_duty", "armed")


@dataclass
class GeoRun:
    """Outcomes of one run of the geographic model.

    ``daily`` has one row per day and place with people killed (``deaths``), homes destroyed
    (``homes_destroyed``), people displaced (``displaced``), each also by victims' group
    (``_group0`` = the group at risk), plus ``attacks``, ``observed`` (attacks within reach of a
    post) and ``arrests`` (agents jailed). ``per_step`` counts active, jailed and displaced agents.
    """

    seed: int
    days: int
    seconds: float
    daily: pd.DataFrame
    per_step: pd.DataFrame
    totals: dict[str, float]
    state: dict[str, np.ndarray] = field(repr=False)


def _rule(setting: Setting) -> Rule:
    high = None if not np.isfinite(setting.high) else setting.high
    return real(setting.low, high, low_open=False)


class GeoModel(Params):
    """Epstein's model II on a set of places with police posts; see the module docstring.

    Every setting of :data:`GEO_SETTINGS` is a keyword of ``__init__`` (which only stores them);
    :meth:`fit` (or :meth:`from_places`) builds the model of the places, checking the settings first,
    and :meth:`run` makes one seeded run.
    """

    _parameter_constraints: ClassVar[Mapping[str, Rule]] = {s.name: _rule(s) for s in GEO_SETTINGS}

    places_: pd.DataFrame | None = None
    spark_step_: np.ndarray
    population_: np.ndarray
    share_: np.ndarray
    nbr_ptr_: np.ndarray
    nbr_idx_: np.ndarray
    cover_ptr_: np.ndarray
    cover_post_: np.ndarray
    post_officers_: np.ndarray
    post_arrival_: np.ndarray
    observed_: np.ndarray
    posts_: pd.DataFrame
    watch_from_: np.ndarray

    def __init__(
        self,
        *,
        persons_per_agent: float = 100,
        persons_per_home: float = 5.0,
        steps_per_day: int = 4,
        legitimacy: float = 0.9,
        threshold: float = 0.1,
        k_arrest: float = 2.3,
        officer_weight: float = 10.0,
        arrests_per_officer: float = 1.0,
        max_jail: int = 40,
        lethality: float = 0.06,
        arson: float = 0.3,
        flight: float = 4.0,
        flee_active: int = 1,
        fear_spread: float = 0.5,
        distrust_per_attack: float = 1.0,
        distrust_decay: float = 0.9,
        spark_distrust: float = 0.2,
        move_minutes: float = 60.0,
        neighbours: int = 8,
        response_minutes: float = RESPONSE_MINUTES,
        monitor_effect: float = 0.0,
        crowd_growth: float = 0.0,
        avoid_posts: float = 0.25,
        forces_join: float = 0.1,
    ) -> None:
        self.persons_per_agent = persons_per_agent
        self.persons_per_home = persons_per_home
        self.steps_per_day = steps_per_day
        self.legitimacy = legitimacy
        self.threshold = threshold
        self.k_arrest = k_arrest
        self.officer_weight = officer_weight
        self.arrests_per_officer = arrests_per_officer
        self.max_jail = max_jail
        self.lethality = lethality
        self.arson = arson
        self.flight = flight
        self.flee_active = flee_active
        self.fear_spread = fear_spread
        self.distrust_per_attack = distrust_per_attack
        self.distrust_decay = distrust_decay
        self.spark_distrust = spark_distrust
        self.move_minutes = move_minutes
        self.neighbours = neighbours
        self.response_minutes = response_minutes
        self.monitor_effect = monitor_effect
        self.crowd_growth = crowd_growth
        self.avoid_posts = avoid_posts
        self.forces_join = forces_join

    @property
    def settings(self) -> dict[str, Any]:
        """Every setting by name (the same as :meth:`get_params`)."""
        return self.get_params()

    @settings.setter
    def settings(self, values: Mapping[str, Any]) -> None:
        self.set_params(**values)

    def check_settings(self) -> GeoModel:
        """Raise InputError on a value outside its range (see GEO_SETTINGS); the rules of kalkan._base."""
        self._validate_params()
        return self

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_places(
        cls,
        places: pd.DataFrame,
        posts: pd.DataFrame | None = None,
        *,
        spark_step: np.ndarray | None = None,
        travel: np.ndarray | None = None,
        **settings: Any,
    ) -> GeoModel:
        """Model of ``places`` (``place_id, latitude, longitude, population, group_share``).

        Parameters
        ----------
        places : DataFrame
            One row per place; ``group_share`` is the share (0-1) of the group at risk.
        posts : DataFrame, optional
            Police posts: ``latitude, longitude, officers_on_duty, armed`` (bool).
        spark_step : array of int, optional
            Step (1-based) at which a clash breaks out in each place, 0 for none.
        travel : array, optional
            Travel minutes between places (places x places); default ``kalkan.plan.travel``'s model.
        """
        unknown = sorted(set(settings) - set(_SETTINGS))
        if unknown:
            raise InputError(
                f"Unknown setting(s) of GeoModel: {', '.join(unknown)}; known: {', '.join(_SETTINGS)}."
            )
        return cls(**settings).fit(places, posts, spark_step=spark_step, travel=travel)

    def fit(
        self,
        places: pd.DataFrame,
        posts: pd.DataFrame | None = None,
        *,
        spark_step: np.ndarray | None = None,
        travel: np.ndarray | None = None,
    ) -> GeoModel:
        """Build the model of ``places`` (see :meth:`from_places`); the settings are checked first."""
        self._validate_params()
        model = self
        missing = [c for c in PLACE_COLUMNS if c not in places.columns]
        if missing:
            raise SchemaError(
                f"The places table lacks column(s) {', '.join(missing)}: give "
                f"{', '.join(PLACE_COLUMNS)} (as kalkan.plan.exposure.places_at_risk returns)."
            )
        pop = pd.to_numeric(places["population"], errors="coerce").to_numpy(float)
        share = pd.to_numeric(places["group_share"], errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~np.isfinite(pop) | (pop < 0) | ~np.isfinite(share) | (share < 0) | (share > 1))
        if bad.size:
            raise InputError(
                f"{bad.size} place(s) have no usable population or group_share (rows "
                f"{', '.join(map(str, bad[:5].tolist()))}): give population >= 0 and a share "
                f"in [0, 1], or drop them."
            )
        lat = places["latitude"].to_numpy(float)
        lon = places["longitude"].to_numpy(float)
        if not (np.isfinite(lat).all() and np.isfinite(lon).all()):
            raise InputError("Some places have no coordinates: add latitude/longitude or drop them.")
        n = len(places)
        if travel is None:
            from kalkan.plan.travel import travel_minutes

            travel = travel_minutes(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
        travel = np.asarray(travel, dtype=float)
        if travel.shape != (n, n):
            raise InputError(f"travel must be a {n} x {n} matrix of minutes; got shape {travel.shape}.")
        if spark_step is None:
            spark_step = np.zeros(n, dtype=np.int64)
        spark_step = np.asarray(spark_step, dtype=np.int64)
        if spark_step.shape != (n,):
            raise InputError(f"spark_step needs one step per place ({n}); got shape {spark_step.shape}.")
        model.places_ = places.reset_index(drop=True)
        model.spark_step_ = spark_step
        model.population_ = pop
        model.share_ = share
        model._neighbours(travel)  # the matrix is not kept: models travel to Dask workers
        model.set_posts(posts)
        return model

    def _neighbours(self, travel: np.ndarray) -> None:
        s = self.settings
        k = int(s["neighbours"])
        ptr = [0]
        idx: list[int] = []
        for p in range(travel.shape[0]):
            row = travel[p].copy()
            row[p] = np.inf
            near = np.argsort(row, kind="stable")[:k]
            near = near[row[near] <= s["move_minutes"]]
            idx.extend(near.tolist())
            ptr.append(len(idx))
        self.nbr_ptr_ = np.asarray(ptr, dtype=np.int64)
        self.nbr_idx_ = np.asarray(idx, dtype=np.int64)

    def set_posts(self, posts: pd.DataFrame | None) -> GeoModel:
        """Place police posts (``latitude, longitude, officers_on_duty, armed``); None = no force.

        An optional ``arrival_day`` column (days after the start, default 0) puts a post on duty only
        from that day on: what a force that arrives late changes.
        """
        check_is_fitted(self, "places_", method="set_posts")
        assert self.places_ is not None
        n = len(self.places_)
        if posts is None or len(posts) == 0:
            self.posts_ = pd.DataFrame(columns=list(POST_COLUMNS))
            self.cover_ptr_ = np.zeros(n + 1, dtype=np.int64)
            self.cover_post_ = np.zeros(0, dtype=np.int64)
            self.post_officers_ = np.zeros(0)
            self.post_arrival_ = np.zeros(0, dtype=np.int64)
            self.observed_ = np.zeros(n, dtype=np.bool_)
            self.watch_from_ = np.zeros(n, dtype=np.int64)
            return self
        missing = [c for c in POST_COLUMNS if c not in posts.columns]
        if missing:
            raise SchemaError(
                f"The posts table lacks column(s) {', '.join(missing)}: give {', '.join(POST_COLUMNS)}."
            )
        officers = pd.to_numeric(posts["officers_on_duty"], errors="coerce").to_numpy(float)
        if not (np.isfinite(officers).all() and (officers >= 0).all()):
            raise InputError("officers_on_duty must be a number >= 0 at every post.")
        arrival = (
            pd.to_numeric(posts["arrival_day"], errors="coerce").to_numpy(float)
            if "arrival_day" in posts.columns
            else np.zeros(len(posts))
        )
        if not (np.isfinite(arrival).all() and (arrival >= 0).all()):
            raise InputError(
                "arrival_day must be a number of days >= 0 at every post (0: on duty from the start)."
            )
        from kalkan.plan.travel import travel_minutes

        lat = self.places_["latitude"].to_numpy(float)
        lon = self.places_["longitude"].to_numpy(float)
        minutes = travel_minutes(
            lat[:, None],
            lon[:, None],
            posts["latitude"].to_numpy(float)[None, :],
            posts["longitude"].to_numpy(float)[None, :],
        )
        reach = minutes <= self.settings["response_minutes"]
        armed = posts["armed"].astype(bool).to_numpy()
        self.observed_ = np.asarray(reach.any(axis=1), dtype=np.bool_)
        armed_reach = reach[:, armed]
        ptr = np.concatenate([[0], np.cumsum(armed_reach.sum(axis=1))]).astype(np.int64)
        rows, cols = np.nonzero(armed_reach)
        self.cover_ptr_ = ptr
        self.cover_post_ = cols.astype(np.int64)
        self.post_officers_ = officers[armed] * (1.0 - float(self.settings["forces_join"]))
        # On duty from the first step of day arrival_day (step 1 is the first step of day 0).
        spd = int(self.settings["steps_per_day"])
        first_step = np.rint(arrival * spd).astype(np.int64) + 1
        self.post_arrival_ = first_step[armed]
        # Unarmed monitors: the first step one is on duty within reach of each place (0: never).
        watch = np.where(reach[:, ~armed], first_step[~armed][None, :], np.iinfo(np.int64).max)
        first = watch.min(axis=1) if watch.shape[1] else np.full(n, np.iinfo(np.int64).max)
        self.watch_from_ = np.where(first == np.iinfo(np.int64).max, 0, first).astype(np.int64)
        self.posts_ = posts.reset_index(drop=True)
        return self

    # -- running -------------------------------------------------------------------------------
    def initial_state(self, seed: int) -> dict[str, np.ndarray]:
        """Agents per place and group (population x share / persons_per_agent, rounded)."""
        check_is_fitted(self, "places_", method="initial_state")
        s = self.settings
        per = float(s["persons_per_agent"])
        n0 = np.rint(self.population_ * self.share_ / per).astype(np.int64)
        n1 = np.rint(self.population_ * (1.0 - self.share_) / per).astype(np.int64)
        counts = np.stack([n0, n1], axis=1)  # places x groups
        # Agents sorted by (home, group) so each (place, group) is one contiguous bucket.
        flat = counts.ravel()
        home = np.repeat(np.arange(len(counts)), counts.sum(axis=1))
        group = (
            np.concatenate([np.repeat([0, 1], c) for c in counts]).astype(np.int64)
            if len(counts)
            else np.zeros(0, dtype=np.int64)
        )
        n = int(flat.sum())
        rng = np.random.default_rng(seed)
        homes = np.rint(counts * per / float(s["persons_per_home"])).astype(np.int64)
        return {
            "group": group,
            "home": home.astype(np.int64),
            "place": home.astype(np.int64).copy(),
            "hardship": rng.random(n),
            "risk": rng.random(n),
            "state": np.zeros(n, dtype=np.int64),
            "jail": np.zeros(n, dtype=np.int64),
            "persons": np.full(n, int(per), dtype=np.int64),
            "bucket_ptr": np.concatenate([[0], np.cumsum(flat)]).astype(np.int64),
            "bucket": np.arange(n, dtype=np.int64),
            "homes": homes,
            "distrust": np.zeros((len(counts), 2)),
            "fear": np.zeros((len(counts), 2)),
        }

    def run(self, days: int, *, seed: int = 0) -> GeoRun:
        """One seeded run of ``days`` days; the same seed gives the same run."""
        if not isinstance(days, int) or isinstance(days, bool) or days < 1:
            raise InputError(f"days must be an int >= 1. Got {days!r} instead.")
        self._validate_params()
        check_is_fitted(self, "places_", method="run")
        st = self.initial_state(seed)
        return self.run_from(st, days, seed=seed)

    def run_from(self, st: dict[str, np.ndarray], days: int, *, seed: int = 0) -> GeoRun:
        """Run from a given state (modified in place), e.g. a hand-built case in a test."""
        s = self.settings
        spd = int(s["steps_per_day"])
        steps = days * spd
        kernel_seed = int(np.random.SeedSequence([seed, 1]).generate_state(1)[0] & 0x7FFFFFFF)
        start = time.perf_counter()
        daily, per_step = _k.run_geo(
            kernel_seed,
            steps,
            spd,
            st["group"],
            st["home"],
            st["place"],
            st["hardship"],
            st["risk"],
            st["state"],
            st["jail"],
            st["persons"],
            st["bucket_ptr"],
            st["bucket"],
            st["homes"],
            self.nbr_ptr_,
            self.nbr_idx_,
            self.cover_ptr_,
            self.cover_post_,
            self.post_officers_,
            self.post_arrival_,
            self.observed_,
            st["distrust"],
            st["fear"],
            self.spark_step_,
            float(s["spark_distrust"]),
            float(s["legitimacy"]),
            float(s["threshold"]),
            float(s["k_arrest"]),
            float(s["officer_weight"]),
            float(s["persons_per_agent"]),
            float(s["lethality"]),
            float(s["arson"]),
            float(s["flight"]),
            float(s["distrust_per_attack"]),
            float(s["distrust_decay"]),
            int(s["max_jail"]),
            float(s["arrests_per_officer"]),
            bool(s["flee_active"]),
            float(s["fear_spread"]),
            self.watch_from_,
            float(s["monitor_effect"]),
            float(s["crowd_growth"]),
            float(s["avoid_posts"]),
        )
        seconds = time.perf_counter() - start
        return self._result(daily, per_step, st, seed, days, seconds)

    def _result(
        self,
        daily: np.ndarray,
        per_step: np.ndarray,
        st: dict[str, np.ndarray],
        seed: int,
        days: int,
        seconds: float,
    ) -> GeoRun:
        assert self.places_ is not None
        n_places = daily.shape[1]
        d = daily.reshape(-1, _k.N_DAILY)
        frame = pd.DataFrame(
            {
                "day": np.repeat(np.arange(1, daily.shape[0] + 1), n_places),
                "place_id": np.tile(self.places_["place_id"].to_numpy(), daily.shape[0]),
                "deaths_group0": d[:, _k.D_DEATHS0],
                "deaths_group1": d[:, _k.D_DEATHS1],
                "homes_destroyed_group0": d[:, _k.D_HOMES0],
                "homes_destroyed_group1": d[:, _k.D_HOMES1],
                "displaced_group0": d[:, _k.D_DISPL0],
                "displaced_group1": d[:, _k.D_DISPL1],
                "attacks": d[:, _k.D_ATTACKS],
                "observed": d[:, _k.D_OBSERVED],
                "arrests": d[:, _k.D_ARRESTS],
            }
        )
        for what in ("deaths", "homes_destroyed", "displaced"):
            frame[what] = frame[f"{what}_group0"] + frame[f"{what}_group1"]
        attacks = int(frame["attacks"].sum())
        totals = {
            "deaths": float(frame["deaths"].sum()),
            "deaths_group0": float(frame["deaths_group0"].sum()),
            "homes_destroyed": float(frame["homes_destroyed"].sum()),
            "displaced": float(frame["displaced"].sum()),
            "attacks": float(attacks),
            "arrests": float(frame["arrests"].sum()),
            "observed_share": float(frame["observed"].sum() / attacks) if attacks else 0.0,
        }
        per = pd.DataFrame(per_step, columns=["active_group0", "active_group1", "jailed", "displaced"])
        per.index.name = "step"
        return GeoRun(
            seed=seed, days=days, seconds=seconds, daily=frame, per_step=per, totals=totals, state=st
        )
