"""Stream events from the store to CSV, GeoJSON, HXL-tagged CSV or Parquet.

CSV and Parquet use DuckDB's own ``COPY ... TO`` (streamed by DuckDB). GeoJSON and HXL are written
from Arrow record batches of ``batch_rows`` rows, so memory stays flat however many events match.
Every export re-imports losslessly: ``kalkan ingest`` reads CSV/HXL/GeoJSON exports back as the same
events (same ``event_id``), which the round-trip tests check.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from kalkan.model import EVENT_FIELDS, EVENT_HXL_TAGS


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def write(con: Any, sql: str, params: list[Any], out: Path, format: str, batch_rows: int) -> int:
    """Write the rows of ``sql`` to ``out`` in ``format``; returns the number of rows written.

    The file appears only when complete (written to ``out.partial`` and renamed), so a reader never
    sees half an export.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        if format in ("csv", "parquet"):
            options = "FORMAT csv, HEADER true" if format == "csv" else "FORMAT parquet, COMPRESSION zstd"
            con.execute(f"COPY ({sql}) TO {_quote(partial)} ({options})", params)
            rows = int(con.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()[0][0])
        elif format == "hxl":
            rows = _write_hxl(con, sql, params, partial, batch_rows)
        else:
            rows = _write_geojson(con, sql, params, partial, batch_rows)
        os.replace(partial, out)
    finally:
        if partial.exists():
            partial.unlink()
    return rows


def _batches(con: Any, sql: str, params: list[Any], batch_rows: int) -> Any:
    return con.sql(sql, params=params).to_arrow_reader(batch_rows)


def _write_hxl(con: Any, sql: str, params: list[Any], out: Path, batch_rows: int) -> int:
    import csv

    import pyarrow.csv as pacsv

    names = [f.name for f in EVENT_FIELDS]
    rows = 0
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        writer.writerow([EVENT_HXL_TAGS[n] for n in names])
        f.flush()
        reader = _batches(con, sql, params, batch_rows)
        with open(out, "ab") as raw:
            csv_writer = pacsv.CSVWriter(
                raw, reader.schema, write_options=pacsv.WriteOptions(include_header=False)
            )
            for batch in reader:
                csv_writer.write_batch(batch)
                rows += batch.num_rows
            csv_writer.close()
    return rows


def _write_geojson(con: Any, sql: str, params: list[Any], out: Path, batch_rows: int) -> int:
    rows = 0
    with open(out, "w", encoding="utf-8") as f:
        f.write('{"type": "FeatureCollection", "features": [\n')
        first = True
        for batch in _batches(con, sql, params, batch_rows):
            frame = batch.to_pandas()
            if frame.empty:
                continue
            for column in ("date_start", "date_end"):
                frame[column] = pd.to_datetime(frame[column]).dt.strftime("%Y-%m-%d")
            props = frame.to_json(
                orient="records", lines=True, force_ascii=False, date_format="iso"
            ).splitlines()
            lon = frame["longitude"].map(repr)
            lat = frame["latitude"].map(repr)
            geometry = '{"type": "Point", "coordinates": [' + lon + ", " + lat + "]}"
            features = (
                '{"type": "Feature", "geometry": '
                + geometry
                + ', "properties": '
                + pd.Series(props, index=frame.index)
                + "}"
            )
            text = ",\n".join(features.tolist())
            if not first:
                f.write(",\n")
            f.write(text)
            first = False
            rows += len(frame)
        f.write("\n]}\n")
    return rows
