"""The register's service layer: plain functions taking a session and the acting user.

The API (``kalkan.register.app``), the web pages (``kalkan.register.pages``) and the CLI all call
these and nothing below them, so every rule (who may see what, the status workflow, idempotency,
the audit chain) is enforced in one place. Sessions come from :class:`kalkan.register.Register`
(``with register.write() as s: create_incident(s, actor, report)``); write functions must run in a
``write()`` session, which commits when the block ends.

Errors: :class:`NotFound` (404; also for incidents the actor may not see, so their existence does
not leak), :class:`AccessDenied` (403, the role lacks the right), :class:`Conflict` (409, e.g. a
status change to the current status) and :class:`kalkan.errors.InputError` (422) for bad values.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any, BinaryIO, cast

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from kalkan.errors import AccessDenied, Conflict, InputError, IntegrityError, NotFound
from kalkan.register import audit
from kalkan.register.auth import (
    Actor,
    Role,
    can,
    may_see_personal,
    normalise_name,
    not_found,
    require,
    share_is_sealed,
    visible_clause,
)
from kalkan.register.context import evidence_of, sealer_of
from kalkan.register.db import Attachment, AuditEntry, Incident, Link, Share, StatusChange, User, utcnow
from kalkan.register.dedup import candidate_pairs
from kalkan.register.schemas import (
    AttachmentOut,
    BulkItemResult,
    BulkResult,
    DuplicateCandidate,
    IncidentDetail,
    IncidentFilter,
    IncidentIn,
    IncidentOut,
    IncidentPage,
    PersonalData,
    Status,
    StatusChangeOut,
    Victim,
    validation_text,
)

__all__ = [
    "MAX_BULK",
    "TRANSITIONS",
    "AccessDenied",
    "Conflict",
    "NotFound",
    "attach_evidence",
    "audit_entries",
    "bulk_create",
    "change_status",
    "count_incidents",
    "custody",
    "create_incident",
    "duplicate_candidates",
    "evidence_file",
    "get_incident",
    "link_incidents",
    "record_evidence_access",
    "list_incidents",
    "map_rows",
    "share_incident",
    "to_out",
]

MAX_BULK = 500

TRANSITIONS: dict[str, frozenset[str]] = {
    # from -> allowed to; every change needs a reason. A rejected report can be reopened.
    "reported": frozenset({"corroborated", "verified", "rejected"}),
    "corroborated": frozenset({"verified", "rejected"}),
    "verified": frozenset({"rejected"}),
    "rejected": frozenset({"reported"}),
}

# Best first. F ("cannot be judged") ranks above E ("unreliable"), and 6 above 5: no basis for a
# judgement is better than a record of being wrong.
_RELIABILITY_RANK = {g: i for i, g in enumerate("ABCDFE")}
_CREDIBILITY_RANK = {g: i for i, g in enumerate("123465")}
_STATUS_RANK = {"verified": 0, "corroborated": 1, "reported": 2, "rejected": 3}


# NotFound, AccessDenied and Conflict live in kalkan.errors (one error tree); kept importable here.


def _reporter_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {
        row[0]: row[1] for row in session.execute(sa.select(User.id, User.name).where(User.id.in_(wanted)))
    }


def _shared_ids(session: Session, actor: Actor, ids: Sequence[int]) -> set[int]:
    """Among ``ids``, the incidents whose personal data ``actor`` may see through a share."""
    if actor.role in (Role.ADMIN, Role.MONITOR) or not ids:
        return set()
    roles = [actor.role.value] if actor.role is Role.INVESTIGATOR else []
    query = sa.select(Share).where(
        Share.incident_id.in_(ids), sa.or_(Share.user_id == actor.id, Share.role.in_(roles))
    )
    return {share.incident_id for share in session.scalars(query) if share_is_sealed(session, share)}


def _sees_personal(actor: Actor, incident: Incident, shared: set[int]) -> bool:
    return (
        actor.role is Role.ADMIN
        or (actor.id is not None and incident.reporter_id == actor.id)
        or incident.id in shared
    )


def to_out(
    session: Session,
    incident: Incident,
    *,
    reporter: str,
    personal: bool,
    cls: type[IncidentOut] = IncidentOut,
    plain: PersonalData | None = None,
    **extra: Any,
) -> IncidentOut:
    """The incident as the API shows it; personal data opened only when ``personal`` is true
    (``plain`` is the personal data the caller just sent, shown to them without decrypting it)."""
    data = plain
    if plain is not None:
        personal = True
    elif personal and incident.personal_sealed:
        data = PersonalData.model_validate(
            sealer_of(session).open(incident.personal_sealed, incident.client_id)
        )
    return cls(
        **extra,
        id=incident.id,
        client_id=incident.client_id,
        type=incident.event_type,
        date_start=incident.date_start,
        date_end=incident.date_end,
        date_precision=incident.date_precision,
        latitude=incident.latitude,
        longitude=incident.longitude,
        location_precision=incident.location_precision,
        country_iso3=incident.country_iso3,
        admin1=incident.admin1,
        admin2=incident.admin2,
        place_name=incident.place_name,
        sub_event_type=incident.sub_event_type,
        civilian_targeting=incident.civilian_targeting,
        perpetrator=incident.perpetrator,
        perpetrator_type=incident.perpetrator_type,
        victim_group=incident.victim_group,
        victim_type=incident.victim_type,
        fatalities_best=incident.fatalities_best,
        fatalities_low=incident.fatalities_low,
        fatalities_high=incident.fatalities_high,
        victims=[Victim.model_validate(v) for v in incident.victims or []],
        source_reliability=incident.source_reliability,
        information_credibility=incident.information_credibility,
        description=incident.description,
        status=cast(Status, incident.status),
        restricted=incident.restricted,
        reporter=reporter,
        source=incident.source,
        source_id=incident.source_id,
        captured_at=incident.captured_at,
        captured_latitude=incident.captured_latitude,
        captured_longitude=incident.captured_longitude,
        received_at=incident.received_at,
        updated_at=incident.updated_at,
        lead_id=incident.lead_id,
        personal=data,
        personal_redacted=bool(incident.personal_sealed) and not personal,
    )


def _visible(session: Session, actor: Actor, incident_id: int) -> Incident:
    incident = session.scalar(sa.select(Incident).where(Incident.id == incident_id, visible_clause(actor)))
    if incident is None:
        raise not_found(f"Incident {incident_id}")
    return incident


def _audit_view(incident: Incident) -> dict[str, Any]:
    return audit.incident_view(incident)


# --- create -----------------------------------------------------------------------------------------


def _new_values(
    session: Session,
    actor: Actor,
    report: IncidentIn,
    *,
    source: str = "register",
    source_id: str | None = None,
) -> dict[str, Any]:
    """Every column of a new incident's row but its id."""
    if actor.id is None:
        raise InputError(
            "A report needs a reporter: act as a registered user (kalkan users add NAME --role ...)."
        )
    now = utcnow()
    client_id = str(report.client_id)
    killed = report.killed()
    personal = report.personal.model_dump(exclude_none=True) if report.personal else None
    return dict(
        client_id=client_id,
        event_type=report.type.value,
        sub_event_type=report.sub_event_type,
        date_start=report.date_start,
        date_end=report.date_end or report.date_start,
        date_precision=report.date_precision.value,
        latitude=report.latitude,
        longitude=report.longitude,
        location_precision=report.location_precision.value,
        country_iso3=report.country_iso3,
        admin1=report.admin1,
        admin2=report.admin2,
        place_name=report.place_name,
        civilian_targeting=report.civilian_targeting,
        perpetrator=report.perpetrator,
        perpetrator_type=report.perpetrator_type.value if report.perpetrator_type else None,
        victim_group=report.victim_group,
        victim_type=report.victim_type.value if report.victim_type else None,
        fatalities_best=report.fatalities_best if report.fatalities_best is not None else (killed or None),
        fatalities_low=report.fatalities_low,
        fatalities_high=report.fatalities_high,
        victims=[v.model_dump() for v in report.victims],
        source_reliability=report.source_reliability.value,
        information_credibility=report.information_credibility.value,
        description=report.description,
        status="reported",
        restricted=report.restricted,
        reporter_id=actor.id,
        personal_sealed=sealer_of(session).seal(personal, client_id) if personal else None,
        captured_at=report.captured_at,
        captured_latitude=report.captured_latitude,
        captured_longitude=report.captured_longitude,
        received_at=now,
        updated_at=now,
        lead_id=None,
        source=source,
        source_id=source_id or client_id,
    )


