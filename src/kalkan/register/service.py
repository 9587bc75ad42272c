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
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, BinaryIO, cast

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from kalkan.errors import InputError, KalkanError
from kalkan.register import audit
from kalkan.register.auth import Actor, Role, can, may_see_personal, visible_clause
from kalkan.register.crypto import Sealer
from kalkan.register.db import Attachment, Incident, Link, Share, StatusChange, User, utcnow
from kalkan.register.dedup import candidate_pairs
from kalkan.register.evidence import EvidenceStore
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


class NotFound(InputError, LookupError):
    """An incident or attachment does not exist, or the actor may not see it."""


class AccessDenied(KalkanError, PermissionError):
    """The actor's role lacks the right to do this."""


class Conflict(InputError):
    """The request contradicts the current state (e.g. linking two reports already linked)."""


def _require(actor: Actor, right: str, what: str) -> None:
    if not can(actor, right):
        raise AccessDenied(f"The role {actor.role.value!r} may not {what}; ask an admin for a role that may.")


def _sealer(session: Session) -> Sealer:
    return session.info["sealer"]


def _evidence(session: Session) -> EvidenceStore:
    return session.info["evidence"]


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
    query = sa.select(Share.incident_id).where(
        Share.incident_id.in_(ids), sa.or_(Share.user_id == actor.id, Share.role.in_(roles))
    )
    return set(session.scalars(query))


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
            _sealer(session).open(incident.personal_sealed, incident.client_id)
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
        raise NotFound(
            f"Incident {incident_id} does not exist or is not shared with you: check the id, "
            "or ask its reporter or an admin to share it."
        )
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
        personal_sealed=_sealer(session).seal(personal, client_id) if personal else None,
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


def _existing(session: Session, actor: Actor, client_id: str) -> Incident | None:
    found = session.connection().execute(_BY_CLIENT_ID, {"cid": client_id}).first()
    if found is None:
        return None
    if not can(actor, "read_all") and found.reporter_id != actor.id:
        # A UUID another user already used: refuse rather than reveal that report.
        raise Conflict(
            f"client_id {client_id} belongs to a report filed by another user: "
            "generate a new UUID for a new report."
        )
    return session.get(Incident, found.id)


def create_incident(
    session: Session,
    actor: Actor,
    report: IncidentIn,
    *,
    source: str = "register",
    source_id: str | None = None,
) -> tuple[IncidentOut, bool]:
    """File a report; returns (incident, created). Re-sending a known ``client_id`` returns the
    stored incident with ``created`` False and changes nothing (idempotent)."""
    _require(actor, "create", "file reports")
    client_id = str(report.client_id)
    # Write sessions (Register.write) are serial: SQLite's BEGIN IMMEDIATE and PostgreSQL's lock on the
    # audit head are taken before this check, so no other writer can store this client_id in between.
    session.flush()  # the Core statements below run on the connection, after any pending ORM change
    existing = _existing(session, actor, client_id)
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
    personal = may_see_personal(session, actor, existing)
    return to_out(session, existing, reporter=names.get(existing.reporter_id, "?"), personal=personal), False


def bulk_create(session: Session, actor: Actor, reports: Sequence[Any]) -> BulkResult:
    """Store a device's outbox: each report validated on its own; valid ones are stored (or found,
    when already sent), invalid ones come back with the reason so the device keeps them."""
    _require(actor, "create", "file reports")
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
                    index=index, client_id=client_id, outcome="invalid", error=_validation_text(error)
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


def _validation_text(error: ValidationError) -> str:
    parts = []
    for e in error.errors()[:5]:
        where = ".".join(str(p) for p in e["loc"]) or "report"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


# --- read -------------------------------------------------------------------------------------------


def _filtered(actor: Actor, filters: IncidentFilter) -> sa.Select[Any]:
    query = sa.select(Incident).where(visible_clause(actor))
    f = filters
    conditions = [
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
    ]
    for value, condition in conditions:
        if value is not None:
            query = query.where(condition())
    return query


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_incidents(session: Session, actor: Actor, filters: IncidentFilter | None = None) -> IncidentPage:
    """One page of the incidents ``actor`` may see, newest first, personal data redacted by role."""
    _require(actor, "read", "read incidents")
    filters = filters or IncidentFilter()
    query = _filtered(actor, filters)
    if filters.cursor is not None:
        query = query.where(Incident.id < filters.cursor)
    rows = list(session.scalars(query.order_by(Incident.id.desc()).limit(filters.limit + 1)))
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    names = _reporter_names(session, (r.reporter_id for r in rows))
    shared = _shared_ids(session, actor, [r.id for r in rows if r.personal_sealed])
    items = [
        to_out(session, r, reporter=names.get(r.reporter_id, "?"), personal=_sees_personal(actor, r, shared))
        for r in rows
    ]
    return IncidentPage(items=items, next_cursor=rows[-1].id if more and rows else None)


def count_incidents(session: Session, actor: Actor, filters: IncidentFilter | None = None) -> int:
    """How many incidents ``actor`` may see under ``filters`` (ignores cursor and limit)."""
    _require(actor, "read", "read incidents")
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
    _require(actor, "read", "read incidents")
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
        raise NotFound(
            f"Incident {incident_id} does not exist or is not shared with you: check the id, "
            "or ask its reporter or an admin to share it."
        )
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
    _require(actor, "set_status", "change an incident's status")
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
    audit.append(
        session, actor, "status", "incident", incident.id, {"from": before, "to": status, "reason": reason}
    )
    return get_incident(session, actor, incident_id)


