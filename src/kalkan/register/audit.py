"""The hash-chained audit log: every change appended, each entry hashing the one before.

Entry *n* stores ``hash_n = SHA-256(canonical JSON of (seq, at, actor, action, entity, entity_id,
payload, hash_{n-1}))``, starting from 64 zeros. Changing, deleting or reordering any entry breaks
every hash after it, so :func:`verify_chain` can name the first broken link. Attachments enter the
chain with their SHA-256, which makes the chain an evidence chain of custody: a file swapped on disk
no longer matches the hash its upload wrote into the chain (:func:`verify_evidence`).

Personal data never enters the log in clear: the payload holds the SHA-256 of the sealed value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kalkan.errors import IntegrityError
from kalkan.register.auth import Actor
from kalkan.register.db import AuditEntry, AuditHead, Incident, utcnow

__all__ = [
    "incident_view",
    "verify_records",
    "GENESIS",
    "ChainReport",
    "append",
    "entry_hash",
    "iter_entries",
    "verify_chain",
    "verify_evidence",
]

GENESIS = "0" * 64
_BATCH = 2000


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    payload: str,
    prev_hash: str,
) -> str:
    """The SHA-256 (hex) of one entry's content and the previous entry's hash."""
    body = _canonical([seq, at.isoformat(), actor_id, actor, action, entity, entity_id, payload, prev_hash])
    return hashlib.sha256(body.encode()).hexdigest()


_HEAD = sa.select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
_INSERT_ENTRY = cast(sa.Table, AuditEntry.__table__).insert()
_MOVE_HEAD = cast(sa.Table, AuditHead.__table__).update().where(AuditHead.id == 1)


def append(
    session: Session, actor: Actor, action: str, entity: str, entity_id: object, payload: dict[str, Any]
) -> AuditEntry:
    """Append one entry inside the caller's transaction (locks the chain head until commit).

    Runs three Core statements on the session's connection (read the head, insert the entry, move the
    head), after flushing the session's pending changes, and returns the entry as a transient object.
    """
    session.flush()
    connection = session.connection()
    head = connection.execute(_HEAD).first()
    if head is None:
        raise IntegrityError(
            "The audit chain has no head row: the database was not created by the register's "
            "migrations; run `kalkan serve` or kalkan.register.db.migrate once."
        )
    seq, at, body = head.seq + 1, utcnow(), _canonical(payload)
    digest = entry_hash(seq, at, actor.id, actor.name, action, entity, str(entity_id), body, head.hash)
    fields = {
        "seq": seq,
        "at": at,
        "actor_id": actor.id,
        "actor": actor.name,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "payload": body,
        "prev_hash": head.hash,
        "hash": digest,
    }
    connection.execute(_INSERT_ENTRY, fields)
    connection.execute(_MOVE_HEAD, {"seq": seq, "hash": digest})
    return AuditEntry(**fields)


def iter_entries(
    session: Session, *, entity: str | None = None, entity_id: object | None = None, after_seq: int = 0
) -> Iterator[AuditEntry]:
    """The chain's entries in order, read in batches (optionally for one entity)."""
    last = after_seq
    while True:
        query = sa.select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(_BATCH)
        if entity is not None:
            query = query.where(AuditEntry.entity == entity)
        if entity_id is not None:
            query = query.where(AuditEntry.entity_id == str(entity_id))
        batch = list(session.scalars(query))
        yield from batch
        if len(batch) < _BATCH:
            return
        last = batch[-1].seq


@dataclass
class ChainReport:
    """What :func:`verify_chain` found: ``ok``, how many entries, and the first broken link if any."""

    ok: bool
    entries: int
    head_seq: int
    broken_seq: int | None = None
    problem: str = ""
    details: list[str] = field(default_factory=list)

    def message(self) -> str:
        """One sentence for the command line."""
        if self.ok:
            return f"Audit chain verifies: {self.entries} entries, head at {self.head_seq}."
        return f"Audit chain is broken at entry {self.broken_seq}: {self.problem}"


def verify_chain(session: Session) -> ChainReport:
    """Recompute every hash in order; report the first entry whose link or content does not match."""
    prev, expected_seq, count = GENESIS, 1, 0
    for e in iter_entries(session):
        where = f"{e.action} {e.entity} {e.entity_id} by {e.actor} at {e.at.isoformat()}"
        if e.seq != expected_seq:
            return ChainReport(
                False,
                count,
                e.seq,
                expected_seq,
                f"entry {expected_seq} is missing (the next stored entry is {e.seq}, {where}).",
            )
        if e.prev_hash != prev:
            return ChainReport(
                False, count, e.seq, e.seq, f"its previous-hash does not match entry {e.seq - 1} ({where})."
            )
        digest = entry_hash(
            e.seq, e.at, e.actor_id, e.actor, e.action, e.entity, e.entity_id, e.payload, prev
        )
        if digest != e.hash:
            return ChainReport(
                False,
                count,
                e.seq,
                e.seq,
                f"its content no longer matches its hash: it was altered ({where}).",
            )
        prev, expected_seq, count = e.hash, e.seq + 1, count + 1
    head = session.scalar(sa.select(AuditHead).where(AuditHead.id == 1))
    if head is None or head.seq != count or head.hash != prev:
        head_seq = head.seq if head else -1
        return ChainReport(
            False,
            count,
            head_seq,
            count + 1,
            f"the head says entry {head_seq} but the log ends at entry {count}: "
            "entries after it were deleted.",
        )
    return ChainReport(True, count, head.seq)


