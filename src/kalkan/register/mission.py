"""The mission's records beyond incident reports (issue 18): the service functions.

Displacement and return (sites with their population by group over time, return-monitoring visits),
assistance to the host police and the watch over it (joint patrols and co-location, detention visits)
and local dispute cases followed over time. Like :mod:`kalkan.register.service`, plain functions of a
session and the acting user, called by the API, the pages and the CLI, so the rules live here once:

- every record carries its device's ``client_id``: the same record re-sent by its reporter is the
  stored one (nothing filed twice); the same ``client_id`` with another body or from another user is a
  :class:`~kalkan.errors.Conflict` naming the stored record;
- personal data (people met on a return visit, detainees, the parties of a dispute) is sealed with
  the register's data key like witness data, and opened only for the record's reporter and admins;
  an admin's reading of it enters the audit chain (``open_personal``);
- detention visits are seen by their reporter and by analysts, investigators and admins only;
- every write appends one entry to the keyed audit chain holding the full row as written (personal
  data only as its ciphertext's hash), so ``kalkan register verify`` compares every row with it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kalkan.errors import AccessDenied, Conflict, InputError
from kalkan.register import audit
from kalkan.register.auth import Actor, Role, can, not_found, require, visible_clause
from kalkan.register.context import sealer_of
from kalkan.register.db import (
    Base,
    DetentionVisit,
    Dispute,
    DisputeStep,
    Incident,
    Patrol,
    RecordLink,
    ReturnVisit,
    Site,
    SiteFigure,
    User,
    utcnow,
)
from kalkan.register.mission_schemas import (
    OPEN_STATUSES,
    DetentionVisitIn,
    DetentionVisitOut,
    DisputeIn,
    DisputeOut,
    DisputeStepIn,
    DisputeStepOut,
    DisputeSummaryRow,
    FigureIn,
    FigureOut,
    PatrolIn,
    PatrolOut,
    PopulationRow,
    RecordPersonal,
    ReturnVisitIn,
    ReturnVisitOut,
    SiteIn,
    SiteOut,
)

__all__ = [
    "KINDS",
    "MODELS",
    "add_dispute_step",
    "add_figure",
    "create_detention_visit",
    "create_dispute",
    "create_patrol",
    "create_return_visit",
    "create_site",
    "dispute_summary",
    "get_detention_visit",
    "get_dispute",
    "get_patrol",
    "get_return_visit",
    "get_site",
    "list_detention_visits",
    "list_disputes",
    "list_patrols",
    "list_return_visits",
    "list_sites",
    "patrol_coverage",
    "population_as_of",
    "record_view",
    "reseal_records",
]

#: The audit chain's entity name of each mission table.
KINDS: dict[str, type[Base]] = {
    "site": Site,
    "site_figure": SiteFigure,
    "return_visit": ReturnVisit,
    "patrol": Patrol,
    "detention_visit": DetentionVisit,
    "dispute": Dispute,
    "dispute_step": DisputeStep,
}
MODELS = {model: kind for kind, model in KINDS.items()}
#: Records whose personal data is sealed.
SEALED = ("return_visit", "detention_visit", "dispute")
MAX_LIST = 500
R = TypeVar("R", bound=Base)


def _read_one(session: Session, actor: Actor, model: type[R], row_id: int, what: str) -> R:
    """Row ``row_id`` of ``model`` for a reader; ``what`` names it ("Return visit") in both refusals."""
    require(actor, "read", f"read {what.lower()}s")
    row = session.get(model, row_id)
    if row is None:
        raise not_found(f"{what} {row_id}")
    return row


def _context(kind: str, client_id: str) -> str:
    """What a record's sealed personal data is bound to (a ciphertext moved to another row won't open)."""
    return f"{kind}:{client_id}"


# --- the chain's view of a row ----------------------------------------------------------------------------


def record_view(row: Base) -> dict[str, Any]:
    """A mission row as the audit chain records it: every column, personal data only as the SHA-256 of
    its ciphertext, dates as ISO text."""
    view: dict[str, Any] = {}
    for column in row.__table__.columns:
        value = getattr(row, column.name)
        if column.name == "personal_sealed":
            view["personal_sha256"] = hashlib.sha256(value.encode()).hexdigest() if value else None
        else:
            view[column.name] = value.isoformat() if isinstance(value, date) else value
    return view


def view_digest(view: dict[str, Any]) -> str:
    """The SHA-256 of a row's view, as :func:`kalkan.register.audit.verify_records` compares it."""
    return hashlib.sha256(audit._canonical(view).encode()).hexdigest()


