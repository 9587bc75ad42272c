"""Read an event file of any supported format into event rows and quarantined rows.

UCDP GED CSV is parsed, mapped and validated inside DuckDB (:mod:`kalkan.ingest.stream` with
:mod:`kalkan.ingest._sql`).
Other formats: :func:`iter_chunks` streams a file (pandas' C parser in chunks, so memory stays flat
with file size) and yields accepted event rows plus the positions and reasons of refused ones.
:func:`read_events` collects either into a :class:`ReadResult` for callers that want one DataFrame;
the store (:mod:`kalkan.store`) reads every format as one :class:`kalkan.ingest.stream.EventStream`.
"""

from __future__ import annotations

import csv
import json
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kalkan.errors import SchemaError
from kalkan.ingest import formats
from kalkan.ingest._parse import Problem, dates
from kalkan.ingest._records import locate_records, locate_records_exact, read_raw
from kalkan.ingest.validate import validate
from kalkan.model import EVENT_COLUMNS, EVENT_FIELDS, empty_events

QUARANTINE_COLUMNS = ["file", "line", "raw", "reason"]
DEFAULT_CHUNK_ROWS = 250_000
_GEOJSON_KEYS = [*EVENT_COLUMNS, "known_at"]  # feature properties read from a kalkan GeoJSON
_SKIPPING = re.compile(r"Skipping line (\d+): (.*)")


@dataclass
class Source:
    """An opened event file: its detected format and how to map its rows."""

    path: Path
    format: str
    kind: str  # "csv" or "geojson"
    names: list[str]
    mapper: Callable[[pd.DataFrame, list[Problem]], pd.DataFrame]
    header_records: int = 1
    encoding: str = "utf-8"
    skipped: dict[int, str] = field(default_factory=dict)  # malformed record number -> parser message


@dataclass
class Chunk:
    """One chunk of a file: its event rows, which of them are accepted, and why the others are refused.

    ``events`` holds every row of the chunk (refused ones too, as far as they could be parsed) so
    the store can filter in SQL without copying; ``keep`` marks the accepted ones.
    """

    events: pd.DataFrame
    rows: np.ndarray  # data-row position (0-based) of each row of ``events``
    keep: np.ndarray  # True for accepted rows
    bad_rows: np.ndarray
    reasons: list[str]
    bad_ids: list[str]  # event ids of refused rows where the id itself could be read
    n: int
    known_at: pd.Series | None = None  # the file's optional ``known_at`` column (day the event was known)

    @property
    def accepted(self) -> pd.DataFrame:
        """The accepted event rows."""
        return self.events if self.keep.all() else self.events[self.keep]


@dataclass
class ReadResult:
    """Everything read from one file.

    ``rows`` = ``len(events)`` + ``len(quarantine)`` + ``duplicates`` (identical repeats of an
    event earlier in the file). ``quarantine`` has ``file, line, raw, reason``.
    """

    events: pd.DataFrame
    quarantine: pd.DataFrame
    rows: int
    format: str
    duplicates: int = 0

    @property
    def accepted(self) -> int:
        """Number of accepted event rows."""
        return len(self.events)


def _sniff(path: Path, encoding: str) -> tuple[list[str], list[str] | None]:
    try:
        with open(path, newline="", encoding=encoding) as f:
            rows = csv.reader(f)
            header = next(rows, None)
            second = next(rows, None)
    except UnicodeDecodeError as error:
        raise SchemaError(
            f"{path} is not {encoding} text (byte {error.start} cannot be decoded): re-save it as "
            "UTF-8 or pass the file's encoding"
        ) from None
    if not header:
        raise SchemaError(f"{path} is empty: expected a header row with column names")
    return [h.strip().lstrip("\ufeff") for h in header], second