# Built once (constructing SQLAlchemy statements costs more than running them on SQLite).
_INSERT_INCIDENT = cast(sa.Table, Incident.__table__).insert()
_BY_CLIENT_ID = sa.select(Incident.id, Incident.reporter_id).where(Incident.client_id == sa.bindparam("cid"))
# Set when a report is filed, or changed later by entries of their own: not part of "the same body".
_NOT_BODY = frozenset({"received_at", "updated_at", "personal_sealed", "status", "lead_id", "reporter_id"})


def _existing(
    session: Session, actor: Actor, report: IncidentIn, *, reimport: bool = False, **origin: Any
) -> Incident | None:
    """The stored report with this ``client_id`` when it is the same report re-sent by its reporter.

    The same ``client_id`` from another user, or with a different body, is a conflict (409) that names
    the stored report: nothing is dropped silently, and nothing of the stored report is shown.
    """
    client_id = str(report.client_id)
    found = session.connection().execute(_BY_CLIENT_ID, {"cid": client_id}).first()
    if found is None:
        return None
    if reimport:  # an import of a file seen before: counted as "existing", never changed
        return session.get(Incident, found.id)
    if found.reporter_id != actor.id:
        raise Conflict(
            f"client_id {client_id} is already report {found.id}, filed by another user: "
            "generate a new UUID for a new report."
        )
    incident = session.get(Incident, found.id)
    assert incident is not None
    new = _new_values(session, actor, report, **origin)
    changed = sorted(k for k, v in new.items() if k not in _NOT_BODY and getattr(incident, k) != v)
    stored_personal = (
        sealer_of(session).open(incident.personal_sealed, client_id) if incident.personal_sealed else None
    )
    if stored_personal != (report.personal.model_dump(exclude_none=True) if report.personal else None):
        changed.append("personal")
    if changed:
        raise Conflict(
            f"client_id {client_id} is already report {found.id} with different content "
            f"({', '.join(changed[:5])}): send a correction as a new report with a new UUID."
        )
    return incident