def _append(
    session: Session,
    actor: Actor,
    action: str,
    kind: str,
    row: Base,
    *,
    also: Sequence[Base] = (),
    incident_ids: list[int] | None = None,
) -> None:
    rows = [[MODELS[type(r)], record_view(r)] for r in (row, *also)]
    payload: dict[str, Any] = {"rows": rows}
    if incident_ids is not None:
        payload["incident_ids"] = incident_ids
    audit.append(session, actor, action, kind, cast(Any, row).id, payload)


# --- filing, idempotent by client_id ----------------------------------------------------------------


_NOT_BODY = frozenset(
    {"id", "reporter_id", "received_at", "updated_at", "personal_sealed", "status", "outcome"}
)


def _existing(
    session: Session,
    actor: Actor,
    model: type[R],
    client_id: str,
    values: dict[str, Any],
    personal: RecordPersonal | None,
    incident_ids: list[int] | None,
) -> R | None:
    """The stored record with this ``client_id`` when it is the same record re-sent by its reporter."""
    kind = MODELS[model]
    stored = session.scalar(sa.select(model).where(cast(Any, model).client_id == client_id))
    if stored is None:
        return None
    label = kind.replace("_", " ")
    if cast(Any, stored).reporter_id != actor.id:
        raise Conflict(
            f"client_id {client_id} is already {label} {cast(Any, stored).id}, filed by another user: "
            "generate a new UUID for a new record."
        )
    changed = sorted(
        k for k, v in values.items() if k not in _NOT_BODY and _same(getattr(stored, k)) != _same(v)
    )
    sealed = getattr(stored, "personal_sealed", None)
    if kind in SEALED:
        before = sealer_of(session).open(sealed, _context(kind, client_id)) if sealed else None
        if before != (personal.model_dump(exclude_none=True) if personal else None):
            changed.append("personal")
    if incident_ids is not None and sorted(set(incident_ids)) != _links(session, kind, cast(Any, stored).id):
        changed.append("incident_ids")
    if changed:
        raise Conflict(
            f"client_id {client_id} is already {label} {cast(Any, stored).id} with different content "
            f"({', '.join(changed[:5])}): file a correction as a new record with a new UUID."
        )
    return stored


def _same(value: Any) -> Any:
    """A value as comparable between a stored row and a new one (floats from the database, UTC times)."""
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _links(session: Session, kind: str, record_id: int) -> list[int]:
    return sorted(
        session.scalars(
            sa.select(RecordLink.incident_id).where(
                RecordLink.record_kind == kind, RecordLink.record_id == record_id
            )
        )
    )