def open_source(path: str | Path, *, format: str = "auto", encoding: str = "utf-8") -> Source:
    """Open an event file, detect (or check) its format and check its required columns."""
    p = Path(path)
    if not p.exists():
        raise SchemaError(f"{p} does not exist: check the path")
    if p.is_dir():
        raise SchemaError(f"{p} is a directory: pass event files")
    if format not in ("auto", *formats.FORMATS):
        raise SchemaError(f"unknown format {format!r}: use one of auto, {', '.join(formats.FORMATS)}")
    if p.suffix.lower() in (".geojson", ".json") or _starts_with_brace(p):
        if format not in ("auto", "kalkan"):
            raise SchemaError(
                f"{p} is JSON; only the kalkan format is read from GeoJSON: drop --format {format}"
            )
        return Source(p, "kalkan", "geojson", [], formats.map_kalkan, 0, encoding)
    names, second = _sniff(p, encoding)
    name = formats.detect(names, second) if format == "auto" else format
    if name == "hxl":
        if not second:
            raise SchemaError(
                f"{p} has no HXL hashtag row under its header: add one (#date, #geo+lat, ...) "
                "or pass another --format"
            )
        columns = formats.hxl_columns(names, second)
        missing = [f for f in formats.HXL_REQUIRED if f not in columns]
        if missing:
            wanted = "; ".join(f"{f} ({' or '.join(formats.HXL_TAGS[f])})" for f in missing)
            raise SchemaError(
                f"{p} lacks the HXL hashtags for {wanted} that the hxl format requires: tag those columns"
            )
        return Source(p, "hxl", "csv", names, formats.make_hxl_mapper(columns), 2, encoding)
    fmt = formats.format_for(name)
    formats.check_columns(fmt, names, str(p))
    return Source(p, name, "csv", names, fmt.mapper, 1, encoding)


