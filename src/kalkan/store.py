"""The analytic event store: one DuckDB file with events, their history, imports and quarantine.

Why this shape
--------------
* **Idempotent, versioned imports.** Each event is keyed by its kalkan id (``source:source_id``)
  and a 64-bit hash of its content. Importing the same file again changes nothing; a newer export
  of the same source inserts new events, replaces changed ones (the old row goes to
  ``event_history``, ``version`` goes up by one) and marks events that disappeared as deleted
  (kept, with ``deleted = true``). "Disappeared" is judged within the new file's *coverage*: for
  each source and country in the file, its first..last start date there; so importing Mexico after
  Syria, or 2021 after 2020, deletes nothing.
* **A crash leaves the store as it was.** A writer never touches the live file: it copies it,
  imports into the copy (a GED file in one streamed statement, other formats chunk by chunk with a
  commit after each, so memory stays bounded), checkpoints and then atomically renames the copy
  over the live file (``os.replace``). A killed import leaves the live file untouched (and a stale
  copy that the next writer removes). One writer at a time (an advisory lock on ``PATH.lock``).
  A copy rather than one transaction on the live file, because a DuckDB file open for writing
  cannot be opened by readers in other processes.
* **Set-wise merge.** A file's accepted rows are staged in a temporary table and merged in a few
  statements (repeats inside the file, then one join with ``events``); into an empty store a GED
  file goes straight to ``events``.
* **Concurrent readers.** Readers open the live file read-only; a running import does not block
  them and they see the store as of the last finished import.

Tables: ``events`` (current state of every event; the :data:`kalkan.model.EVENT_FIELDS` columns
plus ``deleted``, ``row_hash``, ``import_id``), ``event_history`` (every superseded version),
``imports`` (one row per import with its counts) and ``quarantine`` (``import_id, file, line, raw,
reason``).
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kalkan.errors import InputError, StoreError
from kalkan.model import EVENT_FIELDS

if TYPE_CHECKING:
    import pyarrow as pa
    from duckdb import DuckDBPyConnection
    from shapely.geometry.base import BaseGeometry

    from kalkan.ingest import EventStream

#: Version 2 hashes rows in SQL over the stored column types; a version-1 store gets its row hashes
#: recomputed when a newer kalkan first writes to it (otherwise every row would look changed).
#: Version 3 adds ``known_at`` (the day an event became known, where its source says so) to
#: ``events`` and ``event_history``; older stores get the column, empty, on their next write.
SCHEMA_VERSION = "3"
_CONTENT = [f.name for f in EVENT_FIELDS if f.name not in ("event_id", "version")]
_COLS = [f.name for f in EVENT_FIELDS]
EXPORT_FORMATS = ("csv", "geojson", "hxl", "parquet")
WRITER_MEMORY = "512MB"  # DuckDB's memory limit while importing (it spills beyond it)

Progress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)`` while importing (stage: read, merge, commit)."""


def default_path() -> Path:
    """``<user data dir>/kalkan/events.duckdb`` (``platformdirs.user_data_dir``), or ``$KALKAN_DB``."""
    env = os.environ.get("KALKAN_DB")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("kalkan")) / "events.duckdb"