def _check_incidents(session: Session, actor: Actor, ids: list[int]) -> list[int]:
    """The incident ids, each one the actor may see (else 404, the same for missing and hidden)."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    seen = set(session.scalars(sa.select(Incident.id).where(Incident.id.in_(wanted), visible_clause(actor))))
    for incident_id in wanted:
        if incident_id not in seen:
            raise not_found(f"Incident {incident_id}")
    return wanted


def _file(
    session: Session,
    actor: Actor,
    model: type[R],
    values: dict[str, Any],
    *,
    personal: RecordPersonal | None = None,
    incident_ids: list[int] | None = None,
) -> tuple[R, bool]:
    """Store a new record (or find the same one re-sent); link its incidents; append it to the chain."""
    require(actor, "create", "file records")
    if actor.id is None:
        raise InputError("A record needs a reporter: act as a registered user (kalkan users add NAME ...).")
    kind = MODELS[model]
    session.flush()
    existing = _existing(session, actor, model, values["client_id"], values, personal, incident_ids)
    if existing is not None:
        return existing, False
    linked = _check_incidents(session, actor, incident_ids or []) if incident_ids is not None else None
    now = utcnow()
    row = model(**values, reporter_id=actor.id, received_at=now, updated_at=now)
    if kind in SEALED:
        plain = personal.model_dump(exclude_none=True) if personal and personal.people else None
        cast(Any, row).personal_sealed = (
            sealer_of(session).seal(plain, _context(kind, values["client_id"])) if plain else None
        )
    session.add(row)
    session.flush()
    for incident_id in linked or []:
        session.add(RecordLink(record_kind=kind, record_id=cast(Any, row).id, incident_id=incident_id))
    session.flush()
    _append(session, actor, "create", kind, row, incident_ids=linked)
    return row, True


# --- reading ------------------------------------------------------------------------------------------


def _names(session: Session, ids: Sequence[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    return dict(cast(Any, session.execute(sa.select(User.id, User.name).where(User.id.in_(wanted))).all()))


def _columns(row: Base, skip: tuple[str, ...] = ("personal_sealed", "reporter_id")) -> dict[str, Any]:
    return {c.name: getattr(row, c.name) for c in row.__table__.columns if c.name not in skip}


def _personal(session: Session, actor: Actor, kind: str, row: Any) -> tuple[RecordPersonal | None, bool]:
    """The record's personal data if ``actor`` may see it (its reporter, admins), and whether it was
    held back. An admin's reading is noted for the audit chain."""
    sealed = row.personal_sealed
    if not sealed:
        return None, False
    if actor.role is not Role.ADMIN and row.reporter_id != actor.id:
        return None, True
    data = RecordPersonal.model_validate(sealer_of(session).open(sealed, _context(kind, row.client_id)))
    if row.reporter_id != actor.id:
        audit.note_record_personal(session, actor, kind, row.id)
    return data, False


Out = TypeVar("Out", ReturnVisitOut, DetentionVisitOut, DisputeOut)


def _sealed_out(
    session: Session,
    actor: Actor,
    cls: type[Out],
    row: Any,
    plain: RecordPersonal | None,
    names: dict[int, str] | None = None,
    **extra: Any,
) -> Out:
    """A record with sealed personal data as ``actor`` may see it (``plain``: what its reporter just
    sent, shown back without decrypting)."""
    kind = MODELS[type(row)]
    personal, redacted = (plain, False) if plain is not None else _personal(session, actor, kind, row)
    names = names if names is not None else _names(session, [row.reporter_id])
    return cls(
        **_columns(row),
        reporter=names.get(row.reporter_id, "?"),
        incident_ids=_links(session, kind, row.id),
        personal=personal,
        personal_redacted=redacted,
        **extra,
    )


def _page(session: Session, model: type[R], query: sa.Select[Any], cursor: int | None, limit: int) -> list[R]:
    if not 1 <= limit <= MAX_LIST:
        raise InputError(f"limit must be 1 to {MAX_LIST}; got {limit}.")
    if cursor is not None:
        query = query.where(cast(Any, model).id < cursor)
    return list(session.scalars(query.order_by(cast(Any, model).id.desc()).limit(limit)))


def _between(column: Any, date_from: date | None, date_to: date | None) -> list[Any]:
    out = []
    if date_from is not None:
        out.append(column >= date_from)
    if date_to is not None:
        out.append(column <= date_to)
    return out


# --- sites and population ------------------------------------------------------------------------------


def create_site(session: Session, actor: Actor, site: SiteIn) -> tuple[SiteOut, bool]:
    """File a site (camp, collective centre, border crossing, return area); (site, created)."""
    values = site.model_dump()
    values["client_id"] = str(site.client_id)
    row, created = _file(session, actor, Site, values)
    return _site_out(session, row), created


