"""Who may do what: roles, bearer tokens stored hashed, and per-incident restriction.

Roles, from least to most trusted:

- ``monitor`` files reports and attaches evidence to them; sees the reports they filed and those
  shared with them (or open to all).
- ``analyst`` sees every report, verifies (status), links duplicates, exports and imports; sees
  personal data only where a report was shared with them by name.
- ``investigator`` sees every report and its evidence, and the personal data of reports shared
  with the investigator role or with them by name.
- ``admin`` manages users and sharing and sees everything.

A new report is *restricted*: until someone shares it, its personal data is visible only to its
reporter and to admins (Uwazi's "restricted by default"). Tokens are 256-bit random strings; the
database keeps only their SHA-256, which is enough for high-entropy secrets (no password stretching
needed) and lets a token be found by an index lookup. Each user row carries a seal (a MAC under the
audit key): a role raised, a token hash swapped or a revoked user reactivated straight in the
database breaks the seal, and the token no longer authenticates.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kalkan.errors import AccessDenied, InputError, NotFound
from kalkan.register.db import Incident, Share, User, utcnow

__all__ = [
    "Actor",
    "Role",
    "add_user",
    "authenticate",
    "can",
    "check_confusable",
    "hash_token",
    "issue_token",
    "normalise_name",
    "user_is_sealed",
    "list_users",
    "may_see_personal",
    "new_token",
    "not_found",
    "require",
    "revoke_user",
    "share_is_sealed",
    "visible_clause",
]


class Role(StrEnum):
    """A user's role; what each may do is in :data:`RIGHTS`."""

    MONITOR = "monitor"
    ANALYST = "analyst"
    INVESTIGATOR = "investigator"
    ADMIN = "admin"


RIGHTS: dict[str, frozenset[Role]] = {
    # right -> roles that have it
    "create": frozenset(Role),
    "read": frozenset(Role),
    "read_all": frozenset({Role.ANALYST, Role.INVESTIGATOR, Role.ADMIN}),
    "set_status": frozenset({Role.ANALYST, Role.ADMIN}),
    "link": frozenset({Role.ANALYST, Role.ADMIN}),
    "attach": frozenset(Role),
    "read_evidence": frozenset({Role.INVESTIGATOR, Role.ADMIN}),
    "export": frozenset({Role.ANALYST, Role.INVESTIGATOR, Role.ADMIN}),
    "import": frozenset({Role.ANALYST, Role.ADMIN}),
    "share": frozenset({Role.INVESTIGATOR, Role.ADMIN}),
    "audit": frozenset({Role.ADMIN}),
    "users": frozenset({Role.ADMIN}),
}


@dataclass(frozen=True)
class Actor:
    """The user a service call acts for (``id`` None for the system itself, e.g. an import)."""

    id: int | None
    name: str
    role: Role

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """An admin actor for maintenance done from the command line."""
        return cls(None, name, Role.ADMIN)


def can(actor: Actor, right: str) -> bool:
    """Whether ``actor``'s role has ``right`` (a key of :data:`RIGHTS`)."""
    return actor.role in RIGHTS[right]


def require(actor: Actor, right: str, what: str) -> None:
    """Refuse ``actor`` (AccessDenied) unless its role has ``right``; ``what`` completes "may not ..."."""
    if not can(actor, right):
        raise AccessDenied(f"The role {actor.role.value!r} may not {what}; ask an admin for a role that may.")


def not_found(what: str) -> NotFound:
    """The one answer for "does not exist" and "not open to you": the two must not be told apart."""
    return NotFound(f"{what} does not exist or is not open to you: check the id, or ask an admin.")