@dataclass
class ImportResult:
    """Counts of one file's import: ``rows = accepted + quarantined + duplicates`` and
    ``accepted = inserted + updated + unchanged``; ``deleted`` counts stored events of the same
    coverage that the file no longer has."""

    file: str
    format: str
    rows: int
    accepted: int
    quarantined: int
    duplicates: int
    inserted: int
    updated: int
    unchanged: int
    deleted: int
    seconds: float
    import_id: int | None
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The counts as a JSON-ready dict."""
        return asdict(self)


def _schema_sql() -> list[str]:
    cols = ", ".join(f"{f.name} {f.duckdb_type}" for f in EVENT_FIELDS)
    return [
        f"CREATE TABLE IF NOT EXISTS events ({cols}, deleted BOOLEAN NOT NULL DEFAULT false, "
        "row_hash UBIGINT, import_id INTEGER, known_at DATE)",
        f"CREATE TABLE IF NOT EXISTS event_history ({cols}, deleted BOOLEAN, row_hash UBIGINT, "
        "import_id INTEGER, superseded_by INTEGER, known_at DATE)",
        "CREATE TABLE IF NOT EXISTS imports (import_id INTEGER, file VARCHAR, sha256 VARCHAR, "
        "format VARCHAR, started TIMESTAMP, seconds DOUBLE, rows BIGINT, accepted BIGINT, "
        "quarantined BIGINT, duplicates BIGINT, inserted BIGINT, updated BIGINT, unchanged BIGINT, "
        "deleted BIGINT, header VARCHAR)",
        "CREATE TABLE IF NOT EXISTS quarantine (import_id INTEGER, file VARCHAR, line BIGINT, raw VARCHAR, "
        "reason VARCHAR)",
        "CREATE TABLE IF NOT EXISTS meta (key VARCHAR, value VARCHAR)",
    ]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


class _Digest(threading.Thread):
    """SHA-256 of a file computed beside the import (hashlib releases the GIL on large blocks)."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.value = ""
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.value = _sha256(self.path)
        except BaseException as error:  # reported by result()
            self.error = error

    def result(self) -> str:
        self.join()
        if self.error is not None:
            raise self.error
        return self.value


