"""Where a stage's events come from: an event file (``--events``) or the event store (``--db``).

Why: a brief, a plan, a simulation or a hotspot fit should be able to rest on what the store holds
(UCDP GED or ACLED imports, the register's verified reports synced with ``kalkan register
sync-store``) rather than only on a raw file or the scenario's own ``incidents.csv``.

* :func:`read_events_for_stage` gives the events of a file or of the store (filtered by country, box
  and an "as of" day) for commands that take events, such as ``kalkan risk hotspots``.
* :func:`incidents_from_store` gives a scenario's incidents from the store, filtered by the
  scenario's area (the union of its admin-2 units in its regions), its period and an "as of" day, in
  the same table the scenario loader gives; :func:`scenario_with_store_incidents` loads a scenario
  with them in place of ``incidents.csv``. A stage dated D so uses only events known by D (see
  :meth:`kalkan.store.EventStore.query`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kalkan.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    from shapely.geometry.base import BaseGeometry

    from kalkan.scenarios import Scenario

# Help texts of the options every stage shares (this module imports nothing heavy at load time, so
# command modules can use them without slowing `kalkan --help`).
STORE_HELP = (
    "Event store (DuckDB file filled by `kalkan ingest` or `kalkan register sync-store`): the "
    "scenario's incidents come from it (its area and dates, known by the as-of day) instead of incidents.csv."
)
AS_OF_HELP = "The day to look from, YYYY-MM-DD (default: the scenario's as_of)."

#: How far before the as-of day the store is read when the scenario gives no period start and has no
#: incidents of its own to date it (the risk weight's time decay makes older events count little).
DEFAULT_LOOKBACK_DAYS = 90
#: A scenario's own period is used only when it starts at most this many days before the as-of day.
MAX_PERIOD_DAYS = 365


@dataclass(frozen=True)
class StoreSelection:
    """What was read from the store for a scenario: where, which days, as of when, and how many."""

    db: Path
    start: date
    end: date
    as_of: date
    events: int
    sources: dict[str, int]

    def describe(self) -> str:
        """One plain sentence for a brief's sources line, e.g. "12 events (register 12) from the
        event store, 03 January 2031 to 02 April 2031, as known on 02 April 2031"."""
        by = ", ".join(f"{name} {n:,}" for name, n in sorted(self.sources.items()))
        return (
            f"{self.events:,} events{f' ({by})' if by else ''} from the event store, "
            f"{self.start:%d %B %Y} to {self.end:%d %B %Y}, as known on {self.as_of:%d %B %Y}"
        )


def scenario_area(scenario: Scenario) -> BaseGeometry:
    """The scenario's area: the union of its admin-2 units in its regions (``oblasts`` in
    scenario.toml; every unit when it names none).

    A scenario without admin-2 boundaries gets its ``bbox`` (scenario.toml), else the box around its
    places widened by 0.1 degree.
    """
    import numpy as np
    import shapely
    from shapely.geometry import box, shape

    regions = {str(r) for r in scenario.settings.get("oblasts") or []}
    features = [f for f in (scenario.admin2 or {}).get("features", []) if f.get("geometry")]
    chosen = [f for f in features if not regions or (f.get("properties") or {}).get("oblast") in regions]
    if chosen:
        return shapely.union_all([shape(f["geometry"]) for f in chosen])
    bbox = scenario.settings.get("bbox")
    if bbox is not None and len(bbox) == 4:
        return box(*(float(v) for v in bbox))
    lon = scenario.places["longitude"].to_numpy(float)
    lat = scenario.places["latitude"].to_numpy(float)
    if not np.isfinite(lon).any():
        raise InputError(
            f"the scenario {scenario.name!r} has neither admin-2 boundaries, a bbox nor located places, so "
            "it has no area to read events for: add admin2.geojson or bbox to scenario.toml"
        )
    return box(
        float(np.nanmin(lon)) - 0.1,
        float(np.nanmin(lat)) - 0.1,
        float(np.nanmax(lon)) + 0.1,
        float(np.nanmax(lat)) + 0.1,
    )