def _figure_out(row: SiteFigure, names: dict[int, str]) -> FigureOut:
    return FigureOut(**_columns(row), reporter=names.get(row.reporter_id, "?"))


def _site_out(session: Session, row: Site) -> SiteOut:
    figures = list(
        session.scalars(
            sa.select(SiteFigure)
            .where(SiteFigure.site_id == row.id)
            .order_by(SiteFigure.as_of, SiteFigure.id)
        )
    )
    names = _names(session, [row.reporter_id, *(f.reporter_id for f in figures)])
    return SiteOut(
        **_columns(row),
        reporter=names.get(row.reporter_id, "?"),
        figures=[_figure_out(f, names) for f in figures],
    )


def get_site(session: Session, actor: Actor, site_id: int) -> SiteOut:
    """One site with its figures over time."""
    row = _read_one(session, actor, Site, site_id, "Site")
    return _site_out(session, row)


def list_sites(
    session: Session, actor: Actor, *, kind: str | None = None, cursor: int | None = None, limit: int = 100
) -> list[SiteOut]:
    """Sites, newest first, each with its figures."""
    require(actor, "read", "read sites")
    query = sa.select(Site)
    if kind is not None:
        query = query.where(Site.kind == kind)
    return [_site_out(session, row) for row in _page(session, Site, query, cursor, limit)]


def add_figure(session: Session, actor: Actor, figure: FigureIn) -> tuple[FigureOut, bool]:
    """File one population figure of a site (a group, a date, a source); (figure, created)."""
    if figure.site_id is not None:
        site = session.get(Site, figure.site_id)
    else:
        site = session.scalar(sa.select(Site).where(Site.client_id == str(figure.site_client_id)))
    if site is None:
        which = figure.site_id if figure.site_id is not None else f"with client_id {figure.site_client_id}"
        raise not_found(f"Site {which}")
    values = figure.model_dump(exclude={"site_client_id"})
    values.update(client_id=str(figure.client_id), site_id=site.id)
    row, created = _file(session, actor, SiteFigure, values)
    return _figure_out(row, _names(session, [row.reporter_id])), created


def population_as_of(
    session: Session, actor: Actor, when: date, *, kind: str | None = None
) -> list[PopulationRow]:
    """Every site's people by group as of ``when``: per site and group the newest figure dated on or
    before ``when``, with the one before it, so a brief can show where people are and the change.

    A figure counts from the day it was published (``known_on``, else its own date), not the day it
    was entered: a figure filed years later about a day of the crisis, and published that day, counts
    from that day, and a brief as of a day uses only figures known by then. Sites with no figure by
    then are left out.
    """
    require(actor, "read", "read sites")
    query = (
        sa.select(SiteFigure, Site)
        .join(Site, Site.id == SiteFigure.site_id)
        .where(SiteFigure.as_of <= when, sa.func.coalesce(SiteFigure.known_on, SiteFigure.as_of) <= when)
        .order_by(SiteFigure.site_id, SiteFigure.group, SiteFigure.as_of, SiteFigure.id)
    )
    if kind is not None:
        query = query.where(Site.kind == kind)
    series: dict[tuple[int, str], list[tuple[SiteFigure, Site]]] = defaultdict(list)
    for figure, site in session.execute(query):
        series[(site.id, figure.group)].append((figure, site))
    out = []
    for (_site_id, group), rows in sorted(series.items(), key=lambda item: (item[1][-1][1].name, item[0][1])):
        figure, site = rows[-1]
        before = next((f for f, _s in reversed(rows[:-1]) if f.as_of < figure.as_of), None)
        out.append(
            PopulationRow(
                site_id=site.id,
                site=site.name,
                kind=site.kind,
                latitude=site.latitude,
                longitude=site.longitude,
                country_iso3=site.country_iso3,
                admin1=site.admin1,
                admin2=site.admin2,
                group=group,
                persons=figure.persons,
                households=figure.households,
                figure_date=figure.as_of,
                source=figure.source,
                source_url=figure.source_url,
                previous_persons=before.persons if before else None,
                previous_date=before.as_of if before else None,
            )
        )
    return out


