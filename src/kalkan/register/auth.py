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
needed) and lets a token be found by an index lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kalkan.errors import InputError
from kalkan.register.db import Incident, Share, User, utcnow

__all__ = [
    "Actor",
    "Role",
    "add_user",
    "authenticate",
    "can",
    "hash_token",
    "list_users",
    "may_see_personal",
    "new_token",
    "revoke_user",
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


def new_token() -> str:
    """A fresh bearer token (43 characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(session: Session, name: str, role: str) -> tuple[User, str]:
    """Create a user with ``role``; returns the user and its token (shown once, stored hashed)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InputError(f"User name {name!r} must be 1-100 characters.")
    try:
        role_ = Role(role)
    except ValueError as error:
        raise InputError(f"Role {role!r} is unknown: use one of {', '.join(Role)}.") from error
    if session.scalar(sa.select(User.id).where(User.name == name)) is not None:
        raise InputError(f"User {name!r} already exists: choose another name.")
    token = new_token()
    user = User(name=name, role=role_.value, token_hash=hash_token(token), active=True, created_at=utcnow())
    session.add(user)
    session.flush()
    return user, token


def revoke_user(session: Session, name: str) -> User:
    """Deactivate a user; their token stops working at once (the record stays for the audit log)."""
    user = session.scalar(sa.select(User).where(User.name == name))
    if user is None:
        raise InputError(f"No user is named {name!r}: list users with `kalkan users list`.")
    user.active = False
    return user


def list_users(session: Session) -> list[User]:
    """All users, oldest first."""
    return list(session.scalars(sa.select(User).order_by(User.id)))


def authenticate(session: Session, token: str) -> Actor | None:
    """The active user holding ``token``, or None."""
    if not token or len(token) > 200:
        return None
    row = session.execute(
        sa.select(User.id, User.name, User.role).where(User.token_hash == hash_token(token), User.active)
    ).first()
    return Actor(row.id, row.name, Role(row.role)) if row else None


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
    query = sa.select(Share.id).where(
        Share.incident_id == incident.id, sa.or_(Share.user_id == actor.id, Share.role.in_(roles))
    )
    return session.scalar(query.limit(1)) is not None