def share_incident(
    session: Session, actor: Actor, incident_id: int, *, role: str | None = None, user: str | None = None
) -> None:
    """Share a restricted incident with a role or one user (admins, investigators, or its reporter)."""
    incident = _visible(session, actor, incident_id)
    if not can(actor, "share") and incident.reporter_id != actor.id:
        raise AccessDenied(f"The role {actor.role.value!r} may share only the reports it filed.")
    if (role is None) == (user is None):
        raise InputError("Share with exactly one of a role or a user.")
    user_id = None
    if user is not None:
        user_id = session.scalar(sa.select(User.id).where(User.name == user))
        if user_id is None:
            raise NotFound(f"No user is named {user!r}: check the name.")
    elif role not in {r.value for r in Role}:
        raise InputError(f"Role {role!r} is unknown: use one of {', '.join(Role)}.")
    exists = session.scalar(
        sa.select(Share.id).where(
            Share.incident_id == incident.id,
            Share.role.is_(None) if role is None else Share.role == role,
            Share.user_id.is_(None) if user_id is None else Share.user_id == user_id,
        )
    )
    if exists is None:
        session.add(Share(incident_id=incident.id, role=role, user_id=user_id))
        session.flush()
        audit.append(session, actor, "share", "incident", incident.id, {"role": role, "user": user})


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
    _require(actor, "link", "link reports")
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
    _require(actor, "link", "review duplicates")
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


def attach_evidence(
    session: Session,
    actor: Actor,
    incident_id: int,
    *,
    filename: str,
    media_type: str,
    stream: BinaryIO | Iterable[bytes],
) -> AttachmentOut:
    """Store a file by its SHA-256 and attach it; the hash goes into the audit chain."""
    _require(actor, "attach", "attach evidence")
    incident = _visible(session, actor, incident_id)
    if actor.role is Role.MONITOR and incident.reporter_id != actor.id:
        raise AccessDenied("A monitor may attach evidence only to the reports they filed.")
    filename = (filename or "evidence").replace("\x00", "").replace("/", "_").replace("\\", "_")[:255]
    media_type = (media_type or "application/octet-stream").replace("\x00", "")[:100]
    sha, size = _evidence(session).put(stream)
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
        },
    )
    return AttachmentOut(
        id=row.id,
        sha256=sha,
        filename=filename,
        media_type=media_type,
        size_bytes=size,
        uploaded_by=actor.name,
        uploaded_at=now,
    )


def evidence_file(session: Session, actor: Actor, attachment_id: int) -> tuple[AttachmentOut, Any]:
    """The metadata and path of an evidence file (investigators, admins and its uploader only)."""
    row = session.execute(
        sa.select(Attachment, User.name)
        .join(User, User.id == Attachment.uploaded_by)
        .where(Attachment.id == attachment_id)
    ).first()
    if row is None:
        raise NotFound(f"Attachment {attachment_id} does not exist: check the id.")
    attachment, uploader = row
    _visible(session, actor, attachment.incident_id)
    if not can(actor, "read_evidence") and attachment.uploaded_by != actor.id:
        raise AccessDenied(
            f"The role {actor.role.value!r} may not open evidence files; investigators and admins may."
        )
    store = _evidence(session)
    state = store.check(attachment.sha256)
    if state != "ok":
        from kalkan.errors import IntegrityError

        raise IntegrityError(
            f"Evidence file of attachment {attachment_id} is {state} on disk "
            f"(sha256 {attachment.sha256}): restore it from backup; "
            "`kalkan register verify` lists every such file."
        )
    meta = AttachmentOut(
        id=attachment.id,
        sha256=attachment.sha256,
        filename=attachment.filename,
        media_type=attachment.media_type,
        size_bytes=attachment.size_bytes,
        uploaded_by=uploader,
        uploaded_at=attachment.uploaded_at,
    )
    return meta, store.path(attachment.sha256)


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
    _require(actor, "audit", "read the audit log")
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
    _require(actor, "read_evidence", "read an incident's chain of custody")
    incident = _visible(session, actor, incident_id)
    files = [
        str(i) for i in session.scalars(sa.select(Attachment.id).where(Attachment.incident_id == incident.id))
    ]
    about_incident = sa.and_(
        audit.AuditEntry.entity == "incident", audit.AuditEntry.entity_id == str(incident.id)
    )
    about_files = sa.and_(audit.AuditEntry.entity == "attachment", audit.AuditEntry.entity_id.in_(files))
    linked = audit.AuditEntry.action == "link"  # few; the members are checked below
    entries = session.scalars(
        sa.select(audit.AuditEntry)
        .where(sa.or_(about_incident, about_files, linked))
        .order_by(audit.AuditEntry.seq)
    )
    out = []
    for entry in entries:
        if entry.action == "link" and entry.entity_id != str(incident.id):
            if incident.id not in json.loads(entry.payload).get("members", []):
                continue
        out.append(_entry(entry))
    return out