def create_incident(
    session: Session,
    actor: Actor,
    report: IncidentIn,
    *,
    source: str = "register",
    source_id: str | None = None,
    reimport: bool = False,
) -> tuple[IncidentOut, bool]:
    """File a report; returns (incident, created). Its reporter re-sending the same report (same
    ``client_id``, same body) gets the stored incident with ``created`` False, and nothing changes
    (idempotent); the same ``client_id`` with another body, or from another user, is a
    :class:`~kalkan.errors.Conflict` naming the stored report. ``reimport`` (an import of an event
    file) takes a known ``client_id`` as the same report, whoever filed it."""
    require(actor, "create", "file reports")
    # Write sessions (Register.write) are serial: SQLite's BEGIN IMMEDIATE and PostgreSQL's lock on the
    # audit head are taken before this check, so no other writer can store this client_id in between.
    session.flush()  # the Core statements below run on the connection, after any pending ORM change
    existing = _existing(session, actor, report, reimport=reimport, source=source, source_id=source_id)
    if existing is None:
        # One Core INSERT instead of the ORM's unit of work (about half a write's CPU time); the row's
        # values then make a transient Incident for the chain's view and the answer.
        values = _new_values(session, actor, report, source=source, source_id=source_id)
        key = session.connection().execute(_INSERT_INCIDENT, values).inserted_primary_key
        assert key is not None
        incident = Incident(id=key[0], **values)
        audit.append(session, actor, "create", "incident", incident.id, _audit_view(incident))
        return to_out(session, incident, reporter=actor.name, personal=False, plain=report.personal), True
    names = _reporter_names(session, [existing.reporter_id])
    if reimport:
        return to_out(session, existing, reporter=names.get(existing.reporter_id, "?"), personal=False), False
    return to_out(
        session,
        existing,
        reporter=names.get(existing.reporter_id, "?"),
        personal=False,
        plain=report.personal,
    ), False


def bulk_create(session: Session, actor: Actor, reports: Sequence[Any]) -> BulkResult:
    """Store a device's outbox: each report validated on its own; valid ones are stored (or found,
    when already sent), invalid ones come back with the reason so the device keeps them."""
    require(actor, "create", "file reports")
    if len(reports) > MAX_BULK:
        raise InputError(
            f"The outbox has {len(reports)} reports; at most {MAX_BULK} go in one request: send it in parts."
        )
    items: list[BulkItemResult] = []
    for index, raw in enumerate(reports):
        client_id = raw.get("client_id") if isinstance(raw, dict) else None
        client_id = str(client_id)[:36] if client_id is not None else None
        try:
            report = raw if isinstance(raw, IncidentIn) else IncidentIn.model_validate(raw)
            out, created = create_incident(session, actor, report)
        except ValidationError as error:
            items.append(
                BulkItemResult(
                    index=index, client_id=client_id, outcome="invalid", error=validation_text(error)
                )
            )
            continue
        except Conflict as error:
            items.append(
                BulkItemResult(index=index, client_id=client_id, outcome="invalid", error=str(error))
            )
            continue
        items.append(
            BulkItemResult(
                index=index, client_id=out.client_id, id=out.id, outcome="created" if created else "existing"
            )
        )
    counts = {k: sum(i.outcome == k for i in items) for k in ("created", "existing", "invalid")}
    return BulkResult(items=items, **counts)


# --- read -------------------------------------------------------------------------------------------