def new_token() -> str:
    """A fresh bearer token (43 characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_name(name: str, *, what: str = "User name") -> str:
    """A name as the register keeps it: NFKC, bidi and other format controls removed, spaces trimmed.

    Refuses control characters and (for user names) names mixing scripts in a way that can imitate
    another name, e.g. "аdmin" with a Cyrillic "а" (Unicode TR 39 confusables).
    """
    text = unicodedata.normalize("NFKC", name)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf").strip()
    if not text or len(text) > 100:
        raise InputError(f"{what} {name!r} must be 1-100 characters (after removing invisible ones).")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InputError(f"{what} {text!r} contains control characters: use letters, digits and spaces.")
    return text


def check_confusable(name: str) -> None:
    """Refuse a user name that mixes scripts so as to look like another (TR 39 confusables)."""
    from confusable_homoglyphs import confusables

    if confusables.is_dangerous(name):
        raise InputError(
            f"User name {name!r} mixes scripts so that it can pass for another name "
            "(like a Cyrillic 'а' in 'admin'): write it in one script."
        )


def _seal_user(session: Session, user: User) -> None:
    from kalkan.register import audit

    session.flush()
    user.seal = audit.row_seal(audit.chain_key(session), "users", audit.user_view(user))


def _record_user(session: Session, actor: Actor | None, action: str, user: User) -> None:
    from kalkan.register import audit

    _seal_user(session, user)
    audit.append(session, actor or Actor.system("cli"), action, "user", user.id, audit.user_entry(user))


def add_user(
    session: Session,
    name: str,
    role: str,
    *,
    actor: Actor | None = None,
    expires_at: datetime | None = None,
) -> tuple[User, str]:
    """Create a user with ``role``; returns the user and its token (shown once, stored hashed).

    The user enters the audit chain (as done by ``actor``, default the command line) and gets its seal.
    ``expires_at`` (aware UTC) ends the token; None means it works until revoked.
    """
    name = normalise_name(name)
    check_confusable(name)
    try:
        role_ = Role(role)
    except ValueError as error:
        raise InputError(f"Role {role!r} is unknown: use one of {', '.join(Role)}.") from error
    if session.scalar(sa.select(User.id).where(User.name == name)) is not None:
        raise InputError(f"User {name!r} already exists: choose another name.")
    token = new_token()
    user = User(
        name=name,
        role=role_.value,
        token_hash=hash_token(token),
        active=True,
        created_at=utcnow(),
        token_expires_at=expires_at,
    )
    session.add(user)
    _record_user(session, actor, "add_user", user)
    return user, token


def issue_token(
    session: Session, name: str, *, actor: Actor | None = None, expires_at: datetime | None = None
) -> str:
    """Give a user a new token (the old one stops working); returns it. Recorded in the chain."""
    user = _user_named(session, name)
    token = new_token()
    user.token_hash, user.token_expires_at, user.active = hash_token(token), expires_at, True
    _record_user(session, actor, "issue_token", user)
    return token


def _user_named(session: Session, name: str) -> User:
    user = session.scalar(sa.select(User).where(User.name == normalise_name(name)))
    if user is None:
        raise InputError(f"No user is named {name!r}: list users with `kalkan users list`.")
    return user


def revoke_user(session: Session, name: str, *, actor: Actor | None = None) -> User:
    """Deactivate a user; their token and web sessions stop working (the record stays for the audit log)."""
    user = _user_named(session, name)
    user.active = False
    _record_user(session, actor, "revoke_user", user)
    return user


def list_users(session: Session) -> list[User]:
    """All users, oldest first."""
    return list(session.scalars(sa.select(User).order_by(User.id)))


def user_is_sealed(session: Session, user: User) -> bool:
    """Whether the user's row is as the register wrote it (its seal matches under the audit key)."""
    from kalkan.register import audit

    key = session.info.get("chain_key")
    if key is None or user.seal is None:
        return False
    return hmac.compare_digest(user.seal, audit.row_seal(key, "users", audit.user_view(user)))


_BY_TOKEN = sa.select(User).where(User.token_hash == sa.bindparam("h"))


def authenticate(session: Session, token: str) -> Actor | None:
    """The active user holding ``token``, or None (wrong, revoked, expired, or a forged row)."""
    if not token or len(token) > 200:
        return None
    user = session.scalar(_BY_TOKEN, {"h": hash_token(token)})
    if user is None or not user.active or not user_is_sealed(session, user):
        return None
    if user.token_expires_at is not None and user.token_expires_at <= utcnow():
        return None
    return Actor(user.id, user.name, Role(user.role))


def _shared_with(actor: Actor) -> sa.ColumnElement[bool]:
    share = sa.select(Share.id).where(
        Share.incident_id == Incident.id, sa.or_(Share.role == actor.role.value, Share.user_id == actor.id)
    )
    return share.exists()


def visible_clause(actor: Actor) -> sa.ColumnElement[bool]:
    """SQL condition: the incidents ``actor`` may see at all."""
    if can(actor, "read_all"):
        return sa.true()
    return sa.or_(Incident.reporter_id == actor.id, sa.not_(Incident.restricted), _shared_with(actor))


def may_see_personal(session: Session, actor: Actor, incident: Incident) -> bool:
    """Whether ``actor`` may see the personal data (witnesses, source identity) of ``incident``."""
    if actor.role is Role.ADMIN or (actor.id is not None and incident.reporter_id == actor.id):
        return True
    if actor.role is Role.MONITOR:
        return False
    roles = [actor.role.value] if actor.role is Role.INVESTIGATOR else []
    query = sa.select(Share).where(
        Share.incident_id == incident.id, sa.or_(Share.user_id == actor.id, Share.role.in_(roles))
    )
    return any(share_is_sealed(session, share) for share in session.scalars(query))


def share_is_sealed(session: Session, share: Share) -> bool:
    """Whether a share row is one the register wrote (a share forged in the database opens nothing)."""
    from kalkan.register import audit

    key = session.info.get("chain_key")
    if key is None or share.seal is None:
        return False
    return hmac.compare_digest(share.seal, audit.row_seal(key, "shares", audit.share_view(share)))
