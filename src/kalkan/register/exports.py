"""Exports (CSV, GeoJSON, HXL-tagged CSV), streamed; imports of event files; the event-schema view.

Exports are generators of text chunks read in keyset batches inside one read transaction (one
consistent snapshot), so 100,000 incidents stream in constant memory and never time out the way
Ushahidi's and KoboToolbox's whole-file exports do. Every export honours the caller's access:
incidents they may not see are left out, and personal data is left out unless they ask for it and
their role may see it. HXL never carries personal data (``#contact`` is never exported).

Text cells that start with ``= + - @`` (or a tab or carriage return) are prefixed with ``'`` in
CSV and HXL, so a spreadsheet opens an attacker's ``=HYPERLINK(...)`` as text, not as a formula
(OWASP "CSV injection"); GeoJSON keeps the text verbatim.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kalkan.errors import AccessDenied, InputError
from kalkan.model import EVENT_COLUMNS, EVENT_HXL_TAGS
from kalkan.register import audit
from kalkan.register.auth import Actor, Role, can, share_is_sealed
from kalkan.register.context import sealer_of
from kalkan.register.db import Incident, Share, User
from kalkan.register.schemas import IncidentFilter, IncidentIn, validation_text

__all__ = [
    "EXPORT_COLUMNS",
    "FORMATS",
    "HXL_TAGS",
    "ImportResult",
    "events_frame",
    "export_chunks",
    "import_events",
]

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "geojson": "application/geo+json",
    "hxl": "text/csv; charset=utf-8",
}
_BATCH = 1000
CATEGORIES = ("killed", "injured", "missing", "abducted")

# Register columns after the event columns; victims by category, and by sex and children.
REGISTER_COLUMNS = [
    "incident_id",
    "client_id",
    "status",
    "lead_id",
    "restricted",
    "reporter",
    "received_at",
    "captured_at",
    "captured_latitude",
    "captured_longitude",
    *CATEGORIES,
    *[f"{c}_{s}" for c in CATEGORIES for s in ("f", "m", "children")],
]
PERSONAL_COLUMNS = ["source_name", "source_contact", "witnesses"]
EXPORT_COLUMNS = [*EVENT_COLUMNS, *REGISTER_COLUMNS]

# The event fields keep kalkan's own tags (kalkan.model.EVENT_HXL_TAGS, read back by kalkan.ingest);
# the register adds its own columns. An empty tag leaves the column out of the HXL export.
HXL_TAGS: dict[str, str] = {
    **EVENT_HXL_TAGS,
    "version": "",
    "incident_id": "#meta+incident_id",
    "client_id": "#meta+client_id",
    "status": "#status",
    "lead_id": "#meta+lead_id",
    "restricted": "",
    "reporter": "",
    "received_at": "#date+reported",
    "captured_at": "#date+captured",
    "captured_latitude": "",
    "captured_longitude": "",
    # killed in total is fatalities_best above; the other categories in total, then by sex and age
    **{c: f"#affected+{c}" for c in CATEGORIES if c != "killed"},
    **{f"{c}_{s}": f"#affected+{c}+{s}" for c in CATEGORIES for s in ("f", "m", "children")},
}
HXL_COLUMNS = [c for c in EXPORT_COLUMNS if HXL_TAGS.get(c)]


def _victim_counts(victims: list[dict[str, Any]]) -> dict[str, int | None]:
    counts: dict[str, int | None] = {}
    for c in CATEGORIES:
        rows = [v for v in victims if v.get("category") == c]
        counts[c] = sum(v["count"] for v in rows) if rows else None
        for s, key, value in (("f", "sex", "f"), ("m", "sex", "m"), ("children", "age_group", "children")):
            picked = [v["count"] for v in rows if v.get(key) == value]
            counts[f"{c}_{s}"] = sum(picked) if picked else None
    return counts


def _record(incident: Incident, reporter: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "event_id": f"{incident.source}:{incident.source_id or incident.client_id}",
        "source": incident.source,
        "source_id": incident.source_id or incident.client_id,
        "version": 1,
        "date_start": incident.date_start,
        "date_end": incident.date_end,
        "date_precision": incident.date_precision,
        "latitude": incident.latitude,
        "longitude": incident.longitude,
        "location_precision": incident.location_precision,
        "country_iso3": incident.country_iso3,
        "admin1": incident.admin1,
        "admin2": incident.admin2,
        "place_name": incident.place_name,
        "event_type": incident.event_type,
        "sub_event_type": incident.sub_event_type,
        "civilian_targeting": incident.civilian_targeting,
        "perpetrator": incident.perpetrator,
        "perpetrator_type": incident.perpetrator_type,
        "victim_group": incident.victim_group,
        "victim_type": incident.victim_type,
        "fatalities_best": incident.fatalities_best,
        "fatalities_low": incident.fatalities_low,
        "fatalities_high": incident.fatalities_high,
        "source_reliability": incident.source_reliability,
        "information_credibility": incident.information_credibility,
        "notes": incident.description,
        "incident_id": incident.id,
        "client_id": incident.client_id,
        "status": incident.status,
        "lead_id": incident.lead_id,
        "restricted": incident.restricted,
        "reporter": reporter,
        "received_at": incident.received_at,
        "captured_at": incident.captured_at,
        "captured_latitude": incident.captured_latitude,
        "captured_longitude": incident.captured_longitude,
    }
    record.update(_victim_counts(incident.victims or []))
    return record


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
    if isinstance(value, list | dict):
        return _cell(json.dumps(value, ensure_ascii=False))
    return str(value)


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def _batches(session: Session, actor: Actor, filters: IncidentFilter) -> Iterator[list[tuple[Incident, str]]]:
    from kalkan.register.service import _filtered

    last = 0
    while True:
        query = (
            _filtered(actor, filters)
            .add_columns(User.name)
            .join(User, User.id == Incident.reporter_id)
            .where(Incident.id > last)
            .order_by(Incident.id)
            .limit(_BATCH)
        )
        rows = [(r[0], r[1]) for r in session.execute(query)]
        if rows:
            yield rows
        if len(rows) < _BATCH:
            return
        last = rows[-1][0].id


def _personal_ids(session: Session, actor: Actor, ids: list[int]) -> set[int]:
    if actor.role is Role.ADMIN:
        return set(ids)
    roles = [actor.role.value] if actor.role is Role.INVESTIGATOR else []
    shared = sa.select(Share).where(
        Share.incident_id.in_(ids), sa.or_(Share.user_id == actor.id, Share.role.in_(roles))
    )
    own = sa.select(Incident.id).where(Incident.id.in_(ids), Incident.reporter_id == actor.id)
    if actor.role is Role.MONITOR:
        return set(session.scalars(own))
    sealed = {s.incident_id for s in session.scalars(shared) if share_is_sealed(session, s)}
    return sealed | set(session.scalars(own))


def _personal(session: Session, sealed: str, client_id: str) -> dict[str, Any]:
    data = sealer_of(session).open(sealed, client_id)
    return {
        "source_name": data.get("source_name"),
        "source_contact": data.get("source_contact"),
        "witnesses": data.get("witnesses") or [],
    }


def export_chunks(
    session: Session,
    actor: Actor,
    fmt: str,
    filters: IncidentFilter | None = None,
    *,
    include_personal: bool = False,
) -> Iterator[str]:
    """Text chunks of an export in ``fmt`` (``csv``, ``geojson`` or ``hxl``) of what ``actor`` may see.

    ``include_personal`` adds the witness and source columns for the incidents whose personal data
    the actor may see (blank for the others); it is ignored for HXL.
    """
    if fmt not in FORMATS:
        raise InputError(f"Export format {fmt!r} is unknown: use one of {', '.join(FORMATS)}.")
    if not can(actor, "export"):
        raise AccessDenied(
            f"The role {actor.role.value!r} may not export; analysts, investigators and admins may."
        )
    filters = (filters or IncidentFilter()).model_copy(update={"cursor": None})
    personal = include_personal and fmt != "hxl"
    columns = HXL_COLUMNS if fmt == "hxl" else EXPORT_COLUMNS + (PERSONAL_COLUMNS if personal else [])
    if fmt == "geojson":
        yield '{"type":"FeatureCollection","features":[\n'
    else:
        yield _csv_line(columns)
        if fmt == "hxl":
            yield _csv_line([HXL_TAGS[c] for c in columns])
    first = True
    for batch in _batches(session, actor, filters):
        allowed = (
            _personal_ids(session, actor, [i.id for i, _ in batch if i.personal_sealed])
            if personal
            else set()
        )
        parts = []
        for incident, reporter in batch:
            record = _record(incident, reporter)
            if personal:
                record.update(dict.fromkeys(PERSONAL_COLUMNS))
                if incident.id in allowed and incident.personal_sealed:
                    record.update(_personal(session, incident.personal_sealed, incident.client_id))
                    if incident.reporter_id != actor.id:
                        audit.note_personal(session, actor, incident.id)
            if fmt == "geojson":
                props = {k: _json_value(record[k]) for k in columns if k not in ("latitude", "longitude")}
                feature = {
                    "type": "Feature",
                    "id": incident.id,
                    "geometry": {"type": "Point", "coordinates": [incident.longitude, incident.latitude]},
                    "properties": props,
                }
                parts.append(("" if first else ",\n") + json.dumps(feature, ensure_ascii=False))
                first = False
            else:
                parts.append(_csv_line([_cell(record[c]) for c in columns]))
        yield "".join(parts)
    if fmt == "geojson":
        yield "\n]}\n"


# --- the event-schema view and imports ---------------------------------------------------------------


def events_frame(session: Session, actor: Actor, filters: IncidentFilter | None = None) -> Any:
    """The incidents ``actor`` may see as a DataFrame in the ``kalkan.model`` event columns.

    Only one report per linked group (the lead) and no rejected reports, so an incident seen by two
    monitors is counted once. ``source`` is ``register`` for reports filed here. This is what
    ``kalkan.store`` and the briefs read.
    """
    import pandas as pd

    from kalkan.model import EVENT_FIELDS, empty_events

    filters = (filters or IncidentFilter()).model_copy(update={"leads_only": True, "cursor": None})
    records: list[dict[str, Any]] = []
    for batch in _batches(session, actor, filters):
        records.extend(_record(i, r) for i, r in batch if i.status != "rejected")
    if not records:
        return empty_events()
    frame = pd.DataFrame.from_records(records, columns=EVENT_COLUMNS)
    for field in EVENT_FIELDS:
        frame[field.name] = frame[field.name].astype(cast(Any, field.pandas_dtype))
    return frame


class ImportResult(dict[str, Any]):
    """Counts of an import: ``created``, ``existing``, ``invalid`` and the first ``errors``."""


NAMESPACE = uuid.UUID("6f1c3a52-3b0e-4d7e-9a57-6b6b7a6c6b61")


def _opt(value: Any) -> Any:
    try:
        import pandas as pd

        if value is None or pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def import_events(session: Session, actor: Actor, events: Any) -> ImportResult:
    """File each row of an event table (``kalkan.model`` columns) as a report, idempotently.

    The ``client_id`` is a UUID5 of the row's ``event_id``, so importing the same file twice adds
    nothing. Ungraded rows get reliability ``F`` and credibility ``6`` ("cannot be judged").
    Rows that fail validation are counted and their reasons returned; nothing is dropped silently.
    """
    from pydantic import ValidationError

    from kalkan.register.service import create_incident

    if not can(actor, "import"):
        raise AccessDenied(f"The role {actor.role.value!r} may not import; analysts and admins may.")
    missing = [
        c
        for c in ("source", "source_id", "date_start", "latitude", "longitude", "event_type")
        if c not in events.columns
    ]
    if missing:
        from kalkan.errors import SchemaError

        raise SchemaError(
            f"The event table lacks column(s) {', '.join(missing)}: read the file with "
            "kalkan.ingest so it has the kalkan.model event columns."
        )
    result = ImportResult(created=0, existing=0, invalid=0, errors=[])
    for index, row in enumerate(events.to_dict("records")):
        source, source_id = str(row["source"]), str(row["source_id"])
        date_end = _opt(row.get("date_end"))
        payload = {
            "client_id": _client_id(source, source_id),
            "type": row["event_type"],
            "date_start": _as_date(row["date_start"]),
            "date_end": _as_date(date_end) if date_end is not None else None,
            "date_precision": _opt(row.get("date_precision")) or "day",
            "latitude": row["latitude"],
            "longitude": row["longitude"],
            "location_precision": _opt(row.get("location_precision")) or "exact",
            **{c: _opt(row.get(c)) for c in _IMPORTED_AS_IS},
            **{c: _int(row.get(c)) for c in ("fatalities_best", "fatalities_low", "fatalities_high")},
            "source_reliability": _opt(row.get("source_reliability")) or "F",
            "information_credibility": _opt(row.get("information_credibility")) or "6",
            "description": _opt(row.get("notes")) or f"Imported from {source} ({source_id}).",
            "restricted": False,
        }
        try:
            report = IncidentIn.model_validate({k: v for k, v in payload.items() if v is not None})
            _, created = create_incident(
                session, actor, report, source=source, source_id=source_id, reimport=True
            )
        except ValidationError as error:
            result["invalid"] += 1
            if len(result["errors"]) < 20:
                result["errors"].append(f"row {index + 1} ({source}:{source_id}): {validation_text(error)}")
            continue
        result["created" if created else "existing"] += 1
    return result


#: Event columns an import copies into the report unchanged (a missing value stays missing).
_IMPORTED_AS_IS = (
    "country_iso3",
    "admin1",
    "admin2",
    "place_name",
    "sub_event_type",
    "civilian_targeting",
    "perpetrator",
    "perpetrator_type",
    "victim_group",
    "victim_type",
)


def _client_id(source: str, source_id: str) -> uuid.UUID:
    """A register report keeps its own UUID (so re-importing an export finds it); any other event
    gets a UUID5 of its event id (so re-importing a file adds nothing)."""
    if source == "register":
        try:
            return uuid.UUID(source_id)
        except ValueError:
            pass
    return uuid.uuid5(NAMESPACE, f"{source}:{source_id}")


def _as_date(value: Any) -> Any:
    return value.date() if isinstance(value, datetime) else value


def _int(value: Any) -> int | None:
    value = _opt(value)
    return None if value is None else int(value)


def read_event_file(path: Any) -> tuple[Any, int, list[str]]:
    """Read an event file with ``kalkan.ingest`` (GED, ACLED, HXL or kalkan CSV / GeoJSON).

    Returns the events (``kalkan.model`` columns), the number of quarantined rows and the first
    reasons, so an import can say what it left out and why.
    """
    from kalkan.ingest import read_events

    result = read_events(path)
    quarantine = result.quarantine
    reasons = [f"line {row.line}: {row.reason}" for row in quarantine.head(10).itertuples()]
    return result.events, len(quarantine), reasons


def sync_to_store(
    session: Session, actor: Actor, store_path: Any = None, *, status: str | None = None
) -> Any:
    """Write the register's incidents into the analytic event store (``kalkan.store``).

    One event per incident (linked groups by their lead, rejected reports left out), in a
    temporary kalkan-format file that the store imports idempotently: unchanged incidents stay as
    they are, changed ones get a new version, and incidents that were rejected or linked under
    another lead since the last sync are marked deleted. Returns the store's ``ImportResult``.

    ``status`` (e.g. ``"verified"``, what ``kalkan register sync-store`` sends by default) keeps
    only incidents in that status; then an incident that leaves it is withdrawn at the next sync.
    Each event carries ``known_at``: the day its incident last entered ``status`` (the day it was
    received when it was filed so, or when ``status`` is None), so a brief "as of" a day reads only
    what had been verified by then.
    """
    import tempfile
    from pathlib import Path

    from kalkan.store import EventStore

    filters = IncidentFilter(status=cast(Any, status)) if status is not None else None
    frame = events_frame(session, actor, filters)
    frame["known_at"] = frame["event_id"].map(_known_days(session, status)).astype("str")
    with tempfile.TemporaryDirectory(prefix="kalkan-register-") as folder:
        path = Path(folder) / "register_events.csv"
        frame.to_csv(path, index=False, date_format="%Y-%m-%d")
        store = EventStore(store_path)
        return store.import_files([path], format="kalkan")[0]


def _known_days(session: Session, status: str | None) -> dict[str, str]:
    """Event id -> ISO day the incident became known in ``status`` (see :func:`sync_to_store`)."""
    from kalkan.register.db import StatusChange

    entered = (
        sa.select(StatusChange.incident_id, sa.func.max(StatusChange.at).label("at"))
        .where(StatusChange.to_status == (status or ""))
        .group_by(StatusChange.incident_id)
        .subquery()
    )
    query = sa.select(
        Incident.source, Incident.source_id, Incident.client_id, Incident.received_at, entered.c.at
    ).outerjoin(entered, entered.c.incident_id == Incident.id)
    days: dict[str, str] = {}
    for source, source_id, client_id, received, at in session.execute(query):
        when = at if at is not None else received
        days[f"{source}:{source_id or client_id}"] = _as_date(when).isoformat()
    return days