class EventStore:
    """The DuckDB event store at ``path`` (default :func:`default_path`).

    Reads (:meth:`query`, :meth:`export`, :meth:`quarantine`, :meth:`imports`, :meth:`history`)
    open the file read-only per call; writes (:meth:`import_files`) go through a copy that
    replaces the file atomically when the import commits.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._con: DuckDBPyConnection | None = None
        self._key: tuple[int, int, int] | None = None

    # ----------------------------------------------------------------------------------- reading

    @contextlib.contextmanager
    def _reader(self) -> Iterator[DuckDBPyConnection]:
        """A cursor on a read-only connection, reopened when an import has replaced the file.

        Opening a DuckDB file costs tens of milliseconds, so the connection is kept and reused while
        the file (inode, size, mtime) stays the same; an import renames a new file into place, which
        the next read notices.
        """
        import duckdb

        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            raise StoreError(
                f"no event store at {self.path}: import events first with `kalkan ingest FILE --db "
                f"{self.path}`"
            ) from None
        key = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if self._con is None or self._key != key:
            self.close()
            try:
                self._con = duckdb.connect(str(self.path), read_only=True)
            except duckdb.Error as error:
                raise StoreError(f"cannot open the event store {self.path}: {error}") from None
            self._key = key
        cursor = self._con.cursor()
        cursor.execute("SET enable_progress_bar = false")  # DuckDB would print it on stdout
        try:
            yield cursor
        finally:
            cursor.close()

    def close(self) -> None:
        """Close the cached read connection (reads reopen it when needed)."""
        if self._con is not None:
            self._con.close()
            self._con = None
            self._key = None

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(
        self,
        *,
        country: str | Sequence[str] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        area: BaseGeometry | None = None,
        start: date | str | None = None,
        end: date | str | None = None,
        as_of: date | str | None = None,
        event_type: str | Sequence[str] | None = None,
        actor: str | None = None,
        source: str | Sequence[str] | None = None,
        include_deleted: bool = False,
        known_at: bool = False,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Events matching every given filter, in :data:`kalkan.model.EVENT_FIELDS` columns.

        Parameters
        ----------
        country
            ISO3 code(s).
        bbox
            ``(min_lon, min_lat, max_lon, max_lat)`` in degrees.
        area
            A shapely (multi)polygon in longitude/latitude degrees: only events inside it or on
            its edge (the box of its bounds is filtered in SQL, the shape itself after).
        start, end
            Inclusive range of ``date_start`` (ISO dates).
        as_of
            Only events known by the end of that day, as a brief written then would have seen
            them: started by then, and ``known_at`` on or before it; an event whose source gives
            no known date (UCDP GED, ACLED, HXL files) counts as known once it ended (``date_end``).
        event_type
            kalkan event type code(s).
        actor
            Case-insensitive text found in ``perpetrator`` or ``victim_group``.
        source
            Source name(s) (``ged``, ``acled``, ``hxl``, ``kalkan``, ``register``).
        known_at
            Add the ``known_at`` column (the day the source says the event became known; NaT if none).
        """
        if area is not None:
            bbox = _intersect_boxes(bbox, area.bounds)
        columns = [f"CAST({c} AS TIMESTAMP) AS {c}" if c in ("date_start", "date_end") else c for c in _COLS]
        if known_at:
            columns.append("CAST(known_at AS TIMESTAMP) AS known_at")
        sql, params = self._select(
            country=country,
            bbox=bbox,
            start=start,
            end=end,
            as_of=as_of,
            event_type=event_type,
            actor=actor,
            source=source,
            include_deleted=include_deleted,
            limit=limit if area is None else None,
            columns=columns,
        )
        if not _ARROW_TO_PANDAS:
            _arrow_types()
        with self._reader() as con:
            table = _run(con, sql, params, self.path)
        frame = table.to_pandas(types_mapper=_ARROW_TO_PANDAS.get)
        events = _as_events(frame)
        if known_at:
            events["known_at"] = pd.to_datetime(frame["known_at"]).astype("datetime64[us]")
        if area is not None and len(events):
            import shapely

            inside = shapely.intersects_xy(
                area, events["longitude"].to_numpy(float), events["latitude"].to_numpy(float)
            )
            events = events[inside].reset_index(drop=True)
            if limit is not None:
                events = events.head(int(limit))
        return events

    def _select(
        self,
        *,
        country: str | Sequence[str] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        start: date | str | None = None,
        end: date | str | None = None,
        as_of: date | str | None = None,
        event_type: str | Sequence[str] | None = None,
        actor: str | None = None,
        source: str | Sequence[str] | None = None,
        include_deleted: bool = False,
        limit: int | None = None,
        columns: Sequence[str] = tuple(_COLS),
    ) -> tuple[str, list[Any]]:
        where: list[str] = []
        params: list[Any] = []

        def one_of(column: str, value: str | Sequence[str] | None, upper: bool = False) -> None:
            if value is None:
                return
            values = [value] if isinstance(value, str) else list(value)
            values = [v.upper() if upper else v for v in values]
            where.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)

        one_of("country_iso3", country, upper=True)
        one_of("event_type", event_type)
        one_of("source", source)
        if bbox is not None:
            min_lon, min_lat, max_lon, max_lat = (float(x) for x in bbox)
            if min_lon > max_lon or min_lat > max_lat:
                raise InputError(f"bounding box {bbox} has min > max: give min_lon,min_lat,max_lon,max_lat")
            where.append("longitude BETWEEN ? AND ? AND latitude BETWEEN ? AND ?")
            params += [min_lon, max_lon, min_lat, max_lat]
        if start is not None:
            where.append("date_start >= ?")
            params.append(_as_date(start, "start"))
        if end is not None:
            where.append("date_start <= ?")
            params.append(_as_date(end, "end"))
        if as_of is not None:
            day = _as_date(as_of, "as-of")
            where.append("date_start <= ? AND coalesce(known_at, date_end, date_start) <= ?")
            params += [day, day]
        if actor:
            where.append("(perpetrator ILIKE ? OR victim_group ILIKE ?)")
            params += [f"%{actor}%", f"%{actor}%"]
        if not include_deleted:
            where.append("NOT deleted")
        sql = f"SELECT {', '.join(columns)} FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY date_start, event_id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return sql, params

    def count(self, **filters: Any) -> int:
        """How many events match the filters of :meth:`query`."""
        if filters.get("area") is not None:
            return len(self.query(**filters))
        sql, params = self._select(columns=["count(*)"], **filters)
        sql = sql.replace(" ORDER BY date_start, event_id", "")
        with self._reader() as con:
            return int(_run(con, sql, params, self.path).column(0)[0].as_py())

    def export(
        self, out: str | Path, *, format: str = "csv", batch_rows: int = 100_000, **filters: Any
    ) -> int:
        """Write the events matching ``filters`` (see :meth:`query`) to ``out``; returns the row count.

        ``format`` is ``csv``, ``geojson`` (a FeatureCollection of Points), ``hxl`` (CSV with a
        hashtag row) or ``parquet``. Rows stream from DuckDB in batches of ``batch_rows``, so memory
        stays flat however many events match.
        """
        from kalkan.ingest import export as writers

        if format not in EXPORT_FORMATS:
            raise InputError(f"unknown export format {format!r}: use one of {', '.join(EXPORT_FORMATS)}")
        sql, params = self._select(**filters)
        out = Path(out)
        with self._reader() as con:
            return writers.write(con, sql, params, out, format, batch_rows)

    def quarantine(
        self, *, file: str | None = None, import_id: int | None = None, reason: str | None = None
    ) -> pd.DataFrame:
        """Refused rows (``import_id, file, line, raw, reason``), optionally of one file, import or reason."""
        where: list[str] = []
        params: list[Any] = []
        if file is not None:
            where.append("(file = ? OR file LIKE ?)")
            params += [str(file), f"%/{Path(file).name}"]
        if import_id is not None:
            where.append("import_id = ?")
            params.append(int(import_id))
        if reason is not None:
            where.append("reason LIKE ?")
            params.append(f"{reason}%")
        sql = "SELECT import_id, file, line, raw, reason FROM quarantine"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY import_id, file, line"
        with self._reader() as con:
            return con.execute(sql, params).df()

    def export_quarantine(
        self,
        out: str | Path,
        *,
        raw: bool = False,
        file: str | None = None,
        import_id: int | None = None,
        reason: str | None = None,
    ) -> int:
        """Write refused rows to ``out``; returns how many.

        By default a CSV with ``import_id, file, line, raw, reason``. With ``raw=True`` the file is
        rebuilt for correction and re-import: the source file's header line(s), then each refused
        row's raw text (for GeoJSON sources, a FeatureCollection of the refused features). Raw
        export needs rows from one source file: filter by ``file`` or ``import_id``.
        """
        rows = self.quarantine(file=file, import_id=import_id, reason=reason)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not raw:
            rows.to_csv(out, index=False)
            return len(rows)
        files = rows["file"].unique().tolist()
        if len(files) > 1:
            raise InputError(
                f"the refused rows come from {len(files)} files ({', '.join(files[:3])}"
                f"{', ...' if len(files) > 3 else ''}): pick one with --file or --import-id"
            )
        ids = sorted(rows["import_id"].unique().tolist())
        if len(ids) > 1:  # the same file imported several times: its latest import's refusals
            rows = rows[rows["import_id"] == ids[-1]]
        header = ""
        if ids:
            with self._reader() as con:
                found = con.execute(
                    "SELECT header FROM imports WHERE import_id = ?", [int(ids[-1])]
                ).fetchall()
            header = (found[0][0] or "") if found else ""
        raws = rows["raw"].tolist()
        with open(out, "w", encoding="utf-8", newline="") as f:
            if header:
                f.write(header + "\n" + "".join(r + "\n" for r in raws))
            else:  # GeoJSON source: the raw text of each row is a feature
                f.write('{"type": "FeatureCollection", "features": [\n' + ",\n".join(raws) + "\n]}\n")
        return len(rows)

    def imports(self) -> pd.DataFrame:
        """One row per import, with its counts."""
        with self._reader() as con:
            return con.execute("SELECT * FROM imports ORDER BY import_id").df()

    def history(self, event_id: str) -> pd.DataFrame:
        """Every stored version of one event, oldest first (the current one last)."""
        cols = ", ".join(_COLS)
        with self._reader() as con:
            return con.execute(
                f"SELECT {cols}, deleted, import_id FROM event_history WHERE event_id = ? "
                f"UNION ALL SELECT {cols}, deleted, import_id FROM events WHERE event_id = ? "
                "ORDER BY version",
                [event_id, event_id],
            ).df()

    # ----------------------------------------------------------------------------------- writing

    @contextlib.contextmanager
    def _writer(self, *, keep: bool) -> Iterator[DuckDBPyConnection]:
        """A connection to a private copy of the store; the copy replaces the live file if ``keep``."""
        import duckdb

        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._remove_stale_copies()
                tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
                if self.path.exists():
                    shutil.copyfile(self.path, tmp)
                try:
                    # row order in the table carries no meaning (queries sort), so let inserts run in parallel
                    con = duckdb.connect(str(tmp), config={"preserve_insertion_order": False})
                    # no progress bar: DuckDB prints it on stdout, into `kalkan ingest --json` output
                    con.execute("SET enable_progress_bar = false")
                    # bounded memory: DuckDB spills to disk instead of caching the whole import
                    con.execute(f"SET memory_limit = '{WRITER_MEMORY}'")
                except duckdb.Error as error:
                    raise StoreError(f"cannot open the event store {self.path}: {error}") from None
                try:
                    for statement in _schema_sql():
                        con.execute(statement)
                    _check_schema_version(con, self.path)
                    yield con
                    if keep:
                        con.execute("CHECKPOINT")
                finally:
                    con.close()
                if keep:
                    os.replace(tmp, self.path)
            finally:
                for leftover in (
                    f"{self.path.parent}/.{self.path.name}.{os.getpid()}.tmp",
                    f"{self.path.parent}/.{self.path.name}.{os.getpid()}.tmp.wal",
                ):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(leftover)
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _remove_stale_copies(self) -> None:
        """Remove copies left by writers that died mid-import (we hold the lock, so none is live)."""
        for leftover in glob.glob(
            f"{glob.escape(str(self.path.parent))}/.{glob.escape(self.path.name)}.*.tmp*"
        ):
            with contextlib.suppress(FileNotFoundError):
                os.remove(leftover)

    def import_files(
        self,
        paths: Sequence[str | Path],
        *,
        format: str = "auto",
        dry_run: bool = False,
        today: date | None = None,
        progress: Progress | None = None,
        chunk_rows: int | None = None,
        mark_deleted: bool = True,
    ) -> list[ImportResult]:
        """Import event files, all or nothing (one private copy replaces the store at the end).

        Parameters
        ----------
        paths
            Event files (GED, ACLED, HXL or kalkan CSV; kalkan GeoJSON).
        format
            ``auto`` to detect each file's format from its header, or one format for all.
        dry_run
            Read, validate and compare with the store, report the counts, change nothing.
        mark_deleted
            Mark stored events of the same coverage that a file no longer has as deleted.
        """
        from kalkan.ingest import DEFAULT_CHUNK_ROWS, open_stream

        # whole-file errors (no such file, unknown format, missing columns) before any work
        streams = [
            open_stream(p, format=format, today=today, chunk_rows=chunk_rows or DEFAULT_CHUNK_ROWS)
            for p in paths
        ]
        results: list[ImportResult] = []
        with self._writer(keep=not dry_run) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for stream in streams:
                    results.append(
                        _import_one(
                            con, stream, progress=progress, mark_deleted=mark_deleted, dry_run=dry_run
                        )
                    )
                if progress:
                    progress("commit", 0, 1)
                con.execute("ROLLBACK" if dry_run else "COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return results


def _check_schema_version(con: DuckDBPyConnection, path: Path) -> None:
    """Stamp a new store with :data:`SCHEMA_VERSION`, upgrade a version-1 or -2 store, refuse any other."""
    found = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    if not found:
        con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
        return
    version = found[0][0]
    if version == "1":
        # Same tables; only the row hash changed. Recompute it so an unchanged event stays unchanged.
        con.execute(f"UPDATE events SET row_hash = {_hash_sql('events')}")
        version = "2"
    if version == "2":
        # Version 3 adds the day each event became known; events stored before it have none (NULL),
        # which reads as "known when it ended" (see EventStore.query's as_of).
        for table in ("events", "event_history"):
            con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS known_at DATE")
        version = "3"
    if version == SCHEMA_VERSION:
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [SCHEMA_VERSION])
    else:
        raise StoreError(
            f"the event store {path} has schema version {found[0][0]}, this kalkan writes version "
            f"{SCHEMA_VERSION}: use a new --db file, or the kalkan version that wrote it"
        )