def scenario_period(scenario: Scenario, as_of: date) -> tuple[date, date]:
    """The days to read, up to ``as_of``: from the scenario's ``period_start`` (scenario.toml), else its
    earliest own incident; when neither is within :data:`MAX_PERIOD_DAYS` before ``as_of`` (a brief of
    this week on an old scenario), the :data:`DEFAULT_LOOKBACK_DAYS` before ``as_of``."""
    import pandas as pd

    start: Any = scenario.settings.get("period_start")
    if start is not None and not isinstance(start, date):
        start = date.fromisoformat(str(start))
    if start is None and len(scenario.incidents):
        first = pd.to_datetime(scenario.incidents["date_start"]).min()
        start = None if pd.isna(first) else first.date()
    if start is None or start > as_of or (as_of - start).days > MAX_PERIOD_DAYS:
        start = as_of - timedelta(days=DEFAULT_LOOKBACK_DAYS)
    return start, as_of


def incidents_from_store(
    scenario: Scenario,
    db: str | Path | None,
    *,
    as_of: date | None = None,
    start: date | None = None,
) -> tuple[pd.DataFrame, StoreSelection]:
    """The store's events in the scenario's area and period, known by ``as_of``, as its incidents table.

    Parameters
    ----------
    scenario
        A loaded scenario (:func:`kalkan.scenarios.load_scenario`).
    db
        The event store (DuckDB file); None for the default store (``$KALKAN_DB``).
    as_of
        The brief's day (default: the scenario's ``as_of``). Only events known by then are read.
    start
        First start day to read (default: :func:`scenario_period`).

    Returns
    -------
    (DataFrame, StoreSelection)
        The events in the columns and dtypes of ``scenario.incidents`` (event columns plus
        ``source_ids``, ``raw_date``, ``raw_location``, ``located``; admin-1 and admin-2 names from
        the scenario's own boundaries), and what was read.
    """
    from kalkan.store import EventStore

    day = as_of or scenario.as_of
    first, last = scenario_period(scenario, day)
    first = start or first
    with EventStore(db) as store:
        events = store.query(area=scenario_area(scenario), start=first, end=last, as_of=day, known_at=True)
        path = store.path
    frame = _as_incident_table(events, scenario)
    selection = StoreSelection(
        db=path,
        start=first,
        end=last,
        as_of=day,
        events=len(frame),
        sources={str(k): int(v) for k, v in events["source"].value_counts().items()},
    )
    return frame, selection


