"""Many runs of one built model with different parameters, flashpoints, posts and seeds; serial or on Dask.

A :class:`Case` is one run: the parameter values, the step each place becomes a flashpoint, which
option's posts (and from which day they are on duty) and the seed. :func:`run_cases` runs a list of
them on one :class:`~kalkan.simulate.geo.GeoModel` (shared: places and the neighbour graph are built
once); :func:`map_cases` spreads the list over a Dask cluster (``"local"`` starts a LocalCluster,
an address uses a running one) in chunks, in order, calling ``progress(done, total)`` with absolute
counts. A run's result depends only on its case, so every scheduler gives the same numbers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kalkan._base import Progress
from kalkan.errors import InputError, OptionError
from kalkan.simulate.geo import GeoModel

if TYPE_CHECKING:
    from kalkan.plan.units import ForceOption

__all__ = [
    "Case",
    "ProgressFn",
    "check_counts",
    "check_options",
    "copy_model",
    "dask_client",
    "map_cases",
    "run_cases",
    "run_seeds",
    "scheduler_session",
    "with_baseline",
]

#: Called with (runs done, runs in total): absolute counts (kalkan._base.Progress, the one convention).
ProgressFn = Progress

#: LocalCluster settings: no dashboard, and the scheduler's HTTP server on a free port (by default it
#: takes 8787 and warns when another cluster on the machine already has it).
QUIET_CLUSTER: dict[str, Any] = {
    "dashboard_address": None,
    "scheduler_kwargs": {"dashboard": False, "dashboard_address": ":0"},
}

#: Context multipliers a case may carry besides the model's settings (see kalkan.simulate.priors.CONTEXT).
_FACTORS = ("speed_factor", "population_factor", "share_factor")


@dataclass
class Case:
    """One run: model settings, flashpoints (step per place, 0 = none), option posts and seed."""

    settings: dict[str, float]
    sparks: np.ndarray
    seed: int
    option: int = 0
    arrival_day: float = 0.0
    officers_factor: float = 1.0
    key: tuple[Any, ...] = field(default=())


def run_seeds(seed: int | Sequence[int], runs: int) -> list[int]:
    """The ``runs`` run seeds derived from ``seed`` (an int, or ints such as ``[seed, stream]``):
    children of ``numpy.random.SeedSequence(seed)``, each cut to the kernel's 31-bit seed."""
    return [int(s.generate_state(1)[0] & 0x7FFFFFFF) for s in np.random.SeedSequence(seed).spawn(runs)]


def check_counts(**counts: tuple[Any, int]) -> None:
    """Raise InputError unless each ``name=(value, low)`` is a whole number >= ``low``."""
    for name, (value, low) in counts.items():
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise InputError(f"{name} must be a whole number >= {low}; got {value!r}.")


def check_options(options: Iterable[Any]) -> None:
    """Raise OptionError unless every option is a ForceOption or None (no force)."""
    from kalkan.plan.units import ForceOption

    for option in options:
        if option is not None and not isinstance(option, ForceOption):
            raise OptionError(
                f"Each option must be a ForceOption (e.g. parse_options('police:600')) or None "
                f"for no force; got {option!r}."
            )


def with_baseline(
    options: Iterable[ForceOption | None], baseline: bool, *, task: str
) -> list[ForceOption | None]:
    """The options to run, with no force (None) first when ``baseline`` and the list lacks it.

    ``task`` completes the message for an empty list ("No force options to {task}: ...").
    """
    wanted = list(options)
    if baseline and None not in wanted:
        wanted.insert(0, None)
    if not wanted:
        raise OptionError(f"No force options to {task}: give at least one, e.g. 'police:600'.")
    return wanted


def copy_model(model: GeoModel, settings: Mapping[str, float] | None = None) -> GeoModel:
    """A shallow copy of a built model with ``settings`` changed; it can take its own posts.

    Places, the neighbour graph and the arrays built by ``fit`` are shared, not copied.
    """
    clone = GeoModel.__new__(GeoModel)
    clone.__dict__.update(model.__dict__)
    clone.settings = {**model.settings, **(settings or {})}
    return clone


