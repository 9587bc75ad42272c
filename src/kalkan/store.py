"""The analytic event store: one DuckDB file with events, their history, imports and quarantine.

Why this shape
--------------
* **Idempotent, versioned imports.** Each event is keyed by its kalkan id (``source:source_id``)
  and a 64-bit hash of its content. Importing the same file again changes nothing; a newer export
  of the same source inserts new events, replaces changed ones (the old row goes to
  ``event_history``, ``version`` goes up by one) and marks events that disappeared as deleted
  (kept, with ``deleted = true``). "Disappeared" is judged within the new file's *coverage*: for
  each source and country in the file, its first..last start date there; so importing Mexico after
  Syria, or 2011 after 2010, deletes nothing.
* **A crash leaves the store as it was.** A writer never touches the live file: it copies it,
  imports into the copy (committing after each chunk, so memory stays bounded), checkpoints and
  then atomically renames the copy over the live file (``os.replace``). A killed import leaves the
  live file untouched (and a stale copy that the next writer removes). One writer at a time (an
  advisory lock on ``PATH.lock``).
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
from typing import Any

import numpy as np
import pandas as pd

from kalkan.errors import InputError, StoreError
from kalkan.model import EVENT_FIELDS

SCHEMA_VERSION = "1"
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
        "row_hash UBIGINT, import_id INTEGER)",
        f"CREATE TABLE IF NOT EXISTS event_history ({cols}, deleted BOOLEAN, row_hash UBIGINT, "
        "import_id INTEGER, superseded_by INTEGER)",
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
        self._con: Any = None
        self._key: tuple[int, int, int] | None = None

    # ----------------------------------------------------------------------------------- reading

    @contextlib.contextmanager
    def _reader(self) -> Iterator[Any]:
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
        start: date | str | None = None,
        end: date | str | None = None,
        event_type: str | Sequence[str] | None = None,
        actor: str | None = None,
        source: str | Sequence[str] | None = None,
        include_deleted: bool = False,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Events matching every given filter, in :data:`kalkan.model.EVENT_FIELDS` columns.

        Parameters
        ----------
        country
            ISO3 code(s).
        bbox
            ``(min_lon, min_lat, max_lon, max_lat)`` in degrees.
        start, end
            Inclusive range of ``date_start`` (ISO dates).
        event_type
            kalkan event type code(s).
        actor
            Case-insensitive text found in ``perpetrator`` or ``victim_group``.
        source
            Source name(s) (``ged``, ``acled``, ``hxl``, ``kalkan``).
        """
        sql, params = self._select(
            country=country,
            bbox=bbox,
            start=start,
            end=end,
            event_type=event_type,
            actor=actor,
            source=source,
            include_deleted=include_deleted,
            limit=limit,
            columns=[
                f"CAST({c} AS TIMESTAMP) AS {c}" if c in ("date_start", "date_end") else c for c in _COLS
            ],
        )
        if not _ARROW_TO_PANDAS:
            _arrow_types()
        with self._reader() as con:
            table = con.sql(sql, params=params).to_arrow_table()
        return _as_events(table.to_pandas(types_mapper=_ARROW_TO_PANDAS.get))

    def _select(
        self,
        *,
        country: str | Sequence[str] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        start: date | str | None = None,
        end: date | str | None = None,
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
        sql, params = self._select(columns=["count(*)"], **filters)
        sql = sql.replace(" ORDER BY date_start, event_id", "")
        with self._reader() as con:
            return int(con.execute(sql, params).fetchall()[0][0])

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
    def _writer(self, *, keep: bool) -> Iterator[Any]:
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
        from kalkan.ingest.reader import DEFAULT_CHUNK_ROWS, open_source

        sources = [open_source(p, format=format) for p in paths]  # whole-file errors before any work
        results: list[ImportResult] = []
        with self._writer(keep=not dry_run) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for source in sources:
                    results.append(
                        _import_one(
                            con,
                            source,
                            today=today,
                            progress=progress,
                            chunk_rows=chunk_rows or DEFAULT_CHUNK_ROWS,
                            mark_deleted=mark_deleted,
                            dry_run=dry_run,
                        )
                    )
                if progress:
                    progress("commit", 0, 1)
                con.execute("ROLLBACK" if dry_run else "COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return results


def _check_schema_version(con: Any, path: Path) -> None:
    """Stamp a new store with :data:`SCHEMA_VERSION`; refuse a store written by another version."""
    found = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    if not found:
        con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
    elif found[0][0] != SCHEMA_VERSION:
        raise StoreError(
            f"the event store {path} has schema version {found[0][0]}, this kalkan writes version "
            f"{SCHEMA_VERSION}: use a new --db file, or the kalkan version that wrote it"
        )


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


def _header(source: Any) -> str:
    """The file's header record(s), verbatim, so refused rows can be written back as a correctable file."""
    from kalkan.ingest._records import locate_records, read_raw

    if source.kind != "csv":
        return ""
    numbers = np.arange(1, source.header_records + 1)
    _, found = locate_records(source.path, data_rows=np.empty(0, dtype=np.int64), records=numbers)
    return "\n".join(
        read_raw(source.path, [found[int(n)] for n in numbers if int(n) in found], source.encoding)
    )


def _hash_sql(table: str) -> str:
    return "hash(" + ", ".join(f"{table}.{c}" for c in _CONTENT) + ")"


def _import_one(
    con: Any,
    source: Any,
    *,
    today: date | None,
    progress: Progress | None,
    chunk_rows: int,
    mark_deleted: bool,
    dry_run: bool,
) -> ImportResult:
    """Import one file chunk by chunk: classify each accepted row against the store and apply it.

    Per chunk (bounded memory): rows already seen earlier in this file are duplicates (same
    content) or refused as ``duplicate_id`` (different content); first sightings are new, unchanged
    or changed against the stored event. Only the ids seen (with their coverage keys) are kept
    across chunks, in a narrow table, for the deletion check at the end.
    """
    import pyarrow as pa

    from kalkan.ingest.reader import iter_chunks, locate

    t0 = time.perf_counter()
    started = datetime.now(UTC).replace(tzinfo=None)
    digest = _Digest(source.path)
    digest.start()
    import_id = int(con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchall()[0][0])
    cols = ", ".join(_COLS)
    con.execute(
        "CREATE OR REPLACE TABLE _seen (event_id VARCHAR, row_hash UBIGINT, row_pos BIGINT, "
        "source VARCHAR, "
        "country_iso3 VARCHAR, date_start DATE)"
    )
    counts = {"rows": 0, "accepted": 0, "duplicates": 0, "inserted": 0, "updated": 0, "unchanged": 0}
    bad_rows: list[int] = []
    reasons: list[str] = []
    bad_ids: set[str] = set()
    store_empty = int(con.execute("SELECT count(*) FROM events").fetchall()[0][0]) == 0
    for chunk in iter_chunks(source, chunk_rows=chunk_rows, today=today):
        counts["rows"] += chunk.n
        bad_rows.extend(int(r) for r in chunk.bad_rows)
        reasons.extend(chunk.reasons)
        bad_ids.update(chunk.bad_ids)
        if chunk.keep.any():
            frame = chunk.events.assign(row_pos=chunk.rows.astype(np.int64), keep_=chunk.keep)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            con.register("chunk_arrow", table)
            _merge_chunk(con, import_id, cols, counts, bad_rows, reasons, first_file=store_empty)
            con.unregister("chunk_arrow")
            # Commit on the private copy after each chunk: a transaction keeps every Arrow source
            # registered in it (and every replaced table) until it ends, which grew memory by the
            # chunk's size each time. All-or-nothing still holds: the copy only replaces the live
            # store when the whole import has finished (see EventStore._writer).
            con.execute("COMMIT")
            con.execute("BEGIN TRANSACTION")
        if progress:
            progress("read", counts["rows"], 0)
    counts["rows"] += len(source.skipped)
    if progress:
        progress("merge", 0, 1)

    deleted = 0
    if mark_deleted and counts["accepted"] and not store_empty:
        con.execute("CREATE OR REPLACE TEMP TABLE gone_ids (event_id VARCHAR)")
        if bad_ids:
            con.executemany("INSERT INTO gone_ids VALUES (?)", [[i] for i in sorted(bad_ids)])
        # coverage: per source and country, the file's first..last start date
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE vanished AS
            SELECT e.event_id FROM events e
            JOIN (SELECT source AS cover_source, coalesce(country_iso3, '') AS cover_iso,
                         min(date_start) AS cover_first, max(date_start) AS cover_last
                  FROM _seen GROUP BY source, coalesce(country_iso3, '')) c
              ON e.source = c.cover_source AND coalesce(e.country_iso3, '') = c.cover_iso
             AND e.date_start >= c.cover_first AND e.date_start <= c.cover_last
            WHERE NOT e.deleted
              AND e.import_id <> {import_id}
              AND e.event_id NOT IN (SELECT event_id FROM _seen)
              AND e.event_id NOT IN (SELECT event_id FROM gone_ids)""")
        deleted = int(con.execute("SELECT count(*) FROM vanished").fetchall()[0][0])
        if deleted:
            con.execute(
                f"INSERT INTO event_history SELECT {cols}, deleted, row_hash, import_id, {import_id} "
                "FROM events WHERE event_id IN (SELECT event_id FROM vanished)"
            )
            con.execute(
                f"UPDATE events SET deleted = true, version = version + 1, import_id = {import_id} "
                "WHERE event_id IN (SELECT event_id FROM vanished)"
            )
    con.execute("DROP TABLE _seen")

    quarantine = locate(source, np.asarray(bad_rows, dtype=np.int64), reasons)
    # The quarantine shows each file's latest import: earlier refusals of the same file are superseded.
    con.execute("DELETE FROM quarantine WHERE file = ?", [str(source.path)])
    if len(quarantine):
        quarantine.insert(0, "import_id", import_id)
        con.register("quarantine_df", pa.Table.from_pandas(quarantine, preserve_index=False))
        con.execute("INSERT INTO quarantine SELECT import_id, file, line, raw, reason FROM quarantine_df")
        con.unregister("quarantine_df")
    seconds = time.perf_counter() - t0
    result = ImportResult(
        str(source.path),
        source.format,
        counts["rows"],
        counts["accepted"],
        len(quarantine),
        counts["duplicates"],
        counts["inserted"],
        counts["updated"],
        counts["unchanged"],
        deleted,
        seconds,
        None if dry_run else import_id,
        dry_run,
    )
    con.execute(
        "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            import_id,
            str(source.path),
            digest.result(),
            source.format,
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
            _header(source),
        ],
    )
    return result


def _merge_chunk(
    con: Any,
    import_id: int,
    cols: str,
    counts: dict[str, int],
    bad_rows: list[int],
    reasons: list[str],
    *,
    first_file: bool,
) -> None:
    """Classify and apply the accepted rows of the registered ``chunk_arrow`` (see :func:`_import_one`)."""
    # Per-chunk intermediates are Arrow tables registered with DuckDB, not temp tables: inside the
    # import's transaction a replaced or dropped table keeps its rows until the commit, so temp
    # tables would grow memory with every chunk.
    views: list[str] = []

    def keep(name: str, sql: str) -> None:
        con.register(name, con.sql(sql).to_arrow_table())
        views.append(name)

    try:
        _classify_and_apply(con, import_id, cols, counts, bad_rows, reasons, first_file=first_file, keep=keep)
    finally:
        for name in views:
            con.unregister(name)


def _classify_and_apply(
    con: Any,
    import_id: int,
    cols: str,
    counts: dict[str, int],
    bad_rows: list[int],
    reasons: list[str],
    *,
    first_file: bool,
    keep: Callable[[str, str], None],
) -> None:
    keep(
        "cur",
        f"SELECT event_id, {_hash_sql('chunk_arrow')} AS row_hash, row_pos, source, country_iso3, date_start "
        "FROM chunk_arrow WHERE keep_",
    )
    n, distinct = con.execute("SELECT count(*), count(DISTINCT event_id) FROM cur").fetchall()[0]
    repeats_inside = n != distinct
    # earlier sighting of the same id: in a previous chunk of this file (_seen) or earlier in this chunk
    first_in_chunk = (
        "SELECT event_id, arg_min(row_hash, row_pos) AS f_hash, min(row_pos) AS f_pos "
        "FROM cur GROUP BY event_id"
        if repeats_inside
        else "SELECT NULL::VARCHAR AS event_id, NULL::UBIGINT AS f_hash, NULL::BIGINT AS f_pos WHERE false"
    )
    keep(
        "cls",
        f"""
        SELECT cur.event_id, cur.row_pos, cur.row_hash, cur.source, cur.country_iso3, cur.date_start,
               coalesce(s.row_hash, CASE WHEN f.f_pos < cur.row_pos THEN f.f_hash END) AS earlier_hash,
               coalesce(s.row_pos, CASE WHEN f.f_pos < cur.row_pos THEN f.f_pos END) AS earlier_pos,
               e.row_hash AS old_hash, e.deleted AS old_deleted, e.version AS old_version
        FROM cur
        LEFT JOIN _seen s USING (event_id)
        LEFT JOIN ({first_in_chunk}) f USING (event_id)
        {
            "LEFT JOIN (SELECT NULL::VARCHAR AS event_id, NULL::UBIGINT AS row_hash, "
            "NULL::BOOLEAN AS deleted, NULL::BIGINT AS version WHERE false) e USING (event_id)"
            if first_file
            else "LEFT JOIN events e USING (event_id)"
        }""",
    )
    dup, conflicts, new, unchanged, changed = con.execute("""
        SELECT count(*) FILTER (earlier_pos IS NOT NULL AND row_hash = earlier_hash),
               count(*) FILTER (earlier_pos IS NOT NULL AND row_hash <> earlier_hash),
               count(*) FILTER (earlier_pos IS NULL AND old_hash IS NULL),
               count(*) FILTER (earlier_pos IS NULL AND old_hash = row_hash AND NOT old_deleted),
               count(*) FILTER (earlier_pos IS NULL AND old_hash IS NOT NULL
                                AND (old_hash <> row_hash OR old_deleted))
        FROM cls""").fetchall()[0]
    counts["duplicates"] += int(dup)
    counts["accepted"] += int(new + unchanged + changed)
    counts["inserted"] += int(new)
    counts["unchanged"] += int(unchanged)
    counts["updated"] += int(changed)
    if conflicts:
        for row_pos, eid, earlier in con.execute(
            "SELECT row_pos, event_id, earlier_pos FROM cls WHERE earlier_pos IS NOT NULL "
            "AND row_hash <> earlier_hash ORDER BY row_pos"
        ).fetchall():
            bad_rows.append(int(row_pos))
            reasons.append(
                f"duplicate_id: event_id {eid!r} already appears in data row {int(earlier) + 1} "
                "with different content"
            )
    con.execute(
        "INSERT INTO _seen SELECT event_id, row_hash, row_pos, source, country_iso3, date_start "
        "FROM cls WHERE earlier_pos IS NULL"
    )
    if changed:
        keep(
            "changed",
            "SELECT event_id FROM cls WHERE earlier_pos IS NULL AND old_hash IS NOT NULL "
            "AND (old_hash <> row_hash OR old_deleted)",
        )
        con.execute(
            f"INSERT INTO event_history SELECT {cols}, deleted, row_hash, import_id, {import_id} "
            "FROM events WHERE event_id IN (SELECT event_id FROM changed)"
        )
        con.execute("DELETE FROM events WHERE event_id IN (SELECT event_id FROM changed)")
    # Rows go in sorted by country and date, so DuckDB's per-row-group min/max skip most of the table in
    # the usual country-and-period queries.
    if new == n:  # every accepted row is a new event (a first import): write straight from the chunk
        select = ", ".join("1" if name == "version" else name for name in _COLS)
        con.execute(
            f"INSERT INTO events SELECT {select}, false, {_hash_sql('chunk_arrow')}, {import_id} "
            "FROM chunk_arrow WHERE keep_ ORDER BY country_iso3, date_start"
        )
    elif new or changed:
        select = ", ".join(
            "coalesce(c.old_version, 0) + 1" if name == "version" else f"a.{name}" for name in _COLS
        )
        con.execute(f"""
            INSERT INTO events
            SELECT {select}, false, c.row_hash, {import_id}
            FROM chunk_arrow a JOIN cls c USING (row_pos)
            WHERE c.earlier_pos IS NULL
              AND (c.old_hash IS NULL OR c.old_hash <> c.row_hash OR c.old_deleted)
            ORDER BY a.country_iso3, a.date_start""")
