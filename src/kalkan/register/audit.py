"""The keyed audit chain: every change appended, each entry authenticated with a key the database lacks.

Entry *n* stores ``mac_n = HMAC-SHA256(audit key, canonical JSON of (seq, at, actor_id, actor, action,
entity, entity_id, payload, mac_{n-1}))``, starting from 64 zeros. Without the audit key nobody can
write an entry that verifies, so editing, deleting, renumbering or re-hashing entries straight in the
database breaks the chain at the first entry touched, and :func:`verify_chain` names it. Cutting
entries off the end leaves a shorter chain that still verifies: an **anchor** (:func:`anchor`, the
head's sequence number and MAC, kept outside the server) proves that nothing up to it was cut or
rewritten (:func:`verify_anchor`).

The chain records every table that decides who may see what, not only incidents: users (created,
role, token issued or revoked), shares, attachments, status changes and links. :func:`verify_records`
replays the chain and compares every row of those tables with it. Rows that grant access (users,
shares, attachments, web sessions) also carry a ``seal``, a MAC of the row under the audit key,
checked whenever the row is used, so a row forged in the database takes no effect even before
``verify`` runs.

Personal data never enters the log in clear: the payload holds the SHA-256 of the sealed value.
Attachments enter the chain with their SHA-256, which makes it an evidence chain of custody.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kalkan.errors import InputError, IntegrityError
from kalkan.register.auth import Actor
from kalkan.register.crypto import key_id
from kalkan.register.db import (
    Attachment,
    AuditEntry,
    AuditHead,
    Incident,
    Link,
    Share,
    StatusChange,
    User,
    utcnow,
)

__all__ = [
    "GENESIS",
    "SCHEME",
    "Anchor",
    "AuditEntry",
    "ChainReport",
    "anchor",
    "append",
    "chain_key",
    "entry_mac",
    "incident_view",
    "iter_entries",
    "legacy_hash",
    "note_personal",
    "note_record_personal",
    "record_personal",
    "row_seal",
    "seal_chain",
    "user_view",
    "verify_anchor",
    "verify_chain",
    "verify_evidence",
    "verify_records",
]

GENESIS = "0" * 64
SCHEME = "hmac-sha256"
_BATCH = 2000


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_key(session: Session) -> bytes:
    """The audit key of the register the session belongs to (put there by ``Register``)."""
    key = session.info.get("chain_key")
    if key is None:
        raise IntegrityError(
            "This session has no audit key: open the register with kalkan.register.open_register, "
            "which loads the key and hands it to every session."
        )
    return cast(bytes, key)


def _fields(
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    payload: str,
    prev: str,
) -> bytes:
    return _canonical(
        [seq, at.isoformat(), actor_id, actor, action, entity, entity_id, payload, prev]
    ).encode()


def entry_mac(
    key: bytes,
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
    """The HMAC-SHA256 (hex) of one entry's content and the previous entry's MAC, under ``key``."""
    body = _fields(seq, at, actor_id, actor, action, entity, entity_id, payload, prev_hash)
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def legacy_hash(
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
    """The unkeyed SHA-256 of a chain written before migration 0003 (read only, to re-chain it)."""
    body = _fields(seq, at, actor_id, actor, action, entity, entity_id, payload, prev_hash)
    return hashlib.sha256(body).hexdigest()


def row_seal(key: bytes, table: str, values: dict[str, Any]) -> str:
    """The MAC that binds one access-granting row (user, share, attachment, web session) to the key."""
    body = _canonical([table, {k: _plain(v) for k, v in values.items()}]).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


_HEAD = sa.select(AuditHead.seq, AuditHead.hash, AuditHead.scheme).where(AuditHead.id == 1).with_for_update()
_INSERT_ENTRY = cast(sa.Table, AuditEntry.__table__).insert()
_MOVE_HEAD = cast(sa.Table, AuditHead.__table__).update().where(AuditHead.id == 1)


def append(
    session: Session, actor: Actor, action: str, entity: str, entity_id: object, payload: dict[str, Any]
) -> AuditEntry:
    """Append one entry inside the caller's transaction (locks the chain head until commit).

    Runs three Core statements on the session's connection (read the head, insert the entry, move the
    head), after flushing the session's pending changes, and returns the entry as a transient object.
    """
    key = chain_key(session)
    session.flush()
    connection = session.connection()
    head = connection.execute(_HEAD).first()
    if head is None:
        raise IntegrityError(
            "The audit chain has no head row: the database was not created by the register's "
            "migrations; run `kalkan serve` or kalkan.register.db.migrate once."
        )
    if head.scheme != SCHEME:
        raise IntegrityError(
            "The audit chain is not keyed yet: open the register with open_register, which re-chains it."
        )
    seq, at, body = head.seq + 1, utcnow(), _canonical(payload)
    digest = entry_mac(key, seq, at, actor.id, actor.name, action, entity, str(entity_id), body, head.hash)
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
            return (
                f"Audit chain verifies under the audit key: {self.entries} entries, head at {self.head_seq}."
            )
        return f"Audit chain is broken at entry {self.broken_seq}: {self.problem}"


def _walk(session: Session, digest: Any) -> Iterator[tuple[AuditEntry, str | None]]:
    """Each entry with the problem found at it (None when it verifies), stopping at the first problem."""
    prev, expected_seq = GENESIS, 1
    for e in iter_entries(session):
        where = f"{e.action} {e.entity} {e.entity_id} by {e.actor} at {e.at.isoformat()}"
        if e.seq != expected_seq:
            yield e, f"entry {expected_seq} is missing (the next stored entry is {e.seq}, {where})."
            return
        if e.prev_hash != prev:
            yield e, f"its previous-hash does not match entry {e.seq - 1} ({where})."
            return
        if (
            digest(e.seq, e.at, e.actor_id, e.actor, e.action, e.entity, e.entity_id, e.payload, prev)
            != e.hash
        ):
            yield e, f"its content does not match its MAC under the audit key: it was altered ({where})."
            return
        yield e, None
        prev, expected_seq = e.hash, e.seq + 1


def verify_chain(session: Session, *, key: bytes | None = None) -> ChainReport:
    """Recompute every MAC in order; report the first entry whose link or content does not match."""
    head = session.scalar(sa.select(AuditHead).where(AuditHead.id == 1))
    if head is None:
        return ChainReport(False, 0, -1, 1, "the chain has no head row.")
    if head.scheme != SCHEME:
        return ChainReport(False, 0, head.seq, 1, "the chain is not keyed yet: open the register once.")
    key = key if key is not None else chain_key(session)
    if head.key_id != key_id(key):
        return ChainReport(
            False,
            0,
            head.seq,
            1,
            f"the chain was sealed with audit key {head.key_id}, not with the key given ({key_id(key)}): "
            "set KALKAN_REGISTER_AUDIT_KEY or its key file to the register's own audit key.",
        )
    count, last = 0, GENESIS

    def mac(*fields: Any) -> str:
        return entry_mac(key, *fields)

    for entry, problem in _walk(session, mac):
        if problem is not None:
            return ChainReport(
                False, count, entry.seq, entry.seq if "missing" not in problem else count + 1, problem
            )
        count, last = count + 1, entry.hash
    if head.seq != count or head.hash != last:
        return ChainReport(
            False,
            count,
            head.seq,
            count + 1,
            f"the head says entry {head.seq} but the log ends at entry {count}: "
            "entries after it were deleted.",
        )
    return ChainReport(True, count, head.seq)


# --- who opened personal data -----------------------------------------------------------------------


def note_personal(session: Session, actor: Actor, incident_id: int) -> None:
    """Remember that ``actor`` was shown the personal data of an incident in this session; the
    register writes it into the chain before the answer leaves (:func:`record_personal`)."""
    opened: dict[Actor, list[int]] = session.info.setdefault("opened", {})
    opened.setdefault(actor, []).append(incident_id)


def note_record_personal(session: Session, actor: Actor, kind: str, record_id: int) -> None:
    """Like :func:`note_personal`, for a mission record (a return visit, a detention visit, a dispute)."""
    opened: dict[Actor, list[tuple[str, int]]] = session.info.setdefault("opened_records", {})
    opened.setdefault(actor, []).append((kind, record_id))


def record_personal(
    session: Session,
    opened: dict[Actor, list[int]] | None = None,
    opened_records: dict[Actor, list[tuple[str, int]]] | None = None,
) -> None:
    """Write the noted openings of personal data into the chain (one entry per actor and session for
    incidents, one per actor and kind of mission record)."""
    if opened is None and opened_records is None:
        opened = session.info.pop("opened", None)
        opened_records = session.info.pop("opened_records", None)
    for actor, ids in (opened or {}).items():
        unique = sorted(set(ids))
        entity_id = unique[0] if len(unique) == 1 else f"{len(unique)} incidents"
        append(session, actor, "open_personal", "incident", entity_id, {"ids": unique})
    for actor, records in (opened_records or {}).items():
        by_kind: dict[str, set[int]] = defaultdict(set)
        for kind, record_id in records:
            by_kind[kind].add(record_id)
        for kind, id_set in sorted(by_kind.items()):
            unique = sorted(id_set)
            entity_id = unique[0] if len(unique) == 1 else f"{len(unique)} records"
            append(session, actor, "open_personal", kind, entity_id, {"ids": unique})


# --- anchors --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """The chain's head at one moment, for keeping outside the server (printed, mailed, posted)."""

    seq: int
    hash: str
    at: str
    key_id: str

    def to_json(self) -> str:
        """The anchor as one line of JSON."""
        return json.dumps(
            {"seq": self.seq, "hash": self.hash, "at": self.at, "key_id": self.key_id}, sort_keys=True
        )

    @classmethod
    def from_text(cls, text: str, where: str) -> Anchor:
        """Read an anchor written by :meth:`to_json` (``where`` names the file in the error)."""
        try:
            data = json.loads(text)
            return cls(int(data["seq"]), str(data["hash"]), str(data["at"]), str(data["key_id"]))
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(
                f"{where} is not an anchor written by `kalkan register anchor` ({error}): "
                "give the file that command wrote."
            ) from error