def _filtered(actor: Actor, filters: IncidentFilter) -> sa.Select[Any]:
    query = sa.select(Incident).where(visible_clause(actor))
    f = filters
    conditions: list[tuple[object, Callable[[], sa.ColumnElement[bool]]]] = [
        (f.status, lambda: Incident.status == f.status),
        (f.type, lambda: Incident.event_type == str(f.type)),
        (f.date_from, lambda: Incident.date_end >= f.date_from),
        (f.date_to, lambda: Incident.date_start <= f.date_to),
        (f.min_lat, lambda: Incident.latitude >= f.min_lat),
        (f.max_lat, lambda: Incident.latitude <= f.max_lat),
        (f.min_lon, lambda: Incident.longitude >= f.min_lon),
        (f.max_lon, lambda: Incident.longitude <= f.max_lon),
        (
            f.source_reliability,
            lambda: Incident.source_reliability.in_([str(g) for g in f.source_reliability or []]),
        ),
        (
            f.reporter,
            lambda: (
                Incident.reporter_id == sa.select(User.id).where(User.name == f.reporter).scalar_subquery()
            ),
        ),
        (f.q, lambda: Incident.description.ilike("%" + _like_escape(f.q or "") + "%", escape="\\")),
        (f.leads_only or None, lambda: Incident.lead_id.is_(None)),
        (f.security_forces, lambda: _security_forces(bool(f.security_forces))),
    ]
    for value, condition in conditions:
        if value is not None:
            query = query.where(condition())
    return query


def _security_forces(attributed: bool) -> sa.ColumnElement[bool]:
    """Incidents attributed to state security forces (or, with False, all others)."""
    from kalkan.model import ActorType

    state = Incident.perpetrator_type == ActorType.STATE_FORCES.value
    return state if attributed else sa.or_(Incident.perpetrator_type.is_(None), sa.not_(state))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_incidents(session: Session, actor: Actor, filters: IncidentFilter | None = None) -> IncidentPage:
    """One page of the incidents ``actor`` may see, newest first, personal data redacted by role."""
    require(actor, "read", "read incidents")
    filters = filters or IncidentFilter()
    query = _filtered(actor, filters)
    if filters.cursor is not None:
        query = query.where(Incident.id < filters.cursor)
    rows = list(session.scalars(query.order_by(Incident.id.desc()).limit(filters.limit + 1)))
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    names = _reporter_names(session, (r.reporter_id for r in rows))
    shared = _shared_ids(session, actor, [r.id for r in rows if r.personal_sealed])
    items = []
    for r in rows:
        opens = _sees_personal(actor, r, shared)
        if opens and r.personal_sealed and r.reporter_id != actor.id:
            audit.note_personal(session, actor, r.id)
        items.append(to_out(session, r, reporter=names.get(r.reporter_id, "?"), personal=opens))
    return IncidentPage(items=items, next_cursor=rows[-1].id if more and rows else None)


def map_rows(session: Session, actor: Actor, filters: IncidentFilter | None = None) -> list[list[Any]]:
    """Every report ``actor`` may see under ``filters`` (no paging) as ``[id, lat, lon, type, status,
    date, lead_id]`` rows, oldest first: the same filter and access check as :func:`list_incidents`."""
    require(actor, "read", "read incidents")
    query = _filtered(actor, filters or IncidentFilter()).with_only_columns(
        Incident.id,
        Incident.latitude,
        Incident.longitude,
        Incident.event_type,
        Incident.status,
        Incident.date_start,
        Incident.lead_id,
    )
    return [
        [
            r.id,
            round(r.latitude, 5),
            round(r.longitude, 5),
            r.event_type,
            r.status,
            r.date_start.isoformat(),
            r.lead_id,
        ]
        for r in session.execute(query.order_by(Incident.id))
    ]


def count_incidents(session: Session, actor: Actor, filters: IncidentFilter | None = None) -> int:
    """How many incidents ``actor`` may see under ``filters`` (ignores cursor and limit)."""
    require(actor, "read", "read incidents")
    query = _filtered(actor, filters or IncidentFilter()).with_only_columns(sa.func.count(Incident.id))
    return int(session.scalar(query) or 0)


def _visible_bound() -> sa.ColumnElement[bool]:
    """:func:`kalkan.register.auth.visible_clause` for a non-``read_all`` actor, with the actor as bound
    parameters (``actor_id``, ``actor_role``) so the statement is built and compiled once."""
    share = sa.select(Share.id).where(
        Share.incident_id == Incident.id,
        sa.or_(Share.role == sa.bindparam("actor_role"), Share.user_id == sa.bindparam("actor_id")),
    )
    return sa.or_(
        Incident.reporter_id == sa.bindparam("actor_id"), sa.not_(Incident.restricted), share.exists()
    )


