"""One event file as one stream: the accepted rows as Arrow record batches, then what was refused.

Why: the store (:mod:`kalkan.store`) keeps to its own job (the file, the schema, the merge) and reads
every format the same way, without knowing how a format is parsed. A UCDP GED CSV is parsed, mapped
and validated inside DuckDB (:mod:`kalkan.ingest._sql`) on a private in-memory connection whose
result streams out as Arrow; other formats go through the pandas mappers chunk by chunk. Either way
the consumer pulls batches (DuckDB can scan the :class:`pyarrow.RecordBatchReader` directly, so rows
never pile up in memory). Once the last batch is read the stream knows how many data rows it read,
which it refused and why (:attr:`EventStream.refusals`), and which lines were malformed; then
:meth:`EventStream.quarantine` gives the quarantine table (file, line, raw text, reason).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from kalkan.errors import KalkanError, SchemaError
from kalkan.ingest import reader
from kalkan.model import EVENT_FIELDS

_ARROW_TYPES: dict[str, pa.DataType] = {
    "str": pa.string(),
    "date": pa.date32(),
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
}

#: The columns of every batch: ``row_pos`` (0-based data row of the file), the event columns, and
#: ``known_at``: the day the event became known, where the file says so (a kalkan file's optional
#: ``known_at`` column, which the register's sync writes), else empty.
EVENT_SCHEMA: pa.Schema = pa.schema(
    [
        pa.field("row_pos", pa.int64()),
        *(pa.field(f.name, _ARROW_TYPES[f.dtype]) for f in EVENT_FIELDS),
        pa.field("known_at", pa.date32()),
    ]
)
BATCH_ROWS = 122_880  # DuckDB's row-group size: batches big enough that the per-batch cost vanishes

Progress = Callable[[int], None]
"""Called with the number of accepted rows read so far, after each batch."""


@dataclass(frozen=True)
class Refusal:
    """One refused data row: its 0-based position among the file's data rows and why it was refused.

    ``event_id`` is the row's kalkan id when its source id could be read (a refused row's id keeps
    the stored event from being taken for deleted), else None.
    """

    row: int
    reason: str
    event_id: str | None = None


class EventStream:
    """The events of one file (see the module docstring); build it with :func:`open_stream`.

    Read :meth:`batches` once; afterwards :attr:`rows`, :attr:`refusals` and :meth:`quarantine`
    are known. :meth:`reopen` gives a fresh stream of the same file.
    """

    def __init__(
        self,
        source: reader.Source,
        *,
        today: date | None,
        chunk_rows: int,
        check_boundaries: bool,
    ) -> None:
        self._source = source
        self._today = today
        self._chunk_rows = chunk_rows
        self._check_boundaries = check_boundaries
        self._started = False
        self._finished = False
        self._data_rows = 0
        self._refusals: list[Refusal] = []
        self.error: KalkanError | None = None
        """The error that ended the stream early (a file that cannot be parsed), or None."""

    @property
    def path(self) -> Path:
        """The file."""
        return self._source.path

    @property
    def format(self) -> str:
        """Its format: ``ged``, ``acled``, ``hxl`` or ``kalkan``."""
        return self._source.format

    def reopen(self) -> EventStream:
        """A fresh, unread stream of the same file with the same settings."""
        source = reader.open_source(self.path, format=self.format, encoding=self._source.encoding)
        return EventStream(
            source, today=self._today, chunk_rows=self._chunk_rows, check_boundaries=self._check_boundaries
        )

    def batches(self, progress: Progress | None = None) -> pa.RecordBatchReader:
        """The accepted rows in :data:`EVENT_SCHEMA`, in file order; readable once."""
        if self._started:
            raise RuntimeError(f"the event stream of {self.path} was read already: reopen() it")
        self._started = True
        parts = self._sql_batches() if reader.sql_capable(self._source) else self._chunk_batches()
        return pa.RecordBatchReader.from_batches(EVENT_SCHEMA, self._guarded(parts, progress))

    def _guarded(
        self, parts: Iterator[pa.RecordBatch], progress: Progress | None
    ) -> Iterator[pa.RecordBatch]:
        accepted = 0
        try:
            for batch in parts:
                accepted += batch.num_rows
                if progress is not None:
                    progress(accepted)
                yield batch
        except KalkanError as error:
            self.error = error  # a consumer such as DuckDB sees only an Arrow error: keep ours
            raise
        self._finished = True

    def _sql_batches(self) -> Iterator[pa.RecordBatch]:
        import duckdb

        from kalkan.ingest import _sql

        con = duckdb.connect()
        try:
            con.execute("SET enable_progress_bar = false")
            con.execute("SET memory_limit = '512MB'")
            _sql.register_functions(con)
            source = self._source
            scan = _sql.csv_sql(str(source.path), source.names, header_records=source.header_records)
            plan = _sql.ged_plan(
                source.names, scan, today=reader._today(self._today), check_boundaries=self._check_boundaries
            )
            collector = _sql.Collector(plan)
            collector.register(con)
            columns = ", ".join(_sql.COLUMNS)  # already of the store's types
            query = f"SELECT row_pos, {columns}, NULL::DATE AS known_at FROM ({plan.accepted_sql()})"
            _sql.clear_rejects(con)  # DuckDB keeps an earlier scan's rejects when this one has none
            accepted = 0
            try:
                for batch in con.sql(query).to_arrow_reader(BATCH_ROWS):
                    accepted += batch.num_rows
                    yield batch.cast(EVENT_SCHEMA) if batch.schema != EVENT_SCHEMA else batch
                source.skipped.update(_sql.rejects(con, source))
            except duckdb.Error as error:  # a CSV DuckDB cannot read at all
                raise SchemaError(
                    f"{source.path} cannot be parsed as CSV: {str(error).splitlines()[0]}"
                ) from None
            refused = collector.rows
            self._refusals = [Refusal(pos, reason, eid) for pos, eid, reason in refused]
            self._data_rows = accepted + len(refused)
        finally:
            con.close()

    def _chunk_batches(self) -> Iterator[pa.RecordBatch]:
        for chunk in reader.iter_chunks(
            self._source,
            chunk_rows=self._chunk_rows,
            today=self._today,
            check_boundaries=self._check_boundaries,
        ):
            self._data_rows += chunk.n
            at = np.searchsorted(chunk.rows, chunk.bad_rows)  # refused rows' places in the chunk
            ids = chunk.events["event_id"].to_numpy(dtype=object)[at]
            readable = chunk.events["source_id"].notna().to_numpy()[at]
            self._refusals.extend(
                Refusal(int(r), reason, str(i) if ok else None)
                for r, reason, i, ok in zip(chunk.bad_rows, chunk.reasons, ids, readable, strict=True)
            )
            if chunk.keep.any():
                known = None if chunk.known_at is None else chunk.known_at[chunk.keep]
                yield _to_batch(chunk.events[chunk.keep], chunk.rows[chunk.keep], known)

    # ----------------------------------------------------------------- known once the batches are read

    def _check_read(self) -> None:
        if not self._finished:
            raise RuntimeError(f"read the event stream of {self.path} to its end first")

    @property
    def data_rows(self) -> int:
        """Data rows the parser read (accepted and refused; malformed lines not included)."""
        self._check_read()
        return self._data_rows

    @property
    def malformed(self) -> int:
        """Lines that did not split into the header's fields (quarantined as ``malformed_row``)."""
        self._check_read()
        return len(self._source.skipped)

    @property
    def rows(self) -> int:
        """Every row of the file: data rows plus malformed lines."""
        return self.data_rows + self.malformed

    @property
    def refusals(self) -> list[Refusal]:
        """The refused data rows, in file order."""
        self._check_read()
        return list(self._refusals)

    def quarantine(self, extra: Sequence[Refusal] = ()) -> pd.DataFrame:
        """The quarantine table (``file, line, raw, reason``) of the refusals, the malformed lines and
        ``extra`` refusals that the consumer made itself (e.g. the store's ``duplicate_id``)."""
        self._check_read()
        refused = [*self._refusals, *extra]
        return reader.locate(
            self._source,
            np.asarray([r.row for r in refused], dtype=np.int64),
            [r.reason for r in refused],
            data_rows=self._data_rows,
        )

    def header(self) -> str:
        """The file's header record(s), verbatim (empty for GeoJSON), so refused rows can be written
        back as a file to correct and import again."""
        from kalkan.ingest._records import locate_records, read_raw

        source = self._source
        if source.kind != "csv":
            return ""
        numbers = np.arange(1, source.header_records + 1)
        _, found = locate_records(source.path, data_rows=np.empty(0, dtype=np.int64), records=numbers)
        return "\n".join(
            read_raw(source.path, [found[int(n)] for n in numbers if int(n) in found], source.encoding)
        )