def anchor(session: Session) -> Anchor:
    """The chain's current head as an :class:`Anchor` (the chain must verify first)."""
    report = verify_chain(session)
    if not report.ok:
        raise IntegrityError(report.message())
    head = session.scalar(sa.select(AuditHead).where(AuditHead.id == 1))
    assert head is not None
    return Anchor(head.seq, head.hash, utcnow().isoformat(timespec="seconds"), head.key_id or "")


def verify_anchor(session: Session, kept: Anchor) -> str | None:
    """None when the chain still holds the anchored entry with the anchored MAC, else what is wrong.

    With :func:`verify_chain` passing, every entry up to the anchor is then the one that was there
    when the anchor was taken: changing any of them would change the anchored MAC.
    """
    head = session.scalar(sa.select(AuditHead).where(AuditHead.id == 1))
    if head is None or head.key_id != kept.key_id:
        return (
            f"the anchor is of audit key {kept.key_id}, the chain of "
            f"{head.key_id if head else 'none'}: it is another register's anchor or the chain was re-keyed."
        )
    stored = session.scalar(sa.select(AuditEntry.hash).where(AuditEntry.seq == kept.seq))
    if stored is None:
        return (
            f"entry {kept.seq}, anchored at {kept.at}, is gone (the chain ends at {head.seq}): "
            "entries up to the anchor were cut."
        )
    if stored != kept.hash:
        return (
            f"entry {kept.seq} has MAC {stored[:16]}..., the anchor taken at {kept.at} says "
            f"{kept.hash[:16]}...: the chain up to it was rewritten."
        )
    return None