@functools.cache
def _detail_statements(read_all: bool) -> tuple[Any, Any, Any, Any]:
    """The four queries of :func:`get_incident`, built once: constructing SQLAlchemy statements cost
    about a third of a read's CPU time when they were rebuilt on every request."""
    incident_id: Any = sa.bindparam("incident_id")
    visible = sa.true() if read_all else _visible_bound()
    main = (
        sa.select(Incident, User.name)
        .join(User, User.id == Incident.reporter_id)
        .where(Incident.id == incident_id, visible)
    )
    history = (
        sa.select(
            StatusChange.from_status, StatusChange.to_status, User.name, StatusChange.at, StatusChange.reason
        )
        .join(User, User.id == StatusChange.user_id)
        .where(StatusChange.incident_id == incident_id)
        .order_by(StatusChange.id)
    )
    files = (
        sa.select(
            Attachment.id,
            Attachment.sha256,
            Attachment.filename,
            Attachment.media_type,
            Attachment.size_bytes,
            User.name.label("uploaded_by"),
            Attachment.uploaded_at,
        )
        .join(User, User.id == Attachment.uploaded_by)
        .where(Attachment.incident_id == incident_id)
        .order_by(Attachment.id)
    )
    lead: Any = sa.bindparam("lead")
    linked = (
        sa.select(Incident.id)
        .where(sa.or_(Incident.id == lead, Incident.lead_id == lead), Incident.id != incident_id)
        .order_by(Incident.id)
    )
    return main, history, files, linked


def get_incident(session: Session, actor: Actor, incident_id: int) -> IncidentDetail:
    """One incident with its status history, evidence metadata and linked reports."""
    require(actor, "read", "read incidents")
    read_all = can(actor, "read_all")
    if read_all or actor.id is not None:
        main, history_q, files_q, linked_q = _detail_statements(read_all)
        params: dict[str, Any] = {"incident_id": incident_id}
        if not read_all:
            params.update(actor_id=actor.id, actor_role=actor.role.value)
        row = session.execute(main, params).first()
    else:  # an actor without an id (never a real user): the general clause
        _main, history_q, files_q, linked_q = _detail_statements(True)
        row = session.execute(
            sa.select(Incident, User.name)
            .join(User, User.id == Incident.reporter_id)
            .where(Incident.id == incident_id, visible_clause(actor))
        ).first()
    if row is None:
        raise not_found(f"Incident {incident_id}")
    incident, reporter = row
    # Column-only statements on the session's connection: no ORM entities to build. The ORM query
    # above has already flushed the session (autoflush), so these see every pending change.
    connection = session.connection()
    history = connection.execute(history_q, {"incident_id": incident.id}).all()
    files = connection.execute(files_q, {"incident_id": incident.id}).all()
    linked = connection.execute(
        linked_q, {"lead": incident.lead_id or incident.id, "incident_id": incident.id}
    ).scalars()
    personal = incident.personal_sealed is not None and may_see_personal(session, actor, incident)
    if personal and incident.reporter_id != actor.id:
        audit.note_personal(session, actor, incident.id)
    detail = to_out(
        session,
        incident,
        reporter=reporter,
        personal=personal,
        cls=IncidentDetail,
        history=[
            StatusChangeOut(from_status=before, to_status=after, by=name, at=at, reason=reason)
            for before, after, name, at, reason in history
        ],
        attachments=[AttachmentOut(**row._mapping) for row in files],
        linked_ids=list(linked),
    )
    return cast(IncidentDetail, detail)


# --- verify, share, link ------------------------------------------------------------------------------


def change_status(
    session: Session, actor: Actor, incident_id: int, status: str, reason: str
) -> IncidentDetail:
    """Move an incident along the workflow (:data:`TRANSITIONS`), recording who, when and why."""
    require(actor, "set_status", "change an incident's status")
    incident = _visible(session, actor, incident_id)
    reason = reason.strip()
    if not reason:
        raise InputError("A status change needs a reason: say what corroborates, verifies or refutes it.")
    allowed = TRANSITIONS[incident.status]
    if status not in allowed:
        raise Conflict(
            f"Incident {incident_id} is {incident.status!r}; it can move to "
            f"{', '.join(sorted(allowed))}, not {status!r}."
        )
    now, before = utcnow(), incident.status
    session.add(
        StatusChange(
            incident_id=incident.id,
            from_status=before,
            to_status=status,
            user_id=actor.id,
            at=now,
            reason=reason,
        )
    )
    incident.status, incident.updated_at = status, now
    session.flush()
    step = session.scalar(
        sa.select(sa.func.max(StatusChange.id)).where(StatusChange.incident_id == incident.id)
    )
    audit.append(
        session,
        actor,
        "status",
        "incident",
        incident.id,
        {"from": before, "to": status, "reason": reason, "status_change_id": step, "at": now.isoformat()},
    )
    return get_incident(session, actor, incident_id)