def verify_evidence(session: Session, evidence_root: Path) -> list[str]:
    """Re-hash every attached file named in the chain; returns one line per missing or altered file."""
    from kalkan.register.evidence import EvidenceStore

    store, problems = EvidenceStore(evidence_root), []
    for e in iter_entries(session, entity="attachment"):
        if e.action != "attach":
            continue
        payload = json.loads(e.payload)
        sha = payload.get("sha256", "")
        state = store.check(sha)
        if state != "ok":
            problems.append(
                f"entry {e.seq}: attachment {e.entity_id} ({payload.get('filename')!r}, "
                f"sha256 {sha[:12]}...) is {state}"
            )
    return problems


# --- the records against the chain -------------------------------------------------------------------

_MUTABLE = ("status", "lead_id", "updated_at")  # changed later by entries of their own (or not checked)


def incident_view(incident: Incident) -> dict[str, Any]:
    """The incident as the chain records it: every column, personal data only as its ciphertext's hash."""
    view = {
        c.name: getattr(incident, c.name) for c in Incident.__table__.columns if c.name != "personal_sealed"
    }
    sealed = incident.personal_sealed
    view["personal_sha256"] = hashlib.sha256(sealed.encode()).hexdigest() if sealed else None
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in view.items()}


def _fixed_part(view: dict[str, Any]) -> str:
    return hashlib.sha256(
        _canonical({k: v for k, v in view.items() if k not in _MUTABLE}).encode()
    ).hexdigest()


def verify_records(session: Session, *, limit: int = 20) -> list[str]:
    """Replay the chain and compare every incident row with it; one line per row that differs.

    Catches edits made behind the register's back (straight into the database) that leave the
    chain itself intact: a changed description, grade, date, place or personal-data ciphertext, a
    status or link that no entry recorded, a row the chain never created or a created row that is gone.
    Memory: one hash and two fields per incident.
    """
    expected: dict[int, list[Any]] = {}  # id -> [hash of the fixed fields, status, lead_id]
    for e in iter_entries(session, entity="incident"):
        payload, iid = json.loads(e.payload), int(e.entity_id)
        if e.action == "create":
            expected[iid] = [_fixed_part(payload), payload.get("status"), payload.get("lead_id")]
        elif e.action == "status" and iid in expected:
            expected[iid][1] = payload["to"]
        elif e.action == "link":
            for member in payload["members"]:
                if member in expected:
                    expected[member][2] = None if member == payload["lead"] else payload["lead"]
    problems: list[str] = []
    last = 0
    while len(problems) < limit:
        batch = list(
            session.scalars(sa.select(Incident).where(Incident.id > last).order_by(Incident.id).limit(_BATCH))
        )
        for incident in batch:
            want = expected.pop(incident.id, None)
            if want is None:
                problems.append(
                    f"incident {incident.id} is in the database but no entry of the chain created it"
                )
                continue
            view = incident_view(incident)
            if _fixed_part(view) != want[0]:
                problems.append(
                    f"incident {incident.id}: {_which_fields(session, incident.id, view)} "
                    "differ from what the chain recorded"
                )
            if view["status"] != want[1]:
                problems.append(
                    f"incident {incident.id}: status is {view['status']!r} but the chain says {want[1]!r}"
                )
            if view["lead_id"] != want[2]:
                problems.append(
                    f"incident {incident.id}: lead_id is {view['lead_id']} but the chain says {want[2]}"
                )
        if len(batch) < _BATCH:
            break
        last = batch[-1].id
    problems += [
        f"incident {iid} was created in the chain but is missing from the database" for iid in expected
    ]
    return problems[:limit]


def _which_fields(session: Session, incident_id: int, view: dict[str, Any]) -> str:
    created = session.scalar(
        sa.select(AuditEntry.payload).where(
            AuditEntry.entity == "incident",
            AuditEntry.entity_id == str(incident_id),
            AuditEntry.action == "create",
        )
    )
    recorded = json.loads(created or "{}")
    fields = [k for k in view if k not in _MUTABLE and view[k] != recorded.get(k)]
    return ", ".join(fields) or "fields"