def _run(con: DuckDBPyConnection, sql: str, params: list[Any], path: Path) -> pa.Table:
    """The query's result as an Arrow table; a store written before known dates says how to upgrade."""
    import duckdb

    try:
        return con.sql(sql, params=params).to_arrow_table()
    except duckdb.BinderException as error:
        if "known_at" not in str(error):
            raise
        raise StoreError(
            f"the event store {path} predates known dates (schema version 3): import any file into "
            "it once with this kalkan (e.g. `kalkan ingest FILE --db ...`) to upgrade it"
        ) from None


def _intersect_boxes(
    bbox: tuple[float, float, float, float] | None, bounds: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    """The overlap of a bounding box and an area's bounds (an empty overlap selects nothing)."""
    if bbox is None:
        return (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3]))
    lo_x, lo_y = max(bbox[0], bounds[0]), max(bbox[1], bounds[1])
    hi_x, hi_y = min(bbox[2], bounds[2]), min(bbox[3], bounds[3])
    if lo_x > hi_x or lo_y > hi_y:  # disjoint: a box no event is in
        return (181.0, 91.0, 181.0, 91.0)
    return (lo_x, lo_y, hi_x, hi_y)


def _as_date(value: date | str, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{name} date {value!r} is not an ISO date: use YYYY-MM-DD") from None


_ARROW_TO_PANDAS: dict[Any, Any] = {}


def _arrow_types() -> None:
    import pyarrow as pa

    _ARROW_TO_PANDAS.update(
        {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    )


def _as_events(frame: pd.DataFrame) -> pd.DataFrame:
    """Give a frame read from DuckDB the schema's pandas dtypes."""
    out = {}
    for f in EVENT_FIELDS:
        if f.name in frame.columns:
            dtype: Any = f.pandas_dtype
            column = frame[f.name]
            if f.dtype == "date":  # Arrow dates arrive as datetime.date objects
                column = pd.to_datetime(column)
            out[f.name] = column if column.dtype == dtype else column.astype(dtype)
    return pd.DataFrame(out, columns=[c for c in _COLS if c in frame.columns])


def _hash_sql(table: str) -> str:
    return "hash(" + ", ".join(f"{table}.{c}" for c in _CONTENT) + ")"


# Rows go in sorted by country and start date, so DuckDB's per-row-group min/max skip most of the
# table in the usual country-and-period queries (a sort costs about a sixth of a first import).
_CLUSTER = "ORDER BY country_iso3, date_start"


def _stage_table_sql() -> str:
    """The file's accepted rows while it is imported: data-row position, the event columns, known_at."""
    cols = ", ".join(f"{f.name} {f.duckdb_type}" for f in EVENT_FIELDS)
    return f"CREATE OR REPLACE TEMP TABLE _in (row_pos BIGINT, {cols}, known_at DATE)"


_CAST = ", ".join(f"CAST({f.name} AS {f.duckdb_type}) AS {f.name}" for f in EVENT_FIELDS)
_EVENT_ROW = f"{', '.join(_COLS)}, deleted, row_hash, import_id, known_at"  # the columns of ``events``
_HISTORY_ROW = f"{', '.join(_COLS)}, deleted, row_hash, import_id, superseded_by, known_at"


def _scan(con: DuckDBPyConnection, stream: EventStream, insert: str, progress: Progress | None) -> None:
    """Run ``insert``, an SQL statement that reads the stream's batches as the table ``_stream``.

    DuckDB pulls the Arrow batches as it goes, so a file of any size streams through in bounded memory.
    """
    import duckdb

    def read(rows: int) -> None:
        if progress:
            progress("read", rows, 0)

    con.register("_stream", stream.batches(read))
    try:
        con.execute(insert)
    except duckdb.Error:
        if stream.error is not None:  # the file's own problem, which DuckDB reports as an Arrow error
            raise stream.error from None
        raise
    finally:
        con.unregister("_stream")


def _stage(con: DuckDBPyConnection, stream: EventStream, progress: Progress | None) -> None:
    """Fill the temp table ``_in`` with the stream's accepted rows."""
    con.execute(_stage_table_sql())
    _scan(con, stream, f"INSERT INTO _in SELECT row_pos, {_CAST}, known_at FROM _stream", progress)


def _first_import(
    con: DuckDBPyConnection, stream: EventStream, *, import_id: int, progress: Progress | None
) -> bool:
    """Into an empty store, the stream goes straight to ``events`` (one scan, no staging).

    Returns False, with ``events`` emptied again, when an event id repeats in the file: then the
    caller stages a fresh stream of the file, which sorts repeats into duplicates and conflicts.
    """
    content = "hash(" + ", ".join(_CONTENT) + ")"
    _scan(
        con,
        stream,
        f"INSERT INTO events ({_EVENT_ROW}) SELECT {', '.join(_COLS)}, false, {content}, {import_id}, "
        f"known_at FROM (SELECT {_CAST}, known_at FROM _stream) {_CLUSTER}",
        progress,
    )
    if con.execute("SELECT 1 FROM events GROUP BY event_id HAVING count(*) > 1 LIMIT 1").fetchall():
        con.execute("DELETE FROM events")
        return False
    return True


def _import_one(
    con: DuckDBPyConnection,
    stream: EventStream,
    *,
    progress: Progress | None,
    mark_deleted: bool,
    dry_run: bool,
) -> ImportResult:
    """Import one file: stage its accepted rows, then classify and apply them in a few set-wise statements.

    Staged rows whose id appeared earlier in the file are duplicates (same content) or refused as
    ``duplicate_id`` (different content); first sightings are new, unchanged or changed against the
    stored event. Deletions are judged within the file's coverage (see the module docstring).
    """
    import pyarrow as pa

    from kalkan.ingest import Refusal

    t0 = time.perf_counter()
    started = datetime.now(UTC).replace(tzinfo=None)
    digest = _Digest(stream.path)
    digest.start()
    import_id = int(con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchall()[0][0])
    cols = ", ".join(_COLS)
    store_empty = not con.execute("SELECT 1 FROM events LIMIT 1").fetchall()
    first = store_empty and _first_import(con, stream, import_id=import_id, progress=progress)
    if store_empty and not first:
        stream = stream.reopen()  # the first pass was read to its end; read the file again
    if not first:
        _stage(con, stream, progress)
    refusals = stream.refusals
    bad_ids = {r.event_id for r in refusals if r.event_id is not None}
    if progress:
        progress("merge", 0, 1)

    # repeats inside the file: the first sighting stays, identical repeats are duplicates, others refused
    duplicates = 0
    conflicts: list[Refusal] = []
    if first:  # written straight to the empty store, without repeats: nothing to merge
        inserted, updated, unchanged = stream.data_rows - len(refusals), 0, 0
        con.execute(_stage_table_sql())
    repeats = (
        []
        if first
        else con.execute(f"""
        WITH h AS (SELECT event_id, row_pos, {_hash_sql("_in")} AS row_hash FROM _in),
             d AS (SELECT event_id, min(row_pos) AS first_pos, arg_min(row_hash, row_pos) AS first_hash
                   FROM h GROUP BY event_id HAVING count(*) > 1)
        SELECT h.row_pos, h.event_id, h.row_hash = d.first_hash, d.first_pos
        FROM h JOIN d USING (event_id) WHERE h.row_pos <> d.first_pos ORDER BY h.row_pos""").fetchall()
    )
    if repeats:
        for row_pos, eid, same, first_pos in repeats:
            if same:
                duplicates += 1
            else:
                conflicts.append(
                    Refusal(
                        int(row_pos),
                        f"duplicate_id: event_id {eid!r} already appears in data row {int(first_pos) + 1} "
                        "with different content",
                    )
                )
        con.execute("CREATE OR REPLACE TEMP TABLE _later (row_pos BIGINT)")
        con.executemany("INSERT INTO _later VALUES (?)", [[int(r[0])] for r in repeats])
        con.execute("DELETE FROM _in WHERE row_pos IN (SELECT row_pos FROM _later)")
        con.execute("DROP TABLE _later")

    if first:
        pass
    elif store_empty:  # a first import: every staged row is a new event
        inserted = int(con.execute("SELECT count(*) FROM _in").fetchall()[0][0])
        unchanged = updated = 0
        con.execute(
            f"INSERT INTO events ({_EVENT_ROW}) SELECT {cols}, false, {_hash_sql('_in')}, {import_id}, "
            f"known_at FROM _in {_CLUSTER}"
        )
    else:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _cls AS
            SELECT i.row_pos, e.row_hash AS old_hash, e.deleted AS old_deleted, e.version AS old_version,
                   e.known_at AS old_known, {_hash_sql("i")} AS row_hash
            FROM _in i LEFT JOIN events e USING (event_id)
            WHERE e.event_id IS NULL OR e.deleted OR e.row_hash <> {_hash_sql("i")}""")
        inserted, updated = con.execute(
            "SELECT count(*) FILTER (old_hash IS NULL), count(*) FILTER (old_hash IS NOT NULL) FROM _cls"
        ).fetchall()[0]
        inserted, updated = int(inserted), int(updated)
        unchanged = int(con.execute("SELECT count(*) FROM _in").fetchall()[0][0]) - inserted - updated
        if updated:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _changed AS SELECT i.event_id FROM _in i JOIN _cls c "
                "USING (row_pos) WHERE c.old_hash IS NOT NULL"
            )
            con.execute(
                f"INSERT INTO event_history ({_HISTORY_ROW}) SELECT {cols}, deleted, row_hash, import_id, "
                f"{import_id}, known_at FROM events WHERE event_id IN (SELECT event_id FROM _changed)"
            )
            con.execute("DELETE FROM events WHERE event_id IN (SELECT event_id FROM _changed)")
            con.execute("DROP TABLE _changed")
        if inserted or updated:
            select = ", ".join(
                "coalesce(c.old_version, 0) + 1" if name == "version" else f"i.{name}" for name in _COLS
            )
            # a changed event keeps the day it was first known (a correction does not make it news)
            con.execute(
                f"INSERT INTO events ({_EVENT_ROW}) SELECT {select}, false, c.row_hash, {import_id}, "
                "coalesce(c.old_known, i.known_at) "
                "FROM _in i JOIN _cls c USING (row_pos) ORDER BY i.country_iso3, i.date_start"
            )
        con.execute("DROP TABLE _cls")
    accepted = inserted + updated + unchanged

    deleted = 0
    if mark_deleted and accepted and not store_empty:
        con.execute("CREATE OR REPLACE TEMP TABLE gone_ids (event_id VARCHAR)")
        if bad_ids:
            con.executemany("INSERT INTO gone_ids VALUES (?)", [[i] for i in sorted(bad_ids)])
        # coverage: per source and country, the file's first..last start date
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE vanished AS
            SELECT e.event_id FROM events e
            JOIN (SELECT source AS cover_source, coalesce(country_iso3, '') AS cover_iso,
                         min(date_start) AS cover_first, max(date_start) AS cover_last
                  FROM _in GROUP BY source, coalesce(country_iso3, '')) c
              ON e.source = c.cover_source AND coalesce(e.country_iso3, '') = c.cover_iso
             AND e.date_start >= c.cover_first AND e.date_start <= c.cover_last
            WHERE NOT e.deleted
              AND e.import_id <> {import_id}
              AND e.event_id NOT IN (SELECT event_id FROM _in)
              AND e.event_id NOT IN (SELECT event_id FROM gone_ids)""")
        deleted = int(con.execute("SELECT count(*) FROM vanished").fetchall()[0][0])
        if deleted:
            con.execute(
                f"INSERT INTO event_history ({_HISTORY_ROW}) SELECT {cols}, deleted, row_hash, import_id, "
                f"{import_id}, known_at FROM events WHERE event_id IN (SELECT event_id FROM vanished)"
            )
            con.execute(
                f"UPDATE events SET deleted = true, version = version + 1, import_id = {import_id} "
                "WHERE event_id IN (SELECT event_id FROM vanished)"
            )
    con.execute("DROP TABLE _in")

    quarantine = stream.quarantine(extra=conflicts)
    # The quarantine shows each file's latest import: earlier refusals of the same file are superseded.
    con.execute("DELETE FROM quarantine WHERE file = ?", [str(stream.path)])
    if len(quarantine):
        quarantine.insert(0, "import_id", import_id)
        con.register("quarantine_df", pa.Table.from_pandas(quarantine, preserve_index=False))
        con.execute("INSERT INTO quarantine SELECT import_id, file, line, raw, reason FROM quarantine_df")
        con.unregister("quarantine_df")
    seconds = time.perf_counter() - t0
    result = ImportResult(
        str(stream.path),
        stream.format,
        stream.rows,
        accepted,
        len(quarantine),
        duplicates,
        inserted,
        updated,
        unchanged,
        deleted,
        seconds,
        None if dry_run else import_id,
        dry_run,
    )
    con.execute(
        "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            import_id,
            str(stream.path),
            digest.result(),
            stream.format,
            started,
            seconds,
            result.rows,
            result.accepted,
            result.quarantined,
            result.duplicates,
            result.inserted,
            result.updated,
            result.unchanged,
            deleted,
            stream.header(),
        ],
    )
    return result