def share_incident(
    session: Session, actor: Actor, incident_id: int, *, role: str | None = None, user: str | None = None
) -> None:
    """Share a restricted incident with a role or one user.

    Separation of duties: a share that opens personal data (to a named user, or to the analyst or
    investigator role) needs an admin, and nobody can share with themselves. Investigators and the
    report's reporter may share a report with the monitor role, which opens the report but not its
    personal data. Every share enters the chain, and its row is sealed.
    """
    incident = _visible(session, actor, incident_id)
    if (role is None) == (user is None):
        raise InputError("Share with exactly one of a role or a user.")
    if role is not None and role not in {r.value for r in Role}:
        raise InputError(f"Role {role!r} is unknown: use one of {', '.join(Role)}.")
    opens_personal = user is not None or role in (Role.ANALYST.value, Role.INVESTIGATOR.value)
    if opens_personal and actor.role is not Role.ADMIN:
        raise AccessDenied(
            "Sharing personal data (with a person, or with the analyst or investigator role) needs an "
            "admin: ask one to share it. You may share the report with the monitor role."
        )
    if not can(actor, "share") and incident.reporter_id != actor.id:
        raise AccessDenied(f"The role {actor.role.value!r} may share only the reports it filed.")
    user_id = None
    if user is not None:
        name = normalise_name(user)
        found = session.execute(sa.select(User.id, User.active).where(User.name == name)).first()
        if found is None or not found.active:
            raise not_found(f"Active user {name!r}")
        user_id = found.id
        if user_id == actor.id:
            raise AccessDenied("Nobody may share personal data with themselves: ask another admin.")
    exists = session.scalar(
        sa.select(Share.id).where(
            Share.incident_id == incident.id,
            Share.role.is_(None) if role is None else Share.role == role,
            Share.user_id.is_(None) if user_id is None else Share.user_id == user_id,
        )
    )
    if exists is None:
        share = Share(incident_id=incident.id, role=role, user_id=user_id)
        session.add(share)
        session.flush()
        share.seal = audit.row_seal(audit.chain_key(session), "shares", audit.share_view(share))
        audit.append(
            session,
            actor,
            "share",
            "incident",
            incident.id,
            {"role": role, "user": user, "user_id": user_id, "share_id": share.id},
        )


def _group(session: Session, incident: Incident) -> list[Incident]:
    lead = incident.lead_id or incident.id
    return list(
        session.scalars(sa.select(Incident).where(sa.or_(Incident.id == lead, Incident.lead_id == lead)))
    )


def lead_key(incident: Incident) -> tuple[int, int, int, int]:
    """Sort key of the report that leads a group: best source grade, then best credibility, then
    status, then the earliest filed."""
    return (
        _RELIABILITY_RANK.get(incident.source_reliability, 9),
        _CREDIBILITY_RANK.get(incident.information_credibility, 9),
        _STATUS_RANK.get(incident.status, 9),
        incident.id,
    )


def link_incidents(
    session: Session, actor: Actor, incident_a: int, incident_b: int, reason: str
) -> IncidentDetail:
    """Record that two reports describe one incident. Both are kept; the group's best-graded report
    leads (``lead_id`` NULL) and the others point at it, so counts use one report per incident."""
    require(actor, "link", "link reports")
    if incident_a == incident_b:
        raise Conflict(f"Cannot link incident {incident_a} with itself: give two different ids.")
    a, b = _visible(session, actor, incident_a), _visible(session, actor, incident_b)
    if (a.lead_id or a.id) == (b.lead_id or b.id):
        raise Conflict(f"Incidents {incident_a} and {incident_b} are already linked.")
    members = {i.id: i for i in _group(session, a) + _group(session, b)}
    lead = min(members.values(), key=lead_key)
    now = utcnow()
    for member in members.values():
        new_lead = None if member.id == lead.id else lead.id
        if member.lead_id != new_lead:
            member.lead_id, member.updated_at = new_lead, now
    low, high = sorted((a.id, b.id))
    session.add(Link(incident_a=low, incident_b=high, user_id=actor.id, at=now, reason=reason))
    session.flush()
    audit.append(
        session,
        actor,
        "link",
        "incident",
        lead.id,
        {"a": low, "b": high, "lead": lead.id, "members": sorted(members), "reason": reason},
    )
    return get_incident(session, actor, lead.id)