def _to_batch(events: pd.DataFrame, rows: np.ndarray, known_at: pd.Series | None) -> pa.RecordBatch:
    """Accepted pandas event rows as one batch of :data:`EVENT_SCHEMA`."""
    arrays = [pa.array(np.asarray(rows, dtype=np.int64))]
    for f in EVENT_FIELDS:
        column = pa.Array.from_pandas(events[f.name]) if f.name in events else pa.nulls(len(events))
        arrays.append(column.cast(_ARROW_TYPES[f.dtype]))
    known = pa.nulls(len(events)) if known_at is None else pa.Array.from_pandas(known_at)
    arrays.append(known.cast(pa.date32()))
    return pa.RecordBatch.from_arrays(arrays, schema=EVENT_SCHEMA)


def open_stream(
    path: str | Path,
    *,
    format: str = "auto",
    encoding: str = "utf-8",
    today: date | None = None,
    chunk_rows: int = reader.DEFAULT_CHUNK_ROWS,
    check_boundaries: bool = True,
) -> EventStream:
    """Open an event file as a stream; whole-file problems (no such file, unknown format, missing
    columns) raise :class:`kalkan.errors.SchemaError` here, before any row is read.

    ``today`` is the date after which start dates count as in the future (default: today, UTC).
    """
    source = reader.open_source(path, format=format, encoding=encoding)
    return EventStream(source, today=today, chunk_rows=chunk_rows, check_boundaries=check_boundaries)