# --- return-monitoring visits ------------------------------------------------------------------------


def create_return_visit(session: Session, actor: Actor, visit: ReturnVisitIn) -> tuple[ReturnVisitOut, bool]:
    """File a return-monitoring visit, linked to the protection incidents it found; (visit, created)."""
    if visit.site_id is not None and session.get(Site, visit.site_id) is None:
        raise not_found(f"Site {visit.site_id}")
    values = visit.model_dump(exclude={"personal", "incident_ids"})
    values["client_id"] = str(visit.client_id)
    row, created = _file(
        session, actor, ReturnVisit, values, personal=visit.personal, incident_ids=visit.incident_ids
    )
    return _return_out(session, actor, row, plain=visit.personal if created else None), created


def _return_out(
    session: Session, actor: Actor, row: ReturnVisit, plain: RecordPersonal | None = None
) -> ReturnVisitOut:
    return _sealed_out(session, actor, ReturnVisitOut, row, plain)


def get_return_visit(session: Session, actor: Actor, visit_id: int) -> ReturnVisitOut:
    """One return-monitoring visit."""
    row = _read_one(session, actor, ReturnVisit, visit_id, "Return visit")
    return _return_out(session, actor, row)


def list_return_visits(
    session: Session,
    actor: Actor,
    *,
    site_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    cursor: int | None = None,
    limit: int = 100,
) -> list[ReturnVisitOut]:
    """Return-monitoring visits, newest first."""
    require(actor, "read", "read return visits")
    query = sa.select(ReturnVisit).where(*_between(ReturnVisit.visited_on, date_from, date_to))
    if site_id is not None:
        query = query.where(ReturnVisit.site_id == site_id)
    return [_return_out(session, actor, r) for r in _page(session, ReturnVisit, query, cursor, limit)]


# --- joint patrols and co-location -------------------------------------------------------------------


def create_patrol(session: Session, actor: Actor, patrol: PatrolIn) -> tuple[PatrolOut, bool]:
    """File a joint patrol or co-location shift; (patrol, created)."""
    values = patrol.model_dump()
    values["client_id"] = str(patrol.client_id)
    row, created = _file(session, actor, Patrol, values)
    return _patrol_out(row, _names(session, [row.reporter_id])), created


def _patrol_out(row: Patrol, names: dict[int, str]) -> PatrolOut:
    return PatrolOut(**_columns(row), reporter=names.get(row.reporter_id, "?"))


def _day_start(day: date) -> datetime:
    from datetime import UTC

    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def get_patrol(session: Session, actor: Actor, patrol_id: int) -> PatrolOut:
    """One joint patrol or co-location shift."""
    row = _read_one(session, actor, Patrol, patrol_id, "Patrol")
    return _patrol_out(row, _names(session, [row.reporter_id]))


def list_patrols(
    session: Session,
    actor: Actor,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    cursor: int | None = None,
    limit: int = 100,
) -> list[PatrolOut]:
    """Joint patrols and co-location shifts, newest first (by filing)."""
    require(actor, "read", "read patrols")
    query = sa.select(Patrol)
    if date_from is not None:
        query = query.where(Patrol.started_at >= _day_start(date_from))
    if date_to is not None:
        query = query.where(Patrol.started_at < _day_start(date_to + timedelta(days=1)))
    rows = _page(session, Patrol, query, cursor, limit)
    names = _names(session, [r.reporter_id for r in rows])
    return [_patrol_out(r, names) for r in rows]


