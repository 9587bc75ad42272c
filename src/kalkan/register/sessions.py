"""Server-side web sessions, apart from API tokens.

Signing in with a token starts a session: the browser's cookie holds a fresh random session id, never
the token. The database keeps only the id's SHA-256 and a seal (a MAC of the row under the audit key),
so a session row forged or re-pointed at another user straight in the database opens nothing. A
session ends after :data:`IDLE` without a request, at :data:`ABSOLUTE` after sign-in whatever happens,
at sign-out, or when its user is revoked. Sign-in and sign-out enter the audit chain.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kalkan.register import audit
from kalkan.register.auth import Actor, Role, user_is_sealed
from kalkan.register.db import User, WebSession, utcnow

__all__ = ["ABSOLUTE", "IDLE", "TOUCH", "end_session", "session_actor", "start_session"]

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
TOUCH = timedelta(seconds=60)  # last use is written at most this often (a write per page costs)


def _id_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _view(row: WebSession) -> dict[str, object]:
    return {
        "id": row.id,
        "id_hash": row.id_hash,
        "user_id": row.user_id,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
    }


def start_session(session: Session, actor: Actor, address: str) -> str:
    """Start a web session for ``actor`` (a write session); returns the cookie value (shown once)."""
    secret, now = secrets.token_urlsafe(32), utcnow()
    row = WebSession(
        id_hash=_id_hash(secret),
        user_id=actor.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + ABSOLUTE,
    )
    session.add(row)
    session.flush()
    row.seal = audit.row_seal(audit.chain_key(session), "web_sessions", _view(row))
    audit.append(
        session,
        actor,
        "sign_in",
        "session",
        row.id,
        {"address": address, "expires_at": row.expires_at.isoformat()},
    )
    return secret


def session_actor(session: Session, secret: str) -> tuple[Actor, bool] | None:
    """The user of a live web session and whether its last use should be written (``touch``), or None."""
    if not secret or len(secret) > 100:
        return None
    row = session.scalar(sa.select(WebSession).where(WebSession.id_hash == _id_hash(secret)))
    now = utcnow()
    if row is None or row.ended_at is not None or row.expires_at <= now or now - row.last_seen_at > IDLE:
        return None
    expected = audit.row_seal(audit.chain_key(session), "web_sessions", _view(row))
    if row.seal is None or not hmac.compare_digest(row.seal, expected):
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active or not user_is_sealed(session, user):
        return None
    return Actor(user.id, user.name, Role(user.role)), now - row.last_seen_at > TOUCH


def touch_session(session: Session, secret: str) -> None:
    """Record a use of the session (keeps it from idling out)."""
    session.execute(
        sa.update(WebSession).where(WebSession.id_hash == _id_hash(secret)).values(last_seen_at=utcnow())
    )


def end_session(session: Session, actor: Actor | None, secret: str) -> None:
    """End a web session at once (sign-out); the cookie then opens nothing, wherever it was copied."""
    row = session.scalar(sa.select(WebSession).where(WebSession.id_hash == _id_hash(secret)))
    if row is None or row.ended_at is not None:
        return
    row.ended_at = utcnow()
    session.flush()
    audit.append(session, actor or Actor.system("web"), "sign_out", "session", row.id, {})
