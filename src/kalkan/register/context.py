"""One open register: its database, its sealing key and its evidence folder, behind one object.

The service functions take a session and an actor; the session comes from :meth:`Register.read`
or :meth:`Register.write` and carries the sealer and the evidence store, so callers (API, pages,
CLI) never handle keys or paths themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy.orm import Session

from kalkan.register.crypto import Sealer, load_key
from kalkan.register.db import Database, default_data_dir
from kalkan.register.evidence import EvidenceStore

__all__ = ["Register", "open_register"]

T = TypeVar("T")


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
        self.sealer = Sealer(load_key(self.data_dir))
        self.evidence = EvidenceStore(self.data_dir / "evidence")

    def _prepare(self, session: Session) -> Session:
        session.info["sealer"] = self.sealer
        session.info["evidence"] = self.evidence
        return session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (rolled back at the end)."""
        with self.db.read() as session:
            yield self._prepare(session)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session for one write transaction (committed at the end, rolled back on error)."""
        with self.db.write() as session:
            yield self._prepare(session)

    def write_batched(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in a write transaction shared with other threads' concurrent writes (group
        commit, :meth:`kalkan.register.db.Database.write_batched`); returns once it is committed."""
        return self.db.write_batched(work, prepare=self._prepare)

    def close(self) -> None:
        """Release the database connections."""
        self.db.dispose()


def open_register(
    db_url: str | None = None, *, data_dir: Path | None = None, synchronous: str = "FULL"
) -> Register:
    """Open (creating or upgrading the schema if needed) the register at ``db_url``."""
    register = Register(db_url, data_dir=data_dir, synchronous=synchronous)
    register.db.migrate()
    return register
