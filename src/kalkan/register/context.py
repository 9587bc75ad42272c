"""One open register: its database, its sealing key and its evidence folder, behind one object.

The service functions take a session and an actor; the session comes from :meth:`Register.read`
or :meth:`Register.write` and carries the sealer and the evidence store, so callers (API, pages,
CLI) never handle keys or paths themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy.orm import Session

from kalkan.errors import TooManyAttempts
from kalkan.register import audit
from kalkan.register.auth import Actor, Role
from kalkan.register.crypto import KeySet, Sealer, load_keys
from kalkan.register.db import Database, default_data_dir
from kalkan.register.evidence import EvidenceStore
from kalkan.register.throttle import Throttle

__all__ = ["Register", "evidence_of", "open_register", "sealer_of"]

T = TypeVar("T")
_log = logging.getLogger("kalkan.register.auth")


class Register:
    """A migrated register database with its key and evidence store.

    Parameters
    ----------
    db_url
        SQLAlchemy URL; None means SQLite in ``data_dir``.
    data_dir
        Folder for the default SQLite file, the key file and the evidence files; default
        ``platformdirs.user_data_dir("kalkan")/register``.
    synchronous
        SQLite's ``synchronous`` pragma, see :class:`kalkan.register.db.Database`.
    """

    def __init__(
        self, db_url: str | None = None, *, data_dir: Path | None = None, synchronous: str = "FULL"
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.db = Database(db_url, data_dir=self.data_dir, synchronous=synchronous)
        self.keys: KeySet = load_keys(self.data_dir)
        self.sealer = Sealer(self.keys.data)
        self.evidence = EvidenceStore(self.data_dir / "evidence")
        self.throttle = Throttle()

    def _prepare(self, session: Session) -> Session:
        session.info["sealer"] = self.sealer
        session.info["evidence"] = self.evidence
        session.info["chain_key"] = self.keys.chain
        return session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (rolled back at the end). Personal data it showed is written into the
        audit chain when the block ends, before the caller can hand it out."""
        with self.db.read() as session:
            yield self._prepare(session)
            opened = session.info.pop("opened", None)
            opened_records = session.info.pop("opened_records", None)
        if opened or opened_records:
            self.write_batched(lambda s: audit.record_personal(s, opened or {}, opened_records or {}))

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session for one write transaction (committed at the end, rolled back on error)."""
        with self.db.write() as session:
            yield self._prepare(session)
            audit.record_personal(session)

    def write_batched(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in a write transaction shared with other threads' concurrent writes (group
        commit, :meth:`kalkan.register.db.Database.write_batched`); returns once it is committed."""

        def job(session: Session) -> T:
            result = work(session)
            audit.record_personal(session)
            return result

        return self.db.write_batched(job, prepare=self._prepare)

    def throttle_locked(self, address: str) -> bool:
        """Whether sign-ins from ``address`` are refused at the moment."""
        try:
            self.throttle.check(f"address:{address}")
        except TooManyAttempts:
            return True
        return False

    def auth_failed(self, address: str, route: str, user: Actor | None = None) -> None:
        """Count, log and audit one failed sign-in (per address, and per user when one is known)."""
        keys = [f"address:{address}"] + ([f"user:{user.id}"] if user is not None else [])
        locked = [self.throttle.fail(key) for key in keys]
        _log.warning("failed sign-in from %s on %s%s", address, route, f" for {user.name}" if user else "")
        who = Actor(None, f"address {address}", Role.MONITOR)
        payload = {"address": address, "route": route, "user": user.name if user else None}
        self.write_batched(lambda s: audit.append(s, who, "auth_failed", "auth", address, payload))
        if any(locked):
            _log.warning("sign-ins from %s locked after repeated failures", address)
            self.write_batched(lambda s: audit.append(s, who, "auth_locked", "auth", address, payload))

    def seal_chain(self) -> int:
        """Key the audit chain if it is not yet (see :func:`kalkan.register.audit.seal_chain`)."""
        with self.write() as session:
            return audit.seal_chain(session, self.keys.chain)

    def key_beside_data(self) -> str | None:
        """A sentence when a key file sits in the database's folder (a copy of it holds both), else None."""
        folders = {self.data_dir.resolve()}
        if self.db.is_sqlite:
            import sqlalchemy as sa

            database = sa.engine.make_url(self.db.url).database
            if database:
                folders.add(Path(database).expanduser().resolve().parent)
        for what, path in (("data key", self.keys.data_file), ("audit key", self.keys.chain_file)):
            if path is not None and path.resolve().parent in folders:
                return (
                    f"The {what} {path} is in the database's folder, so a copy of that folder holds "
                    "both: move it to the key folder (`kalkan register keys` shows where) or set "
                    "KALKAN_REGISTER_KEY_FILE."
                )
        return None

    def close(self) -> None:
        """Release the database connections."""
        self.db.dispose()

    def __enter__(self) -> Register:
        return self

    def __exit__(self, *exc: object) -> None:
        """``with open_register(...) as register:`` closes it at the end of the block, also on error."""
        self.close()


def sealer_of(session: Session) -> Sealer:
    """The sealer that :meth:`Register.read` / :meth:`Register.write` put on ``session``."""
    return _carried(session, "sealer", Sealer)


def evidence_of(session: Session) -> EvidenceStore:
    """The evidence store that :meth:`Register.read` / :meth:`Register.write` put on ``session``."""
    return _carried(session, "evidence", EvidenceStore)


def _carried(session: Session, key: str, kind: type[T]) -> T:
    value = session.info.get(key)
    if not isinstance(value, kind):
        raise TypeError(
            f"This session carries no {kind.__name__} under info[{key!r}]: open it with "
            "Register.read() or Register.write(), not from the Database directly."
        )
    return value


def open_register(
    db_url: str | None = None, *, data_dir: Path | None = None, synchronous: str = "FULL"
) -> Register:
    """Open (creating or upgrading the schema if needed) the register at ``db_url``."""
    register = Register(db_url, data_dir=data_dir, synchronous=synchronous)
    try:
        register.db.migrate()
        register.seal_chain()
    except BaseException:
        register.close()  # a register that cannot open leaves no connection behind
        raise
    return register