def patrol_coverage(
    session: Session,
    actor: Actor,
    *,
    date_from: date,
    date_to: date,
    days: int = 1,
    security_forces: bool | None = None,
) -> dict[str, Any]:
    """Which incidents of a period happened where no patrol was: an incident is *covered* when a
    joint patrol or co-location shift within ``days`` of its date had it inside its radius.

    Counts one report per incident (group leads), leaves rejected reports out, and uses only the
    incidents the actor may see. Returns counts and the ids of uncovered incidents (at most 500).
    """
    require(actor, "read_all", "see patrol coverage")
    if date_to < date_from or (date_to - date_from).days > 3660 or not 0 <= days <= 30:
        raise InputError(
            f"Coverage needs date_from <= date_to within ten years and 0 <= days <= 30; got "
            f"{date_from}, {date_to}, {days}."
        )
    query = sa.select(Incident.id, Incident.latitude, Incident.longitude, Incident.date_start).where(
        visible_clause(actor),
        Incident.lead_id.is_(None),
        Incident.status != "rejected",
        Incident.date_start >= date_from,
        Incident.date_start <= date_to,
    )
    if security_forces is not None:
        query = query.where(_security_clause(security_forces))
    incidents = session.execute(query.order_by(Incident.id)).all()
    patrols = session.execute(
        sa.select(
            Patrol.latitude, Patrol.longitude, Patrol.radius_km, Patrol.started_at, Patrol.ended_at
        ).where(
            Patrol.started_at >= _day_start(date_from - timedelta(days=days)),
            Patrol.started_at < _day_start(date_to + timedelta(days=days + 1)),
        )
    ).all()
    from kalkan.distance import haversine_km

    uncovered = []
    for incident in incidents:
        day = incident.date_start
        hit = False
        for p in patrols:
            first = p.started_at.date()
            last = (p.ended_at or p.started_at).date()
            if (first - timedelta(days=days)) <= day <= (last + timedelta(days=days)) and haversine_km(
                incident.latitude, incident.longitude, p.latitude, p.longitude
            ) <= p.radius_km:
                hit = True
                break
        if not hit:
            uncovered.append(incident.id)
    return {
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "days": days,
        "incidents": len(incidents),
        "covered": len(incidents) - len(uncovered),
        "uncovered": len(uncovered),
        "patrols": len(patrols),
        "uncovered_ids": uncovered[:500],
    }


def _security_clause(attributed: bool) -> sa.ColumnElement[bool]:
    from kalkan.register.service import _security_forces

    return _security_forces(attributed)


# --- detention visits -------------------------------------------------------------------------------


def _may_see_detention(actor: Actor, row: DetentionVisit) -> bool:
    return can(actor, "read_all") or row.reporter_id == actor.id


def create_detention_visit(
    session: Session, actor: Actor, visit: DetentionVisitIn
) -> tuple[DetentionVisitOut, bool]:
    """File a detention visit, linked to incidents (e.g. the arrests it followed up); (visit, created)."""
    values = visit.model_dump(exclude={"personal", "incident_ids"})
    values["client_id"] = str(visit.client_id)
    row, created = _file(
        session, actor, DetentionVisit, values, personal=visit.personal, incident_ids=visit.incident_ids
    )
    return _detention_out(session, actor, row, plain=visit.personal if created else None), created


def _detention_out(
    session: Session, actor: Actor, row: DetentionVisit, plain: RecordPersonal | None = None
) -> DetentionVisitOut:
    return _sealed_out(session, actor, DetentionVisitOut, row, plain)


def get_detention_visit(session: Session, actor: Actor, visit_id: int) -> DetentionVisitOut:
    """One detention visit (its reporter, analysts, investigators and admins)."""
    row = _read_one(session, actor, DetentionVisit, visit_id, "Detention visit")
    if not _may_see_detention(actor, row):
        raise not_found(f"Detention visit {visit_id}")
    return _detention_out(session, actor, row)


def list_detention_visits(
    session: Session,
    actor: Actor,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    cursor: int | None = None,
    limit: int = 100,
) -> list[DetentionVisitOut]:
    """Detention visits the actor may see, newest first (a monitor sees the visits they filed)."""
    require(actor, "read", "read detention visits")
    query = sa.select(DetentionVisit).where(*_between(DetentionVisit.visited_on, date_from, date_to))
    if not can(actor, "read_all"):
        query = query.where(DetentionVisit.reporter_id == actor.id)
    return [_detention_out(session, actor, r) for r in _page(session, DetentionVisit, query, cursor, limit)]