# --- re-chaining a chain written before the key -----------------------------------------------------


def seal_chain(session: Session, key: bytes) -> int:
    """Make the chain keyed (once, in a write session); returns how many old entries were re-chained.

    A register written before migration 0003 has an unkeyed SHA-256 chain. It is verified first (a
    broken chain is refused: re-keying it would launder the tampering), then every entry gets its MAC
    under ``key`` in order, access-granting rows get their seals, and a ``rechain`` entry records the
    old head, so the chain itself says when and from what it was keyed. An empty chain is just marked.
    A keyed chain is checked to be of this key.
    """
    head = session.scalar(sa.select(AuditHead).where(AuditHead.id == 1).with_for_update())
    if head is None:
        raise IntegrityError("The audit chain has no head row: run the register's migrations.")
    if head.scheme == SCHEME:
        if head.key_id != key_id(key):
            raise IntegrityError(
                f"The audit chain was sealed with audit key {head.key_id}, but the key loaded is "
                f"{key_id(key)}: set KALKAN_REGISTER_AUDIT_KEY (or its key file) to the register's audit key."
            )
        return 0
    old_head, count, prev = head.hash, 0, GENESIS
    for entry, problem in _walk(session, legacy_hash):
        if problem is not None:
            raise IntegrityError(
                f"The unkeyed audit chain is broken at entry {entry.seq}: {problem} Re-keying it would hide "
                "that; restore the database from a backup, then open it again."
            )
        count += 1
    if count != head.seq:
        raise IntegrityError(
            f"The unkeyed audit chain ends at entry {count} but its head says {head.seq}: entries were "
            "deleted; restore the database from a backup, then open it again."
        )
    table = cast(sa.Table, AuditEntry.__table__)
    for entry in list(iter_entries(session)):
        mac = entry_mac(
            key,
            entry.seq,
            entry.at,
            entry.actor_id,
            entry.actor,
            entry.action,
            entry.entity,
            entry.entity_id,
            entry.payload,
            prev,
        )
        session.connection().execute(
            table.update().where(table.c.seq == entry.seq), {"prev_hash": prev, "hash": mac}
        )
        prev = mac
    session.expire_all()
    head.hash, head.scheme, head.key_id = prev, SCHEME, key_id(key)
    session.flush()
    if count == 0:
        return 0
    system = Actor.system("migration 0003")
    append(
        session,
        system,
        "rechain",
        "chain",
        count,
        {"scheme": SCHEME, "entries": count, "unkeyed_head": old_head, "key_id": key_id(key)},
    )
    for user in session.scalars(sa.select(User).order_by(User.id)):
        user.seal = row_seal(key, "users", user_view(user))
        append(session, system, "baseline", "user", user.id, _user_entry(user))
    for share in session.scalars(sa.select(Share)):
        share.seal = row_seal(key, "shares", share_view(share))
    for attachment in session.scalars(sa.select(Attachment)):
        attachment.seal = row_seal(key, "attachments", attachment_view(attachment))
    session.flush()
    return count


