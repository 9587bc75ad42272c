"""The `kalkan ingest`, `kalkan events` and `kalkan quarantine` commands (see `kalkan.commands`).

Thin wrappers over :class:`kalkan.store.EventStore`; heavy imports happen inside the commands so
``kalkan --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from kalkan.store import ImportResult

DB_HELP = "Event store (DuckDB file). Default: $KALKAN_DB or <user data dir>/kalkan/events.duckdb."


def register(app: typer.Typer) -> None:
    """Add this area's commands to `app`."""
    app.command("ingest")(ingest)
    app.command("events")(events)
    app.command("quarantine")(quarantine)


def ingest(
    files: list[Path] = typer.Argument(
        ..., help="Event files: UCDP GED, ACLED or HXL CSV; kalkan CSV or GeoJSON."
    ),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    format: str = typer.Option(
        "auto", "--format", help="auto (detect from the header), ged, acled, hxl or kalkan."
    ),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when any row is quarantined."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Read, validate and compare; change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object with the counts."),
    keep_missing: bool = typer.Option(
        False, "--keep-missing", help="Do not mark stored events missing from a newer export as deleted."
    ),
) -> None:
    """Import event files: validate every row, quarantine refused ones, update changed events."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from kalkan.store import EventStore

    store = EventStore(db)
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=as_json,
    ) as bar:
        task = bar.add_task("reading rows", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            if stage == "read":
                bar.update(task, description="reading rows", completed=done)
            else:
                bar.update(
                    task, description={"merge": "merging into the store", "commit": "committing"}[stage]
                )

        results = store.import_files(
            files, format=format, dry_run=dry_run, progress=progress, mark_deleted=not keep_missing
        )
    totals = {k: sum(getattr(r, k) for r in results) for k in _COUNTS}
    seconds = round(sum(r.seconds for r in results), 3)
    if as_json:
        payload = {
            **totals,
            "seconds": seconds,
            "db": str(store.path),
            "dry_run": dry_run,
            "files": [r.as_dict() for r in results],
        }
        typer.echo(json.dumps(payload))
    else:
        _print_import(results, totals, seconds, store.path, dry_run)
    if strict and totals["quarantined"]:
        raise typer.Exit(1)


_COUNTS = ("rows", "accepted", "quarantined", "duplicates", "inserted", "updated", "unchanged", "deleted")


def _print_import(
    results: list[ImportResult], totals: dict[str, int], seconds: float, path: Path, dry_run: bool
) -> None:
    from rich.console import Console

    from kalkan.terminal import Column, fit_table

    console = Console()
    columns = [Column("file", keep=True), Column("format")]
    columns += [Column(key, number=True, keep=key in ("rows", "accepted", "quarantined")) for key in _COUNTS]
    rows = [[Path(r.file).name, r.format, *(f"{getattr(r, k):,}" for k in _COUNTS)] for r in results]
    title = f"{'Dry run: nothing changed in' if dry_run else 'Imported into'} {path}"
    console.print(fit_table(columns, rows, title=title, width=console.width))
    console.print(
        f"{totals['rows']:,} rows read = {totals['accepted']:,} accepted + {totals['quarantined']:,} "
        f"quarantined + {totals['duplicates']:,} duplicates, in {seconds:.2f} s.",
        markup=False,
        highlight=False,
    )
    if totals["quarantined"]:
        console.print(
            "See the refused rows and their reasons with `kalkan quarantine`.", markup=False, highlight=False
        )


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    from kalkan.errors import OptionError

    if text is None:
        return None
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4:
        raise OptionError(f"--bbox {text!r} is not four numbers: give min_lon,min_lat,max_lon,max_lat")
    return (values[0], values[1], values[2], values[3])


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def events(
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    country: list[str] | None = typer.Option(None, "--country", help="ISO3 code(s), e.g. KGZ or SYR,MMR."),
    bbox: str | None = typer.Option(None, "--bbox", help="min_lon,min_lat,max_lon,max_lat in degrees."),
    start: str | None = typer.Option(None, "--start", help="First start date (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, "--end", help="Last start date (YYYY-MM-DD)."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Only events known by this day (YYYY-MM-DD), as a brief of that day saw them."
    ),
    event_type: list[str] | None = typer.Option(
        None, "--type", help="kalkan event type(s), e.g. killing,arson."
    ),
    actor: str | None = typer.Option(None, "--actor", help="Text in the perpetrator or victim group."),
    source: list[str] | None = typer.Option(None, "--source", help="Source(s): ged, acled, hxl, kalkan."),
    include_deleted: bool = typer.Option(
        False, "--include-deleted", help="Also events a newer export deleted."
    ),
    out: Path | None = typer.Option(None, "--out", help="Write all matching events to this file (streamed)."),
    format: str | None = typer.Option(
        None,
        "--format",
        help="csv, geojson, hxl or parquet (default: from --out); without --out, csv, geojson or hxl "
        "of every matching event on stdout.",
    ),
    limit: int = typer.Option(20, "--limit", help="Rows to show in the terminal table."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the matching count and the shown rows as JSON."
    ),
) -> None:
    """Query stored events by country, box, dates, type, actor and source; show them or export them."""
    from kalkan.errors import OptionError
    from kalkan.model import EventType
    from kalkan.store import EXPORT_FORMATS, EventStore

    types = _split(event_type)
    for t in types or []:
        if t not in {e.value for e in EventType}:
            raise OptionError(
                f"--type {t!r} is not a kalkan event type: use one of {', '.join(e.value for e in EventType)}"
            )
    filters: dict[str, Any] = {
        "country": _split(country),
        "bbox": _bbox(bbox),
        "start": start,
        "end": end,
        "as_of": as_of,
        "event_type": types,
        "actor": actor,
        "source": _split(source),
        "include_deleted": include_deleted,
    }
    store = EventStore(db)
    if format is not None and format not in EXPORT_FORMATS:
        choices = ", ".join(EXPORT_FORMATS)
        raise OptionError(f"--format {format!r} is not an export format: use one of {choices}")
    if out is None and format is not None:
        if format == "parquet":
            raise OptionError("--format parquet is a binary file: give --out FILE.parquet")
        _export_to_stdout(store, format, filters)
        return
    if out is not None:
        fmt = format or {".geojson": "geojson", ".json": "geojson", ".parquet": "parquet", ".hxl": "hxl"}.get(
            out.suffix.lower(), "csv"
        )
        n = store.export(out, format=fmt, **filters)
        if as_json:
            typer.echo(json.dumps({"matched": n, "out": str(out), "format": fmt}))
        else:
            typer.echo(f"Wrote {n:,} events to {out} ({fmt}).")
        return
    matched = store.count(**filters)
    frame = store.query(limit=max(limit, 0), **filters)
    if as_json:
        records = json.loads(frame.to_json(orient="records", date_format="iso"))
        for record in records:
            for key in ("date_start", "date_end"):
                if record.get(key):
                    record[key] = record[key][:10]
        typer.echo(json.dumps({"matched": matched, "shown": len(frame), "events": records}))
        return
    from rich.console import Console

    from kalkan.terminal import Column, fit_table

    shown = [
        "event_id",
        "date_start",
        "fatalities_best",
        "event_type",
        "country_iso3",
        "place_name",
        "admin1",
        "perpetrator",
        "victim_group",
    ]
    cells = frame[shown].astype(object).where(frame[shown].notna(), "")
    cells["date_start"] = frame["date_start"].dt.strftime("%Y-%m-%d").fillna("")
    cells["fatalities_best"] = [f"{int(v):,}" if v != "" else "" for v in cells["fatalities_best"]]
    columns = [
        Column("event_id", keep=True),
        Column("date_start", number=True, keep=True),
        Column("killed", number=True, keep=True),
        Column("event_type"),
        Column("country"),
        *(Column(c) for c in shown[5:]),
    ]
    console = Console()
    table = fit_table(
        columns,
        list(cells.itertuples(index=False)),
        title=f"{matched:,} events match; showing {len(frame):,}",
        width=console.width,
    )
    console.print(table)


def _export_to_stdout(store: Any, fmt: str, filters: dict[str, Any]) -> None:
    """Every matching event in ``fmt`` on stdout (written to a temporary file first, then copied)."""
    import shutil
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kalkan-events-") as folder:
        path = Path(folder) / f"events.{fmt}"
        store.export(path, format=fmt, **filters)
        sys.stdout.flush()
        with open(path, "rb") as f:
            shutil.copyfileobj(f, sys.stdout.buffer)
        sys.stdout.buffer.flush()


def quarantine(
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    file: str | None = typer.Option(None, "--file", help="Only rows from this file (path or name)."),
    import_id: int | None = typer.Option(None, "--import-id", help="Only rows of this import."),
    reason: str | None = typer.Option(None, "--reason", help="Only rows whose reason starts with this code."),
    out: Path | None = typer.Option(None, "--out", help="Write the rows to this CSV file."),
    raw: bool = typer.Option(
        False,
        "--raw",
        help="With --out: write the source header and raw rows, ready to correct and re-import.",
    ),
    limit: int = typer.Option(20, "--limit", help="Rows to show in the terminal."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
) -> None:
    """List rows refused at import with their reasons; export them for correction and re-import."""
    from kalkan.store import EventStore

    store = EventStore(db)
    if out is not None:
        n = store.export_quarantine(out, raw=raw, file=file, import_id=import_id, reason=reason)
        if as_json:
            typer.echo(json.dumps({"rows": n, "out": str(out), "raw": raw}))
        else:
            typer.echo(
                f"Wrote {n:,} refused rows to {out}{' (raw, ready to correct and re-import)' if raw else ''}."
            )
        return
    rows = store.quarantine(file=file, import_id=import_id, reason=reason)
    if as_json:
        typer.echo(json.dumps({"rows": len(rows), "quarantine": json.loads(rows.to_json(orient="records"))}))
        return
    from rich.console import Console

    from kalkan.terminal import Column, fit_table

    counts = rows["reason"].str.split(":").str[0].value_counts()
    title = f"{len(rows):,} refused rows" + (
        f" ({', '.join(f'{k} {v:,}' for k, v in counts.items())})" if len(rows) else ""
    )
    columns = [
        Column("import", number=True),
        Column("file", keep=True),
        Column("line", number=True, keep=True),
        Column("reason", keep=True),
    ]
    cells = [
        [str(row.import_id), Path(str(row.file)).name, f"{int(str(row.line)):,}", str(row.reason)]
        for row in rows.head(max(limit, 0)).itertuples(index=False)
    ]
    console = Console()
    console.print(fit_table(columns, cells, title=title, width=console.width))
