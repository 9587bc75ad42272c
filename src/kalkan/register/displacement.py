"""The register's sites and population figures in the format of a scenario's ``displacement.csv``.

A scenario (see docs/scenarios.md, "Displacement and return") reads one figure per row:
``site, kind, unit, from_units, latitude, longitude, group, people, date, known_on, source_ids,
estimate, note``. :func:`export_displacement` writes the register's figures in those columns, so what
the mission counts in the field feeds the planner and the brief ("people at risk where they are");
:func:`import_displacement` files such a file's rows as sites and figures (a scenario's own figures
are a mission's first data), idempotent: the ``client_id`` of each site and figure is derived from
its content, so importing the same file twice adds nothing.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from kalkan.errors import Conflict, InputError, NotFound
from kalkan.register import mission
from kalkan.register.auth import Actor, require
from kalkan.register.db import Site, SiteFigure
from kalkan.register.mission_schemas import POINT_KINDS, FigureIn, SiteIn

__all__ = ["DISPLACEMENT_COLUMNS", "export_displacement", "import_displacement"]

DISPLACEMENT_COLUMNS = [
    "site",
    "kind",
    "unit",
    "from_units",
    "latitude",
    "longitude",
    "group",
    "people",
    "date",
    "known_on",
    "source_ids",
    "estimate",
    "note",
]
_NAMESPACE = uuid.UUID("6f1d8a52-3c1e-4a7e-9f0b-2b9d0c6e1a18")  # kalkan register displacement rows


def export_displacement(session: Session, actor: Actor, *, as_of: date | None = None) -> str:
    """Every figure as a row of a scenario's ``displacement.csv``, oldest first; with ``as_of``, only
    figures counted and published by that day. A figure's source goes in ``source_ids`` when it has
    a scenario source id, and in ``note`` (with its URL) always."""
    require(actor, "read", "read sites")
    query = sa.select(SiteFigure, Site).join(Site, Site.id == SiteFigure.site_id)
    if as_of is not None:
        query = query.where(
            SiteFigure.as_of <= as_of, sa.func.coalesce(SiteFigure.known_on, SiteFigure.as_of) <= as_of
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DISPLACEMENT_COLUMNS)
    for figure, site in session.execute(query.order_by(SiteFigure.as_of, Site.name, SiteFigure.id)):
        point = site.kind in POINT_KINDS and site.latitude is not None
        source = figure.source + (f" ({figure.source_url})" if figure.source_url else "")
        note = figure.note if source in figure.note else "; ".join(p for p in (figure.note, source) if p)
        writer.writerow(
            [
                site.name,
                site.kind,
                site.admin2 or "",
                site.from_units,
                site.latitude if point else "",
                site.longitude if point else "",
                figure.group,
                figure.persons,
                figure.as_of.isoformat(),
                figure.known_on.isoformat() if figure.known_on else "",
                figure.source_id or "",
                "yes" if figure.estimate else "no",
                note,
            ]
        )
    return out.getvalue()


def _read_rows(path: Path) -> list[dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise InputError(
            f"{path} cannot be read ({error.strerror}): give a displacement.csv file."
        ) from error
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("site", "kind", "group", "people", "date") if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(
            f"{path} lacks the columns {', '.join(missing)}: give a file in the columns of a scenario's "
            f"displacement.csv ({', '.join(DISPLACEMENT_COLUMNS)})."
        )
    return list(reader)


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def import_displacement(session: Session, actor: Actor, path: Path) -> dict[str, Any]:
    """File the rows of a scenario-format ``displacement.csv`` as sites and figures.

    Returns counts (``sites``, ``created``, ``existing``, ``invalid``) and one line per invalid row
    (the row number and why); valid rows are kept whatever the others hold.
    """
    rows = _read_rows(path)
    counts = {"sites": 0, "created": 0, "existing": 0, "invalid": 0}
    errors: list[str] = []
    for number, row in enumerate(rows, start=2):
        name, kind = row.get("site", "").strip(), row.get("kind", "").strip()
        try:
            site_key = f"site|{kind}|{name}"
            point = kind in POINT_KINDS
            site = SiteIn.model_validate(
                {
                    "client_id": uuid.uuid5(_NAMESPACE, site_key),
                    "kind": kind,
                    "name": name,
                    "latitude": _number(row.get("latitude", "")) if point else None,
                    "longitude": _number(row.get("longitude", "")) if point else None,
                    "admin2": row.get("unit", "").strip() or None,
                    "from_units": row.get("from_units", "").strip(),
                }
            )
            stored = session.scalar(sa.select(Site).where(Site.client_id == str(site.client_id)))
            if stored is None:
                mission.create_site(session, actor, site)
                counts["sites"] += 1
            sources = row.get("source_ids", "").strip()
            figure = FigureIn.model_validate(
                {
                    "client_id": uuid.uuid5(
                        _NAMESPACE, "|".join([site_key, *(row.get(c, "") for c in DISPLACEMENT_COLUMNS)])
                    ),
                    "site_client_id": site.client_id,
                    "as_of": row.get("date", "").strip(),
                    "group": row.get("group", "").strip() or "all",
                    "persons": int(float(row.get("people", "").strip())),
                    "source": sources or path.name,
                    "source_id": sources or None,
                    "known_on": row.get("known_on", "").strip() or None,
                    "estimate": row.get("estimate", "").strip().lower() in ("yes", "true", "1"),
                    "note": row.get("note", "").strip(),
                }
            )
            _out, created = mission.add_figure(session, actor, figure)
        except (ValidationError, ValueError, InputError, Conflict, NotFound) as error:
            counts["invalid"] += 1
            errors.append(f"row {number}: {_reason(error)}")
            continue
        counts["created" if created else "existing"] += 1
    return {**counts, "errors": errors}


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        parts = []
        for e in error.errors()[:3]:
            where = ".".join(str(p) for p in e["loc"]) or "row"
            parts.append(f"{where}: {e['msg']}")
        return "; ".join(parts)
    return str(error)