def duplicate_candidates(
    session: Session,
    actor: Actor,
    *,
    incident_id: int | None = None,
    distance_km: float = 5.0,
    days: int = 3,
    min_score: float = 0.5,
    limit: int = 100,
) -> list[DuplicateCandidate]:
    """Pairs of reports that may describe one incident (same type, near in space and time, similar
    text), best first; pairs already linked and rejected reports are left out."""
    require(actor, "link", "review duplicates")
    if (
        not 0 < distance_km <= 500
        or not 0 <= days <= 365
        or not 0 <= min_score <= 1
        or not 1 <= limit <= 10_000
    ):
        raise InputError(
            f"Duplicate search needs 0 < distance_km <= 500, 0 <= days <= 365, 0 <= min_score <= 1 "
            f"and 1 <= limit <= 10000; got {distance_km}, {days}, {min_score}, {limit}."
        )
    query = sa.select(
        Incident.id,
        Incident.event_type,
        Incident.date_start,
        Incident.latitude,
        Incident.longitude,
        Incident.description,
        Incident.lead_id,
    ).where(visible_clause(actor), Incident.status != "rejected")
    if incident_id is not None:
        target = _visible(session, actor, incident_id)
        dlat = distance_km / 111.0
        query = query.where(
            Incident.event_type == target.event_type,
            Incident.date_start.between(
                date.fromordinal(target.date_start.toordinal() - days),
                date.fromordinal(target.date_start.toordinal() + days),
            ),
            Incident.latitude.between(target.latitude - dlat, target.latitude + dlat),
        )
    rows = session.execute(query).all()
    pairs = candidate_pairs(rows, distance_km=distance_km, days=days, min_score=min_score, only=incident_id)
    return pairs[:limit]


# --- evidence -------------------------------------------------------------------------------------


# Declared types whose content a file-type library must recognise as the same kind.
_CHECKED_KINDS = ("image/", "video/", "audio/", "application/pdf", "application/zip")


def clean_filename(name: str | None) -> str:
    """A filename safe to store and show: NFKC, no bidi or other format controls, no path separators."""
    text = unicodedata.normalize("NFKC", name or "")
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc"))
    return (text.replace("/", "_").replace("\\", "_").strip() or "evidence")[:255]


def _content_type(path: Any, declared: str) -> str:
    """The media type to store: the declared one when the content agrees with it, the detected one when
    the sender declared none; otherwise the file is refused (an executable sent as a JPEG)."""
    import filetype

    with open(path, "rb") as f:
        kind = filetype.guess(f.read(8192))
    detected = str(kind.mime) if kind is not None else None  # filetype is untyped
    if declared in ("", "application/octet-stream"):
        return detected or "application/octet-stream"
    if detected is None:
        if declared.startswith(_CHECKED_KINDS):
            raise InputError(
                f"The file is declared {declared} but its content is not a recognisable {declared}: "
                "send the original file, or declare it application/octet-stream."
            )
        return declared
    if detected != declared and detected.split("/")[0] != declared.split("/")[0]:
        raise InputError(
            f"The file is declared {declared} but its content is {detected}: send the original file "
            "with its true type."
        )
    return detected


def attach_evidence(
    session: Session,
    actor: Actor,
    incident_id: int,
    *,
    filename: str,
    media_type: str,
    stream: BinaryIO | Iterable[bytes],
) -> AttachmentOut:
    """Store a file by its SHA-256 and attach it; the hash goes into the audit chain.

    The declared type is checked against the content (``filetype``); the same file attached twice to
    one incident is kept once (the existing attachment is returned).
    """
    require(actor, "attach", "attach evidence")
    incident = _visible(session, actor, incident_id)
    if actor.role is Role.MONITOR and incident.reporter_id != actor.id:
        raise AccessDenied("A monitor may attach evidence only to the reports they filed.")
    filename = clean_filename(filename)
    media_type = (media_type or "application/octet-stream").replace("\x00", "").split(";")[0].strip()[:100]
    store = evidence_of(session)
    sha, size = store.put(stream)
    try:
        media_type = _content_type(store.path(sha), media_type.lower())
    except InputError:
        if session.scalar(sa.select(Attachment.id).where(Attachment.sha256 == sha).limit(1)) is None:
            store.remove(sha)
        raise
    same = session.execute(
        sa.select(Attachment, User.name)
        .join(User, User.id == Attachment.uploaded_by)
        .where(Attachment.incident_id == incident.id, Attachment.sha256 == sha)
    ).first()
    if same is not None:
        return _attachment_out(same[0], same[1])
    now = utcnow()
    row = Attachment(
        incident_id=incident.id,
        sha256=sha,
        filename=filename,
        media_type=media_type,
        size_bytes=size,
        uploaded_by=actor.id,
        uploaded_at=now,
    )
    session.add(row)
    session.flush()
    row.seal = audit.row_seal(audit.chain_key(session), "attachments", audit.attachment_view(row))
    audit.append(
        session,
        actor,
        "attach",
        "attachment",
        row.id,
        {
            "incident_id": incident.id,
            "sha256": sha,
            "filename": filename,
            "size_bytes": size,
            "media_type": media_type,
            "uploaded_at": now.isoformat(),
        },
    )
    return _attachment_out(row, actor.name)