# --- disputes -----------------------------------------------------------------------------------------


def create_dispute(session: Session, actor: Actor, dispute: DisputeIn) -> tuple[DisputeOut, bool]:
    """File a dispute case (it starts open); (dispute, created)."""
    values = dispute.model_dump(exclude={"personal", "incident_ids"})
    values["client_id"] = str(dispute.client_id)
    values["status"], values["outcome"] = "open", ""
    row, created = _file(
        session, actor, Dispute, values, personal=dispute.personal, incident_ids=dispute.incident_ids
    )
    return _dispute_out(session, actor, row, plain=dispute.personal if created else None), created


def _dispute_out(
    session: Session, actor: Actor, row: Dispute, plain: RecordPersonal | None = None
) -> DisputeOut:
    steps = list(
        session.scalars(
            sa.select(DisputeStep)
            .where(DisputeStep.dispute_id == row.id)
            .order_by(DisputeStep.on, DisputeStep.id)
        )
    )
    names = _names(session, [row.reporter_id, *(s.reporter_id for s in steps)])
    skip = ("reporter_id", "dispute_id", "updated_at")
    return _sealed_out(
        session,
        actor,
        DisputeOut,
        row,
        plain,
        names,
        steps=[DisputeStepOut(**_columns(s, skip), by=names.get(s.reporter_id, "?")) for s in steps],
    )


def get_dispute(session: Session, actor: Actor, dispute_id: int) -> DisputeOut:
    """One dispute with its steps."""
    row = _read_one(session, actor, Dispute, dispute_id, "Dispute")
    return _dispute_out(session, actor, row)


def list_disputes(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    kind: str | None = None,
    area: str | None = None,
    cursor: int | None = None,
    limit: int = 100,
) -> list[DisputeOut]:
    """Dispute cases, newest first, optionally of one status, kind or district (admin2)."""
    require(actor, "read", "read disputes")
    query = sa.select(Dispute)
    if status is not None:
        query = query.where(Dispute.status == status)
    if kind is not None:
        query = query.where(Dispute.kind == kind)
    if area is not None:
        query = query.where(sa.or_(Dispute.admin2 == area, Dispute.admin1 == area))
    return [_dispute_out(session, actor, r) for r in _page(session, Dispute, query, cursor, limit)]


def add_dispute_step(
    session: Session, actor: Actor, dispute_id: int, step: DisputeStepIn
) -> tuple[DisputeOut, bool]:
    """Record the dispute's next step (its reporter, analysts and admins); idempotent by ``client_id``.

    The dispute takes the status of its latest step by date; its mediator and outcome follow the
    step when the step names them.
    """
    require(actor, "read", "follow disputes")
    dispute = session.get(Dispute, dispute_id)
    if dispute is None:
        raise not_found(f"Dispute {dispute_id}")
    if not can(actor, "set_status") and dispute.reporter_id != actor.id:
        raise AccessDenied(
            "Only the monitor who filed a dispute, analysts and admins may record its steps: ask one of them."
        )
    if step.on < dispute.opened_on:
        raise InputError(f"The step's date {step.on} is before the dispute was opened ({dispute.opened_on}).")
    client_id = str(step.client_id)
    found = session.scalar(sa.select(DisputeStep).where(DisputeStep.client_id == client_id))
    if found is not None:
        same = (
            found.reporter_id == actor.id
            and found.dispute_id == dispute.id
            and (found.on, found.to_status, found.note, found.mediator, found.outcome)
            == (step.on, step.status, step.note, step.mediator, step.outcome)
        )
        if not same:
            raise Conflict(
                f"client_id {client_id} is already step {found.id} of dispute {found.dispute_id} with other "
                "content or by another user: use a new UUID for a new step."
            )
        return _dispute_out(session, actor, dispute), False
    latest = session.scalar(
        sa.select(DisputeStep)
        .where(DisputeStep.dispute_id == dispute.id)
        .order_by(DisputeStep.on.desc(), DisputeStep.id.desc())
        .limit(1)
    )
    if latest is not None and step.on < latest.on:
        raise InputError(
            f"The dispute's latest step is of {latest.on}; a step of {step.on} cannot come after it: "
            "give the date it happened, on or after the latest."
        )
    now = utcnow()
    row = DisputeStep(
        client_id=client_id,
        dispute_id=dispute.id,
        on=step.on,
        from_status=dispute.status,
        to_status=step.status,
        note=step.note,
        mediator=step.mediator,
        outcome=step.outcome,
        reporter_id=actor.id,
        received_at=now,
        updated_at=now,
    )
    session.add(row)
    dispute.status, dispute.updated_at = step.status, now
    if step.mediator:
        dispute.mediator = step.mediator
    if step.outcome:
        dispute.outcome = step.outcome
    session.flush()
    _append(session, actor, "step", "dispute", dispute, also=[row])
    return _dispute_out(session, actor, dispute), True