def _as_incident_table(events: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Store events in the columns and dtypes of the scenario loader's incident table."""
    import pandas as pd

    from kalkan.scenarios._places import DistrictLocator

    template = scenario.incidents
    out = pd.DataFrame(index=events.index)
    start = events["date_start"].dt.strftime("%Y-%m-%d")
    end = events["date_end"].dt.strftime("%Y-%m-%d")
    extra = {
        "source_ids": pd.Series("", index=events.index, dtype=object),
        "raw_date": start.where(start == end, start + " to " + end),
        "raw_location": events["location_precision"].fillna(""),
        "located": pd.Series(True, index=events.index),
        # the day it became known: the source's own date, else (as the store reads it) its last day
        "known_on": events["known_at"].fillna(events["date_end"]),
    }
    if len(events) and (scenario.admin2 or {}).get("features"):
        where = DistrictLocator(scenario.admin2).locate(
            events["latitude"].to_numpy(float), events["longitude"].to_numpy(float)
        )
        events = events.assign(admin1=where["oblast"].to_numpy(), admin2=where["district"].to_numpy())
    for column in template.columns:
        if column in extra:
            values = extra[column]
        elif column in events.columns:
            values = events[column]
        else:
            values = pd.Series("", index=events.index, dtype=object)
        out[column] = _like(values, template[column].dtype)
    if "known_on" not in out:  # an as-of view reads it (a store event has no source ids to date it by)
        out["known_on"] = pd.to_datetime(extra["known_on"]).astype("datetime64[us]")
    return out.reset_index(drop=True)


def _like(values: pd.Series, dtype: Any) -> pd.Series:
    """``values`` in ``dtype`` where that is possible (store Int64 counts become float where the
    loader gives floats; missing text becomes "" as in the loader's table)."""
    import pandas as pd

    if pd.api.types.is_float_dtype(dtype):
        return pd.to_numeric(values, errors="coerce").astype(dtype)
    if pd.api.types.is_bool_dtype(dtype):
        return values.fillna(False).astype(bool)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return pd.to_datetime(values).astype(dtype)
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        return values.astype(object).where(values.notna(), "").astype(dtype)
    try:
        return values.astype(dtype)
    except (TypeError, ValueError):
        return values


def scenario_with_store_incidents(
    scenario: str | Scenario, db: str | Path | None, *, as_of: date | None = None
) -> tuple[Scenario, StoreSelection]:
    """The scenario (a name, a folder or a loaded one) with its incidents read from the store.

    ``as_of`` (default: the scenario's) also becomes the scenario's ``as_of``, so every stage that
    reads ``scenario.as_of`` (the risk weight, the hotspot fit, the brief) looks from that day.
    """
    from kalkan.scenarios import load_scenario

    loaded = load_scenario(scenario) if isinstance(scenario, str) else scenario
    if as_of is not None:
        loaded.settings["as_of"] = as_of
    incidents, selection = incidents_from_store(loaded, db, as_of=as_of)
    loaded.incidents = incidents
    return loaded, selection


def read_events_for_stage(
    events: Path | None,
    db: Path | None,
    *,
    country: Sequence[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    as_of: date | None = None,
) -> pd.DataFrame:
    """The events a command works on: those of the file ``events``, or of the store ``db``.

    From the store: only events not deleted, in ``country`` and ``bbox`` when given, and known by
    ``as_of`` when given (a forecast cut at D sees only what was known on D). From a file: every
    accepted row (refused rows are counted on stderr; ``kalkan ingest`` lists their reasons).

    Raises
    ------
    OptionError
        When both or neither of ``events`` and ``db`` are given.
    """
    from kalkan.errors import OptionError

    if (events is None) == (db is None):
        raise OptionError(
            "give the events as --events FILE (a GED, ACLED, HXL or kalkan file) or --db STORE (an event "
            "store filled by `kalkan ingest`), one of the two"
        )
    if db is not None:
        from kalkan.store import EventStore

        with EventStore(db) as store:
            return store.query(country=list(country) if country else None, bbox=bbox, as_of=as_of)
    assert events is not None
    if not events.exists():
        raise InputError(f"no event file at {events}: give the path of a GED, ACLED, HXL or kalkan file")
    from rich.console import Console

    from kalkan.ingest import read_events

    result = read_events(events)
    if len(result.quarantine):
        Console(stderr=True).print(
            f"{events.name}: {len(result.events):,} events read, {len(result.quarantine):,} rows "
            "quarantined (see `kalkan ingest` for the reasons).",
            markup=False,
            highlight=False,
        )
    return result.events


def parse_day(text: str, flag: str) -> date:
    """A day given on the command line as YYYY-MM-DD (an :class:`kalkan.errors.OptionError` if not)."""
    from kalkan.errors import OptionError

    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise OptionError(f"{flag} {text!r} is not a day: give YYYY-MM-DD, e.g. 2031-04-02") from None


def load_for_stage(scenario: str, db: Path | None, as_of: str | None) -> Scenario:
    """Load a scenario for a command: with ``--db`` its incidents come from the store, and with
    ``--as-of`` (YYYY-MM-DD) it looks from that day. What was read from the store goes to stderr."""
    from kalkan.scenarios import load_scenario

    day = parse_day(as_of, "--as-of") if as_of is not None else None
    loaded = load_scenario(scenario)
    if db is None:
        if day is not None:
            loaded.settings["as_of"] = day
        return loaded
    loaded, selection = scenario_with_store_incidents(loaded, db, as_of=day)
    from rich.console import Console

    Console(stderr=True).print(f"Incidents: {selection.describe()}.", markup=False, highlight=False)
    return loaded