def run_cases(
    model: GeoModel,
    posts: Sequence[pd.DataFrame | None],
    cases: Sequence[Case],
    days: int,
    regions: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Run each case on ``model`` and return its totals, per-day totals and per-region totals.

    ``posts[case.option]`` are the option's posts (None: no force); ``regions`` gives each place a
    region index (for targets by region); results carry ``by_day`` (days x 3: deaths, homes destroyed,
    displaced) and ``by_region`` (regions x 3).
    """
    out: list[dict[str, Any]] = []
    n_regions = int(regions.max()) + 1 if regions is not None and len(regions) else 0
    for case in cases:
        extra = {k: float(case.settings.get(k, 1.0)) for k in _FACTORS}
        speed = extra["speed_factor"]
        settings = {k: v for k, v in case.settings.items() if k not in _FACTORS}
        if speed != 1.0:  # slower roads shrink what a post and a mob reach in the same minutes
            settings["response_minutes"] = (
                float(settings.get("response_minutes", model.settings["response_minutes"])) * speed
            )
        m = copy_model(model, settings)
        if extra["population_factor"] != 1.0:
            m.population_ = model.population_ * extra["population_factor"]
        if extra["share_factor"] != 1.0:
            m.share_ = np.clip(model.share_ * extra["share_factor"], 0.0, 1.0)
        table = posts[case.option]
        if table is not None and len(table):
            table = table.assign(
                arrival_day=float(case.arrival_day),
                officers_on_duty=table["officers_on_duty"].astype(float) * case.officers_factor,
            )
        m.set_posts(table)
        m.spark_step_ = np.asarray(case.sparks, dtype=np.int64)
        run = m.run(int(days), seed=int(case.seed))
        cols = ["deaths", "homes_destroyed", "displaced"]
        values = run.daily[cols].to_numpy(float).reshape(run.days, -1, 3)
        row: dict[str, Any] = {
            **run.totals,
            "key": case.key,
            "seconds": run.seconds,
            "by_day": values.sum(axis=1),
        }
        if n_regions and regions is not None:
            per_place = values.sum(axis=0)
            row["by_region"] = np.stack([per_place[regions == r].sum(axis=0) for r in range(n_regions)])
        out.append(row)
    return out


@contextlib.contextmanager
def dask_client(scheduler: Any) -> Iterator[Any]:
    """A Dask client for ``scheduler`` ("local": a LocalCluster with one process per core; an address;
    or a Client, used as is), closed afterwards if it was started here."""
    from dask.distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler == "local":
        with (
            LocalCluster(n_workers=None, threads_per_worker=1, processes=True, **QUIET_CLUSTER) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(str(scheduler), timeout="10s")
    except (OSError, TimeoutError) as error:
        raise InputError(
            f"Cannot reach the Dask scheduler at {scheduler!r} ({error}): give a running "
            "scheduler's address, 'local' or 'serial'."
        ) from None
    with client:
        yield client


@contextlib.contextmanager
def scheduler_session(scheduler: Any) -> Iterator[Any]:
    """One scheduler for many :func:`map_cases` calls (a fit calls it once per batch): "local" starts
    one LocalCluster for the whole session instead of one per call; serial stays serial."""
    if scheduler in (None, "serial"):
        yield scheduler
        return
    with dask_client(scheduler) as client:
        yield client


def map_cases(
    model: GeoModel,
    posts: Sequence[pd.DataFrame | None],
    cases: Sequence[Case],
    days: int,
    *,
    regions: np.ndarray | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """:func:`run_cases` over all ``cases``, serially (``None``/"serial") or on Dask; results in order."""
    total = len(cases)
    if scheduler in (None, "serial"):
        results: list[dict[str, Any]] = []
        step = max(1, total // 100)
        for i in range(0, total, step):
            results.extend(run_cases(model, posts, cases[i : i + step], days, regions))
            if progress is not None:
                progress(len(results), total)
        return results
    with dask_client(scheduler) as client:
        from dask.distributed import as_completed

        workers = max(1, len(client.scheduler_info().get("workers", {})))
        size = max(1, min(40, total // (4 * workers) or 1))
        shared = client.scatter([model, list(posts), regions], broadcast=True)
        futures = {}
        for start in range(0, total, size):
            fut = client.submit(
                run_cases,
                shared[0],
                shared[1],
                list(cases[start : start + size]),
                days,
                shared[2],
                pure=False,
            )
            futures[fut] = start
        parts: dict[int, list[dict[str, Any]]] = {}
        done = 0
        for fut in as_completed(list(futures)):
            parts[futures[fut]] = fut.result()
            done += len(parts[futures[fut]])
            if progress is not None:
                progress(done, total)
        return [row for start in sorted(parts) for row in parts[start]]