def _area_of(row: Any, by: str) -> str:
    value = row.admin2 if by == "admin2" else row.admin1
    return value or row.place_name or "unknown"


def dispute_summary(
    session: Session, actor: Actor, *, as_of: date, by: str = "admin2", days: int = 7
) -> list[DisputeSummaryRow]:
    """Dispute cases by area as they stood on ``as_of``: open (open, in mediation, agreement),
    resolved, closed unresolved (unresolved or referred) and opened in the ``days`` before it.

    A case's status on a day is the status of its latest step dated on or before that day (open
    before its first step); cases opened after ``as_of`` are left out. Areas sorted by open cases.
    """
    require(actor, "read", "read disputes")
    if by not in ("admin1", "admin2"):
        raise InputError(f"Summarise by admin1 or admin2, not {by!r}.")
    if not 0 <= days <= 366:
        raise InputError(f"days must be 0 to 366; got {days}.")
    disputes = session.execute(
        sa.select(Dispute.id, Dispute.opened_on, Dispute.admin1, Dispute.admin2, Dispute.place_name).where(
            Dispute.opened_on <= as_of
        )
    ).all()
    status: dict[int, str] = {}
    for dispute_id, to_status in session.execute(
        sa.select(DisputeStep.dispute_id, DisputeStep.to_status)
        .where(DisputeStep.on <= as_of)
        .order_by(DisputeStep.on, DisputeStep.id)
    ):
        status[dispute_id] = to_status
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    recent = as_of - timedelta(days=days)
    for row in disputes:
        area = counts[_area_of(row, by)]
        now = status.get(row.id, "open")
        key = "open" if now in OPEN_STATUSES else "resolved" if now == "resolved" else "closed_unresolved"
        area[key] += 1
        area["total"] += 1
        if row.opened_on > recent:
            area["opened_recently"] += 1
    rows = [
        DisputeSummaryRow(
            area=name,
            open=c["open"],
            resolved=c["resolved"],
            closed_unresolved=c["closed_unresolved"],
            opened_recently=c["opened_recently"],
            total=c["total"],
        )
        for name, c in counts.items()
    ]
    return sorted(rows, key=lambda r: (-r.open, -r.total, r.area))


# --- key rotation ---------------------------------------------------------------------------------------


def reseal_records(session: Session, actor: Actor, old: Any, new: Any) -> int:
    """Re-seal every mission record's personal data from sealer ``old`` to ``new`` (key rotation);
    each re-sealed row enters the chain again with its new ciphertext's hash. Returns how many."""
    count = 0
    for kind in SEALED:
        model = cast(Any, KINDS[kind])
        for row in session.scalars(
            sa.select(model).where(model.personal_sealed.is_not(None)).order_by(model.id)
        ):
            context = _context(kind, row.client_id)
            row.personal_sealed = new.seal(old.open(row.personal_sealed, context), context)
            session.flush()
            _append(session, actor, "reseal", kind, row)
            count += 1
    return count