def _attachment_out(attachment: Attachment, uploader: str) -> AttachmentOut:
    return AttachmentOut(
        id=attachment.id,
        sha256=attachment.sha256,
        filename=attachment.filename,
        media_type=attachment.media_type,
        size_bytes=attachment.size_bytes,
        uploaded_by=uploader,
        uploaded_at=attachment.uploaded_at,
    )


def evidence_file(
    session: Session, actor: Actor, attachment_id: int, *, incident_id: int | None = None
) -> tuple[AttachmentOut, Any]:
    """The metadata and path of an evidence file (investigators, admins and its uploader only).

    A missing attachment, one of a hidden incident, one of another incident than ``incident_id`` and
    one the role may not open all get the same answer (404), so none of them can be told apart.
    The row's seal is checked: an attachment row pointed at another file straight in the database
    is refused.
    """
    row = session.execute(
        sa.select(Attachment, User.name)
        .join(User, User.id == Attachment.uploaded_by)
        .where(Attachment.id == attachment_id)
    ).first()
    hidden = not_found(f"Attachment {attachment_id}")
    if row is None:
        raise hidden
    attachment, uploader = row
    if incident_id is not None and attachment.incident_id != incident_id:
        raise hidden
    try:
        _visible(session, actor, attachment.incident_id)
    except NotFound:
        raise hidden from None
    if not can(actor, "read_evidence") and attachment.uploaded_by != actor.id:
        raise hidden
    expected = audit.row_seal(audit.chain_key(session), "attachments", audit.attachment_view(attachment))
    if attachment.seal != expected:
        raise IntegrityError(
            f"Attachment {attachment_id}'s record was changed outside the register (its seal does not "
            "match): run `kalkan register verify` and restore the database from a backup."
        )
    store = evidence_of(session)
    state = store.check(attachment.sha256)
    if state != "ok":
        raise IntegrityError(
            f"Evidence file of attachment {attachment_id} is {state} on disk "
            f"(sha256 {attachment.sha256}): restore it from backup; "
            "`kalkan register verify` lists every such file."
        )
    return _attachment_out(attachment, uploader), store.path(attachment.sha256)


def record_evidence_access(session: Session, actor: Actor, attachment: AttachmentOut) -> None:
    """Write who opened an evidence file, and its hash, into the audit chain (a write session)."""
    audit.append(
        session,
        actor,
        "open_evidence",
        "attachment",
        attachment.id,
        {"sha256": attachment.sha256, "filename": attachment.filename},
    )


def _entry(entry: Any) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "payload": json.loads(entry.payload),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def audit_entries(
    session: Session, actor: Actor, *, after_seq: int = 0, limit: int = 200
) -> list[dict[str, Any]]:
    """Entries of the audit chain (admins only), oldest first."""
    require(actor, "audit", "read the audit log")
    out = []
    for entry in audit.iter_entries(session, after_seq=after_seq):
        out.append(_entry(entry))
        if len(out) >= limit:
            break
    return out


def custody(session: Session, actor: Actor, incident_id: int) -> list[dict[str, Any]]:
    """The chain of custody of one incident: every audit entry about it and its evidence files,
    oldest first, each with its hash and its predecessor's (investigators and admins).

    With ``kalkan register verify`` passing, these entries show who filed, graded, linked, shared,
    attached and opened what and when, and that nothing of it changed since.
    """
    require(actor, "read_evidence", "read an incident's chain of custody")
    incident = _visible(session, actor, incident_id)
    files = [
        str(i) for i in session.scalars(sa.select(Attachment.id).where(Attachment.incident_id == incident.id))
    ]
    about_incident = sa.and_(AuditEntry.entity == "incident", AuditEntry.entity_id == str(incident.id))
    about_files = sa.and_(AuditEntry.entity == "attachment", AuditEntry.entity_id.in_(files))
    linked = AuditEntry.action.in_(("link", "open_personal"))  # the members are checked below
    entries = session.scalars(
        sa.select(AuditEntry).where(sa.or_(about_incident, about_files, linked)).order_by(AuditEntry.seq)
    )
    out = []
    for entry in entries:
        if entry.action == "link" and entry.entity_id != str(incident.id):
            if incident.id not in json.loads(entry.payload).get("members", []):
                continue
        if entry.action == "open_personal" and incident.id not in json.loads(entry.payload).get("ids", []):
            continue
        out.append(_entry(entry))
    return out