# --- views of rows, as the chain and the seals record them -------------------------------------------


def user_view(user: User) -> dict[str, Any]:
    """What a user's seal covers."""
    return {
        "id": user.id,
        "name": user.name,
        "role": user.role,
        "token_hash": user.token_hash,
        "active": bool(user.active),
        "token_expires_at": _plain(user.token_expires_at),
    }


def _user_entry(user: User) -> dict[str, Any]:
    """A user as the chain records it: the token only as the SHA-256 of its stored hash."""
    return {
        "name": user.name,
        "role": user.role,
        "active": bool(user.active),
        "token_sha256": hashlib.sha256(user.token_hash.encode()).hexdigest(),
        "token_expires_at": _plain(user.token_expires_at),
    }


def user_entry(user: User) -> dict[str, Any]:
    """The payload of a user's chain entry (created, token issued, revoked, role changed)."""
    return _user_entry(user)


def share_view(share: Share) -> dict[str, Any]:
    """What a share's seal covers."""
    return {"id": share.id, "incident_id": share.incident_id, "role": share.role, "user_id": share.user_id}


def attachment_view(attachment: Attachment) -> dict[str, Any]:
    """What an attachment's seal covers."""
    return {
        "id": attachment.id,
        "incident_id": attachment.incident_id,
        "sha256": attachment.sha256,
        "filename": attachment.filename,
        "media_type": attachment.media_type,
        "size_bytes": attachment.size_bytes,
        "uploaded_by": attachment.uploaded_by,
    }


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

# Changed later by entries of their own (status, link, reseal) or not checked (updated_at).
_MUTABLE = ("status", "lead_id", "updated_at", "personal_sha256")


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