def _starts_with_brace(p: Path) -> bool:
    with open(p, "rb") as f:
        head = f.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{")


def _today(today: date | None) -> date:
    return today if today is not None else datetime.now(UTC).date()


def iter_chunks(
    source: Source,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    today: date | None = None,
    check_boundaries: bool = True,
) -> Iterator[Chunk]:
    """Stream a source in chunks of ``chunk_rows`` data rows; malformed lines end up in ``source.skipped``."""
    day = _today(today)
    if source.kind == "geojson":
        yield from _geojson_chunks(source, chunk_rows, day, check_boundaries)
        return
    reader = pd.read_csv(
        source.path,
        chunksize=chunk_rows,
        on_bad_lines="warn",
        encoding=source.encoding,
        keep_default_na=False,
        na_values=[""],
        skiprows=[1] if source.header_records == 2 else None,
        skipinitialspace=False,
    )
    offset = 0
    with reader:
        while True:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    frame = next(reader)
                except StopIteration:
                    break
                except UnicodeDecodeError:
                    raise SchemaError(
                        f"{source.path} is not {source.encoding} text (a byte near data row "
                        f"{offset + 1} cannot be decoded): re-save it as UTF-8"
                    ) from None
                except pd.errors.ParserError as error:
                    raise SchemaError(f"{source.path} cannot be parsed as CSV: {error}") from None
            for w in caught:
                for number, text in _SKIPPING.findall(str(w.message)):
                    source.skipped[int(number)] = text
            frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
            frame.index = pd.RangeIndex(offset, offset + len(frame))
            yield _process(source, frame, day, check_boundaries)
            offset += len(frame)


def _process(source: Source, frame: pd.DataFrame, day: date, check_boundaries: bool) -> Chunk:
    problems: list[Problem] = []
    events = source.mapper(frame, problems)
    events["event_id"] = _join_ids(events["source"], events["source_id"])
    events["version"] = pd.Series(np.ones(len(events), dtype=np.int64), index=events.index).astype("Int64")
    # A file may say when each event became known (the register's sync writes the day a report was
    # verified): the store keeps it, so a brief "as of" a day reads only what was known then.
    known = dates(frame["known_at"], "known_at", problems) if "known_at" in frame.columns else None
    bad, reasons = validate(events, problems, today=day, check_boundaries=check_boundaries)
    positions = frame.index.to_numpy()
    keep = np.ones(len(events), dtype=bool)
    ids: list[str] = []
    if len(bad):
        keep[bad] = False
        bad_ids = events["event_id"].iloc[bad]
        ids = bad_ids[events["source_id"].iloc[bad].notna().to_numpy()].tolist()
    return Chunk(events, positions, keep, positions[bad], reasons, ids, len(frame), known)


def _join_ids(source: pd.Series, source_id: pd.Series) -> pd.Series:
    """'<source>:<source_id>' in one Arrow kernel (missing when either part is missing)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parts = [pa.array(source).cast(pa.large_string()), pa.array(source_id).cast(pa.large_string())]
    joined = pc.binary_join_element_wise(*parts, pa.scalar(":", pa.large_string()))
    out = pd.Series(joined.to_pandas(), dtype="str")
    out.index = source.index
    return out


def _geojson_chunks(source: Source, chunk_rows: int, day: date, check_boundaries: bool) -> Iterator[Chunk]:
    try:
        data = json.loads(source.path.read_text(encoding=source.encoding))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SchemaError(
            f"{source.path} is not valid GeoJSON ({error}): export it again or fix the JSON"
        ) from None
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        raise SchemaError(
            f"{source.path} is not a GeoJSON FeatureCollection: expected "
            '{"type": "FeatureCollection", "features": [...]}'
        )
    features = data["features"]
    for start in range(0, len(features), chunk_rows):
        part = features[start : start + chunk_rows]
        records = []
        for feature in part:
            props = dict(feature.get("properties") or {}) if isinstance(feature, dict) else {}
            geometry = feature.get("geometry") if isinstance(feature, dict) else None
            if isinstance(geometry, dict) and geometry.get("type") == "Point":
                coords = geometry.get("coordinates") or []
                if len(coords) >= 2:
                    props["longitude"], props["latitude"] = coords[0], coords[1]
            records.append({k: v for k, v in props.items() if k in _GEOJSON_KEYS})
        frame = pd.DataFrame.from_records(
            records, columns=[c for c in _GEOJSON_KEYS if any(c in r for r in records)]
        )
        frame = frame.astype(object).where(frame.notna(), None).astype("str")
        frame.index = pd.RangeIndex(start, start + len(frame))
        for column in ("date_start", "latitude", "longitude", "event_type"):
            if column not in frame.columns:
                frame[column] = pd.Series(np.nan, index=frame.index, dtype="str")
        yield _process(source, frame, day, check_boundaries)


def sql_capable(source: Source) -> bool:
    """Whether the file is read inside DuckDB (:mod:`kalkan.ingest._sql`): UCDP GED CSV."""
    return (
        source.kind == "csv" and source.format == "ged" and source.encoding.lower().replace("-", "") == "utf8"
    )


def locate(
    source: Source, bad_rows: np.ndarray, reasons: list[str], *, data_rows: int | None = None
) -> pd.DataFrame:
    """The quarantine table (file, line, raw, reason) for refused data rows and malformed lines.

    With ``data_rows`` (how many data rows the parser read), the fast record scan is checked against
    it: the scan must find data row ``data_rows - 1`` and no further one, else its records do not
    match the parser's and the exact (slower) scan takes over.
    """
    file = str(source.path)
    if source.kind == "geojson":
        features = json.loads(source.path.read_text(encoding=source.encoding))["features"]
        raw = [json.dumps(features[int(r)], ensure_ascii=False) for r in bad_rows]
        return _quarantine_table(file, [int(r) + 1 for r in bad_rows], raw, list(reasons))
    skipped = np.array(sorted(source.skipped), dtype=np.int64)
    wanted = np.asarray(bad_rows, dtype=np.int64)
    if len(wanted) == 0 and len(skipped) == 0:
        return _quarantine_table(file, [], [], [])
    probes = [data_rows - 1, data_rows] if data_rows else []
    rows_found, recs_found = locate_records(
        source.path,
        data_rows=np.concatenate([wanted, np.asarray(probes, dtype=np.int64)]),
        records=skipped,
        header_records=source.header_records,
        skipped_records=skipped,
    )
    mismatch = bool(probes) and (probes[0] not in rows_found or probes[1] in rows_found)
    if mismatch or any(int(r) not in rows_found for r in wanted) or len(recs_found) < len(skipped):
        # a stray quote inside an unquoted field misled the fast scan: split records as the parser did
        rows_found, recs_found = locate_records_exact(
            source.path,
            data_rows=wanted,
            records=skipped,
            header_records=source.header_records,
            skipped_records=skipped,
            encoding=source.encoding,
        )
    lines: list[int] = []
    spans = []
    all_reasons = []
    for r, reason in zip(bad_rows, reasons, strict=True):
        span = rows_found[int(r)]
        lines.append(span.line)
        spans.append(span)
        all_reasons.append(reason)
    for number in skipped:
        span = recs_found[int(number)]
        lines.append(span.line)
        spans.append(span)
        all_reasons.append(f"malformed_row: {source.skipped[int(number)].strip()}")
    raws = read_raw(source.path, spans, source.encoding)
    return _quarantine_table(file, lines, raws, all_reasons)


def _quarantine_table(file: str, lines: list[int], raws: list[str], reasons: list[str]) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "file": pd.Series([file] * len(lines), dtype="str"),
            "line": pd.Series(lines, dtype="int64"),
            "raw": pd.Series(raws, dtype="str"),
            "reason": pd.Series(reasons, dtype="str"),
        },
        columns=QUARANTINE_COLUMNS,
    )
    return table.sort_values("line", kind="stable").reset_index(drop=True)


def _read_sql_frame(
    source: Source, today: date | None, check_boundaries: bool, bad_rows: list[int], reasons: list[str]
) -> tuple[int, np.ndarray, pd.DataFrame]:
    """The file's :class:`kalkan.ingest.stream.EventStream` (parsed in DuckDB) as an event DataFrame."""
    from kalkan.ingest.stream import EventStream

    stream = EventStream(
        source, today=today, chunk_rows=DEFAULT_CHUNK_ROWS, check_boundaries=check_boundaries
    )
    table = stream.batches().read_all().drop_columns(["known_at"])
    for refusal in stream.refusals:
        bad_rows.append(refusal.row)
        reasons.append(refusal.reason)
    frame = table.to_pandas(types_mapper=_arrow_types().get)
    positions = frame.pop("row_pos").to_numpy(dtype=np.int64)
    out = {}
    for f in EVENT_FIELDS:
        column = frame[f.name]
        if f.dtype == "date":
            column = pd.to_datetime(column).astype("datetime64[us]")
        out[f.name] = column if column.dtype == f.pandas_dtype else column.astype(f.pandas_dtype)
    return stream.data_rows, positions, pd.DataFrame(out, columns=EVENT_COLUMNS)


def _arrow_types() -> dict[Any, Any]:
    import pyarrow as pa

    return {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


def read_events(
    path: str | Path,
    *,
    format: str = "auto",
    today: date | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    encoding: str = "utf-8",
    check_boundaries: bool = True,
) -> ReadResult:
    """Read a UCDP GED, ACLED, HXL or kalkan event file into event rows and quarantined rows.

    Parameters
    ----------
    path
        The file (CSV, or GeoJSON for the kalkan format).
    format
        ``auto`` (detect from the header), ``ged``, ``acled``, ``hxl`` or ``kalkan``.
    today
        The date after which start dates count as in the future (default: today, UTC).

    Returns
    -------
    ReadResult
        ``events`` in :data:`kalkan.model.EVENT_FIELDS` columns (``version`` 1), ``quarantine``
        with ``file, line, raw, reason`` and the counts; identical repeated events are counted
        in ``duplicates``, conflicting ones are quarantined as ``duplicate_id``.
    """
    source = open_source(path, format=format, encoding=encoding)
    parts: list[pd.DataFrame] = []
    row_parts: list[np.ndarray] = []
    bad_rows: list[int] = []
    reasons: list[str] = []
    n = 0
    if sql_capable(source):
        n, accepted_rows, accepted = _read_sql_frame(source, today, check_boundaries, bad_rows, reasons)
        parts.append(accepted)
        row_parts.append(accepted_rows)
    else:
        for chunk in iter_chunks(
            source, chunk_rows=chunk_rows, today=today, check_boundaries=check_boundaries
        ):
            parts.append(chunk.accepted)
            row_parts.append(chunk.rows[chunk.keep])
            bad_rows.extend(int(r) for r in chunk.bad_rows)
            reasons.extend(chunk.reasons)
            n += chunk.n
    events = pd.concat(parts, ignore_index=True) if parts else empty_events()
    rows = np.concatenate(row_parts) if row_parts else np.empty(0, dtype=np.int64)
    duplicates = 0
    repeated = events["event_id"].duplicated(keep="first").to_numpy()
    if repeated.any():
        content = pd.util.hash_pandas_object(events[EVENT_COLUMNS].astype("str"), index=False)
        first = content.groupby(events["event_id"].to_numpy()).transform("first")
        same = (content == first).to_numpy()
        identical = repeated & same
        conflicting = repeated & ~same
        duplicates = int(identical.sum())
        if conflicting.any():
            first_row = pd.Series(rows).groupby(events["event_id"].to_numpy()).transform("first").to_numpy()
            for i in np.flatnonzero(conflicting):
                bad_rows.append(int(rows[i]))
                reasons.append(
                    f"duplicate_id: event_id {events['event_id'].iat[int(i)]!r} already appears in data row "
                    f"{int(first_row[i]) + 1} with different content"
                )
        events = events[~repeated].reset_index(drop=True)
    quarantine = locate(source, np.asarray(bad_rows, dtype=np.int64), reasons, data_rows=n)
    rows_read = n + len(source.skipped)
    return ReadResult(events, quarantine, rows_read, source.format, duplicates)