@dataclass
class _Replay:
    """The state of every table as the chain records it."""

    incidents: dict[int, list[Any]] = field(default_factory=dict)  # fixed hash, status, lead, personal
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    names: dict[str, int] = field(default_factory=dict)
    shares: Counter[tuple[int, str | None, int | None]] = field(default_factory=Counter)
    attachments: dict[int, dict[str, Any]] = field(default_factory=dict)
    steps: dict[int, list[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(list))
    links: Counter[tuple[int, int, int | None, str]] = field(default_factory=Counter)
    mission: dict[tuple[str, int], str] = field(default_factory=dict)  # (kind, id) -> view digest
    mission_links: dict[tuple[str, int], list[int]] = field(default_factory=dict)


def _replay(session: Session) -> _Replay:
    state = _Replay()
    from kalkan.register.mission import view_digest

    for e in iter_entries(session):
        payload = json.loads(e.payload)
        if "rows" in payload and e.action in ("create", "step", "reseal"):  # a mission record
            for kind, view in payload["rows"]:
                state.mission[(kind, int(view["id"]))] = view_digest(view)
            if "incident_ids" in payload:
                state.mission_links[(e.entity, int(e.entity_id))] = sorted(payload["incident_ids"])
            continue
        if e.entity == "user":
            uid = int(e.entity_id)
            user = state.users.setdefault(uid, {})
            user.update(
                {
                    k: v
                    for k, v in payload.items()
                    if k in ("name", "role", "active", "token_sha256", "token_expires_at")
                }
            )
            if e.action == "add_user":
                user.setdefault("active", True)
            if e.action == "revoke_user":
                user["active"] = False
            if "name" in user:
                state.names[user["name"]] = uid
        elif e.entity == "attachment" and e.action == "attach":
            state.attachments[int(e.entity_id)] = {
                "incident_id": payload.get("incident_id"),
                "sha256": payload.get("sha256"),
                "filename": payload.get("filename"),
                "media_type": payload.get("media_type"),
                "size_bytes": payload.get("size_bytes"),
                "uploaded_by": e.actor_id,
            }
        elif e.entity == "incident":
            iid = int(e.entity_id)
            if e.action == "create":
                state.incidents[iid] = [
                    _fixed_part(payload),
                    payload.get("status"),
                    payload.get("lead_id"),
                    payload.get("personal_sha256"),
                ]
            elif e.action == "status":
                if iid in state.incidents:
                    state.incidents[iid][1] = payload["to"]
                state.steps[iid].append((payload["from"], payload["to"], e.actor_id, payload["reason"]))
            elif e.action == "reseal" and iid in state.incidents:
                state.incidents[iid][3] = payload.get("personal_sha256")
            elif e.action == "link":
                for member in payload["members"]:
                    if member in state.incidents:
                        state.incidents[member][2] = None if member == payload["lead"] else payload["lead"]
                state.links[(payload["a"], payload["b"], e.actor_id, payload["reason"])] += 1
            elif e.action == "share":
                user_id = payload.get("user_id")
                if user_id is None and payload.get("user") is not None:
                    user_id = state.names.get(payload["user"], -1)
                state.shares[(iid, payload.get("role"), user_id)] += 1
    return state


def verify_records(session: Session, *, limit: int = 20) -> list[str]:
    """Replay the chain and compare every row of every table that matters with it; one line per row
    that differs.

    Catches edits made behind the register's back (straight into the database) that leave the
    chain itself intact: a changed description, grade or ciphertext, a status or link no entry
    recorded, a role raised, a token hash replaced, a revoked user reactivated, a share added, an
    attachment pointed at another file, a status change's author forged, a row the chain never created
    or a created row that is gone.
    """
    state = _replay(session)
    problems: list[str] = []
    problems += _check_incidents(session, state.incidents, limit)
    problems += _check_users(session, state)
    problems += _check_shares(session, state)
    problems += _check_attachments(session, state)
    problems += _check_steps(session, state)
    problems += _check_links(session, state)
    problems += _check_mission(session, state)
    return problems[:limit]


def _check_incidents(session: Session, expected: dict[int, list[Any]], limit: int) -> list[str]:
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
            if view["personal_sha256"] != want[3]:
                problems.append(f"incident {incident.id}: personal data ciphertext differs from the chain's")
        if len(batch) < _BATCH:
            break
        last = batch[-1].id
    problems += [
        f"incident {iid} was created in the chain but is missing from the database" for iid in expected
    ]
    return problems


def _check_users(session: Session, state: _Replay) -> list[str]:
    problems = []
    seen = set()
    for user in session.scalars(sa.select(User).order_by(User.id)):
        seen.add(user.id)
        want = state.users.get(user.id)
        if want is None:
            problems.append(
                f"user {user.id} ({user.name!r}) is in the database but no entry of the chain added it"
            )
            continue
        have = _user_entry(user)
        for name in ("name", "role", "active", "token_sha256", "token_expires_at"):
            if name in want and want[name] != have[name]:
                shown = (
                    "was replaced"
                    if name == "token_sha256"
                    else f"is {have[name]!r} but the chain says {want[name]!r}"
                )
                problems.append(f"user {user.id} ({user.name!r}): {name.replace('_sha256', ' hash')} {shown}")
    problems += [
        f"user {uid} was added in the chain but is missing from the database"
        for uid in state.users
        if uid not in seen
    ]
    return problems


def _check_shares(session: Session, state: _Replay) -> list[str]:
    have = Counter((s.incident_id, s.role, s.user_id) for s in session.scalars(sa.select(Share)))
    problems = [
        f"share of incident {i} with {'role ' + str(r) if r else 'user ' + str(u)} is in the database "
        "but no entry of the chain made it"
        for (i, r, u) in (have - state.shares)
    ]
    problems += [
        f"share of incident {i} with {'role ' + str(r) if r else 'user ' + str(u)} was made in the "
        "chain but is missing from the database"
        for (i, r, u) in (state.shares - have)
    ]
    return problems


def _check_attachments(session: Session, state: _Replay) -> list[str]:
    problems, seen = [], set()
    for row in session.scalars(sa.select(Attachment).order_by(Attachment.id)):
        seen.add(row.id)
        want = state.attachments.get(row.id)
        if want is None:
            problems.append(f"attachment {row.id} is in the database but no entry of the chain attached it")
            continue
        have = attachment_view(row)
        changed = [k for k, v in want.items() if have.get(k) != v]
        if changed:
            problems.append(f"attachment {row.id}: {', '.join(changed)} differ from what the chain recorded")
    problems += [
        f"attachment {a} was attached in the chain but is missing from the database"
        for a in state.attachments
        if a not in seen
    ]
    return problems


def _check_steps(session: Session, state: _Replay) -> list[str]:
    have: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in session.scalars(sa.select(StatusChange).order_by(StatusChange.id)):
        have[row.incident_id].append((row.from_status, row.to_status, row.user_id, row.reason))
    problems = []
    for iid in sorted(set(have) | set(state.steps)):
        got, want = have.get(iid, []), state.steps.get(iid, [])
        if got != want:
            at = next(
                (n for n, (a, b) in enumerate(zip(got, want, strict=False)) if a != b),
                min(len(got), len(want)),
            )
            problems.append(
                f"incident {iid}: status change {at + 1} (who, from, to or why) differs from the chain"
            )
    return problems


def _check_links(session: Session, state: _Replay) -> list[str]:
    have: Counter[tuple[int, int, int | None, str]] = Counter(
        (r.incident_a, r.incident_b, r.user_id, r.reason) for r in session.scalars(sa.select(Link))
    )
    problems = [
        f"link of incidents {a} and {b} (by user {u}) is in the database but not in the chain"
        for (a, b, u, _r) in (have - state.links)
    ]
    problems += [
        f"link of incidents {a} and {b} (by user {u}) is in the chain but not in the database"
        for (a, b, u, _r) in (state.links - have)
    ]
    return problems


def _check_mission(session: Session, state: _Replay) -> list[str]:
    """Every mission record's row against the last view the chain holds of it, and its incident links."""
    from kalkan.register.db import RecordLink
    from kalkan.register.mission import KINDS, record_view, view_digest

    problems, seen = [], set()
    for kind, table in KINDS.items():
        model: Any = table
        for row in session.scalars(sa.select(model).order_by(model.id)):
            key = (kind, row.id)
            seen.add(key)
            want = state.mission.get(key)
            label = kind.replace("_", " ")
            if want is None:
                problems.append(f"{label} {row.id} is in the database but no entry of the chain created it")
            elif view_digest(record_view(row)) != want:
                problems.append(f"{label} {row.id} differs from what the chain recorded")
    problems += [
        f"{kind.replace('_', ' ')} {rid} was created in the chain but is missing from the database"
        for kind, rid in state.mission
        if (kind, rid) not in seen
    ]
    have: dict[tuple[str, int], list[int]] = defaultdict(list)
    for link in session.scalars(sa.select(RecordLink).order_by(RecordLink.incident_id)):
        have[(link.record_kind, link.record_id)].append(link.incident_id)
    for key in sorted(set(have) | {k for k, v in state.mission_links.items() if v}):
        if have.get(key, []) != state.mission_links.get(key, []):
            problems.append(
                f"{key[0].replace('_', ' ')} {key[1]}: its links to incidents differ from the chain's"
            )
    return problems


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
