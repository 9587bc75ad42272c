"""The register's database: SQLAlchemy 2 models, the engine from a URL, and the migrations.

SQLite (WAL mode, one file under the user's data directory) is the default so a mission can run the
register on a laptop; PostgreSQL is chosen by URL (``postgresql+psycopg://...``) for a server.
The schema is created and upgraded by the Alembic migrations shipped in
``kalkan/register/migrations`` and run at start-up (:func:`migrate`).

Reads and writes take separate paths (:meth:`Database.read`, :meth:`Database.write`): a write on
SQLite begins with ``BEGIN IMMEDIATE`` so two writers never deadlock on a lock upgrade, and every
write serialises on the one-row ``audit_head`` table so the audit chain has no forks. On SQLite,
writers in different processes (``kalkan serve --workers N``, the CLI) also queue on an advisory
file lock beside the database, which wakes the next writer as soon as the last one commits, instead
of SQLite's busy handler, which polls with sleeps of up to 100 ms. :meth:`Database.write_batched`
runs the jobs of writers waiting at the same time in one transaction, one commit (and one fsync)
for all of them: group commit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from kalkan.errors import StoreError

__all__ = [
    "Attachment",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Database",
    "DetentionVisit",
    "Dispute",
    "DisputeStep",
    "Patrol",
    "RecordLink",
    "ReturnVisit",
    "Site",
    "SiteFigure",
    "Incident",
    "Link",
    "Share",
    "StatusChange",
    "User",
    "WebSession",
    "default_data_dir",
    "default_url",
    "migrate",
    "utcnow",
]


def utcnow() -> datetime:
    """Now, timezone-aware UTC (every timestamp the register stores is UTC)."""
    return datetime.now(UTC)


def default_data_dir() -> Path:
    """Where the register keeps its database, key file and evidence by default."""
    import platformdirs

    return Path(platformdirs.user_data_dir("kalkan")) / "register"


def default_url(data_dir: Path | None = None) -> str:
    """The default database URL: an SQLite file ``register.sqlite3`` in ``data_dir``."""
    folder = data_dir or default_data_dir()
    return f"sqlite:///{folder / 'register.sqlite3'}"


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always returned timezone-aware (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise StoreError(f"Timestamp {value.isoformat()} has no time zone: pass an aware datetime (UTC).")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of the register's tables."""


class User(Base):
    """A person who uses the register; the bearer token is stored only as a keyed hash
    (:func:`kalkan.register.auth.hash_token`), so a row written without the key matches no token."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    role: Mapped[str] = mapped_column(sa.String(20))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    seal: Mapped[str | None] = mapped_column(sa.String(64), default=None)  # audit-key MAC of the row


class WebSession(Base):
    """A signed-in browser: its cookie is a random id stored only as a keyed hash; the session ends
    after ``IDLE`` without use, at ``expires_at`` at the latest, or at sign-out (``ended_at``)."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    seal: Mapped[str | None] = mapped_column(sa.String(64), default=None)


class Incident(Base):
    """One report of one incident, in the ``kalkan.model`` event columns plus the register's own.

    ``lead_id`` is NULL for a report that leads its group of linked reports (or stands alone) and
    names the lead otherwise; linked reports are kept, never merged away.
    """

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    event_type: Mapped[str] = mapped_column(sa.String(40))
    sub_event_type: Mapped[str | None] = mapped_column(sa.String(100))
    date_start: Mapped[date] = mapped_column(sa.Date)
    date_end: Mapped[date | None] = mapped_column(sa.Date)
    date_precision: Mapped[str] = mapped_column(sa.String(20))
    latitude: Mapped[float]
    longitude: Mapped[float]
    location_precision: Mapped[str] = mapped_column(sa.String(20))
    country_iso3: Mapped[str | None] = mapped_column(sa.String(3))
    admin1: Mapped[str | None] = mapped_column(sa.String(200))
    admin2: Mapped[str | None] = mapped_column(sa.String(200))
    place_name: Mapped[str | None] = mapped_column(sa.String(200))
    civilian_targeting: Mapped[bool | None]
    perpetrator: Mapped[str | None] = mapped_column(sa.String(200))
    perpetrator_type: Mapped[str | None] = mapped_column(sa.String(100))
    victim_group: Mapped[str | None] = mapped_column(sa.String(200))
    victim_type: Mapped[str | None] = mapped_column(sa.String(100))
    fatalities_best: Mapped[int | None]
    fatalities_low: Mapped[int | None]
    fatalities_high: Mapped[int | None]
    victims: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    source_reliability: Mapped[str] = mapped_column(sa.String(1))
    information_credibility: Mapped[str] = mapped_column(sa.String(1))
    description: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default="reported")
    restricted: Mapped[bool] = mapped_column(default=True)
    reporter_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    personal_sealed: Mapped[str | None] = mapped_column(sa.Text)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    captured_latitude: Mapped[float | None]
    captured_longitude: Mapped[float | None]
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id"))
    source: Mapped[str] = mapped_column(sa.String(40), default="register")
    source_id: Mapped[str | None] = mapped_column(sa.String(100))

    __table_args__ = (
        sa.Index("ix_incidents_type_date", "event_type", "date_start"),
        sa.Index("ix_incidents_type_id", "event_type", "id"),  # a type's list page, newest first
        sa.Index("ix_incidents_date_start", "date_start"),
        sa.Index("ix_incidents_status", "status"),
        sa.Index("ix_incidents_reporter_id", "reporter_id"),
        sa.Index("ix_incidents_lead_id", "lead_id"),
    )


class StatusChange(Base):
    """One step of an incident's status workflow: who, when, from what to what, and why."""

    __tablename__ = "status_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    from_status: Mapped[str] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(sa.Text)


class Share(Base):
    """A restricted incident shared with a whole role or with one user (exactly one of the two)."""

    __tablename__ = "shares"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    role: Mapped[str | None] = mapped_column(sa.String(20))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    seal: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    __table_args__ = (sa.UniqueConstraint("incident_id", "role", "user_id", name="uq_shares_target"),)


class Link(Base):
    """Two reports an analyst judged to describe the same incident (kept as history)."""

    __tablename__ = "links"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_a: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    incident_b: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(sa.Text)
    __table_args__ = (sa.UniqueConstraint("incident_a", "incident_b", name="uq_links_pair"),)


class Attachment(Base):
    """Evidence attached to an incident; the bytes live in the content-addressed store by SHA-256."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    media_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    uploaded_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seal: Mapped[str | None] = mapped_column(sa.String(64), default=None)


class AuditEntry(Base):
    """One link of the hash-chained audit log; ``hash`` covers ``prev_hash`` and every field."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None]
    actor: Mapped[str] = mapped_column(sa.String(100))
    action: Mapped[str] = mapped_column(sa.String(40))
    entity: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[str] = mapped_column(sa.Text)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditHead(Base):
    """The chain's newest link (one row, id 1); writers lock it, so appends are serial.

    ``scheme`` is ``hmac-sha256`` once the chain is keyed (``sha256`` for a chain written before
    migration 0003, re-chained under the key when the register is next opened) and ``key_id`` names
    the key that authenticates it (a fingerprint, never the key).
    """

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(sa.String(64))
    scheme: Mapped[str] = mapped_column(sa.String(20), default="sha256", server_default="sha256")
    key_id: Mapped[str | None] = mapped_column(sa.String(16), default=None)


# --- the mission's records beyond incident reports (issue 18; migration 0004) ------------------------


class _Filed:
    """Columns every mission record shares: its device-made ``client_id`` (idempotent re-sends), who
    filed it, when the register received it and when it last changed."""

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    reporter_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Site(_Filed, Base):
    """Where displaced or returning people are counted: a camp, a collective centre, a host area, a
    border crossing, a return area, a place out of the area (refugees across a border), or the whole
    area's displaced (the kinds of a scenario's ``displacement.csv``). ``from_units`` names the home
    districts its people came from (``;``-separated); a point is required for the kinds that are one
    place (camp, collective centre, host area, border crossing)."""

    __tablename__ = "mission_sites"
    kind: Mapped[str] = mapped_column(sa.String(30))
    name: Mapped[str] = mapped_column(sa.String(200))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    country_iso3: Mapped[str | None] = mapped_column(sa.String(3))
    admin1: Mapped[str | None] = mapped_column(sa.String(200))
    admin2: Mapped[str | None] = mapped_column(sa.String(200))
    from_units: Mapped[str] = mapped_column(sa.String(1000), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")


class SiteFigure(_Filed, Base):
    """How many people of one group were at a site on a date, and who said so (figures are never
    overwritten: a newer figure is a new row, so the population over time is kept)."""

    __tablename__ = "mission_site_figures"
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("mission_sites.id"), index=True)
    as_of: Mapped[date] = mapped_column(sa.Date)
    group: Mapped[str] = mapped_column(sa.String(200))
    persons: Mapped[int]
    households: Mapped[int | None]
    source: Mapped[str] = mapped_column(sa.String(200))
    source_url: Mapped[str | None] = mapped_column(sa.String(500))
    source_id: Mapped[str | None] = mapped_column(sa.String(100))  # its id in a scenario's SOURCES.md
    known_on: Mapped[date | None] = mapped_column(sa.Date)  # published; None: on as_of
    estimate: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    __table_args__ = (sa.Index("ix_mission_site_figures_site_date", "site_id", "as_of"),)


class ReturnVisit(_Filed, Base):
    """A return-monitoring visit: households back, homes destroyed or occupied, protection concerns."""

    __tablename__ = "mission_return_visits"
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("mission_sites.id"), index=True)
    visited_on: Mapped[date] = mapped_column(sa.Date, index=True)
    latitude: Mapped[float]
    longitude: Mapped[float]
    place_name: Mapped[str | None] = mapped_column(sa.String(200))
    households_back: Mapped[int | None]
    homes_destroyed: Mapped[int | None]
    homes_occupied: Mapped[int | None]
    concerns: Mapped[str] = mapped_column(sa.Text, default="")
    personal_sealed: Mapped[str | None] = mapped_column(sa.Text)


class Patrol(_Filed, Base):
    """A joint patrol or a co-location with the host police: who, where, when, with whom."""

    __tablename__ = "mission_patrols"
    kind: Mapped[str] = mapped_column(sa.String(30))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    latitude: Mapped[float]
    longitude: Mapped[float]
    radius_km: Mapped[float]
    place_name: Mapped[str | None] = mapped_column(sa.String(200))
    mission_unit: Mapped[str] = mapped_column(sa.String(200))
    partner_unit: Mapped[str] = mapped_column(sa.String(200))
    mission_staff: Mapped[int | None]
    partner_staff: Mapped[int | None]
    notes: Mapped[str] = mapped_column(sa.Text, default="")


class DetentionVisit(_Filed, Base):
    """A visit to a place of detention: detainees seen by group and allegations of ill-treatment;
    detainees' names and accounts are sealed like witness data."""

    __tablename__ = "mission_detention_visits"
    visited_on: Mapped[date] = mapped_column(sa.Date, index=True)
    facility: Mapped[str] = mapped_column(sa.String(200))
    facility_kind: Mapped[str] = mapped_column(sa.String(30))
    latitude: Mapped[float]
    longitude: Mapped[float]
    detainees: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    interviewed: Mapped[int | None]
    allegations: Mapped[int]
    access_refused: Mapped[bool] = mapped_column(default=False)
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    personal_sealed: Mapped[str | None] = mapped_column(sa.Text)


class Dispute(_Filed, Base):
    """A local dispute the mission follows (property and land, return to homes, community tension);
    its parties are groups or roles in clear, their names and contacts sealed."""

    __tablename__ = "mission_disputes"
    kind: Mapped[str] = mapped_column(sa.String(30))
    opened_on: Mapped[date] = mapped_column(sa.Date)
    latitude: Mapped[float]
    longitude: Mapped[float]
    place_name: Mapped[str | None] = mapped_column(sa.String(200))
    admin1: Mapped[str | None] = mapped_column(sa.String(200))
    admin2: Mapped[str | None] = mapped_column(sa.String(200))
    parties: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    summary: Mapped[str] = mapped_column(sa.Text)
    mediator: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20), default="open", index=True)
    outcome: Mapped[str] = mapped_column(sa.Text, default="")
    personal_sealed: Mapped[str | None] = mapped_column(sa.Text)


class DisputeStep(_Filed, Base):
    """One step of a dispute over time: its status from that day, a note, the mediator, the outcome."""

    __tablename__ = "mission_dispute_steps"
    dispute_id: Mapped[int] = mapped_column(sa.ForeignKey("mission_disputes.id"), index=True)
    on: Mapped[date] = mapped_column(sa.Date)
    from_status: Mapped[str] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    mediator: Mapped[str | None] = mapped_column(sa.String(200))
    outcome: Mapped[str] = mapped_column(sa.Text, default="")


class RecordLink(Base):
    """A mission record linked to an incident report (a protection incident on return, an
    allegation from a detention visit, an incident behind a dispute)."""

    __tablename__ = "mission_record_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    record_kind: Mapped[str] = mapped_column(sa.String(30))
    record_id: Mapped[int]
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    __table_args__ = (
        sa.UniqueConstraint("record_kind", "record_id", "incident_id", name="uq_mission_record_links"),
        sa.Index("ix_mission_record_links_record", "record_kind", "record_id"),
    )


T = TypeVar("T")

#: At most this many waiting jobs share one transaction in :meth:`Database.write_batched`.
MAX_BATCH = 64


class _Job:
    """One caller's unit of work in a group commit, and what became of it."""

    __slots__ = ("done", "error", "result", "work")

    def __init__(self, work: Callable[[Session], Any]) -> None:
        self.work = work
        self.result: Any = None
        self.error: Exception | None = None
        self.done = False


class _FileLock:
    """An exclusive advisory lock (``flock``) on a file beside the database: writers of every process
    queue here and the kernel wakes the next one at once. A no-op where ``fcntl`` does not exist."""

    def __init__(self, path: Path) -> None:
        self.path, self._fd = path, -1

    def __enter__(self) -> None:
        try:
            import fcntl
        except ImportError:  # not POSIX: SQLite's busy handler still serialises the writers
            return
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_exc: object) -> None:
        if self._fd >= 0:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def migrate(engine: Engine) -> None:
    """Bring the database at ``engine`` to the newest schema with the shipped Alembic migrations."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current == head:
        return
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _sqlite_pragmas(synchronous: str) -> Any:
    def connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level; SQLAlchemy's "begin" hook below emits BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return connect


class Database:
    """The register's one data-access object: engines for a URL, a read path and a write path.

    Parameters
    ----------
    url
        SQLAlchemy URL, e.g. ``sqlite:////path/register.sqlite3`` or
        ``postgresql+psycopg://user@host:5432/db``. ``None`` means :func:`default_url`.
    synchronous
        SQLite only: ``FULL`` (default) syncs the WAL to disk at every commit, so an acknowledged
        report survives a power cut, not just a crashed process; ``NORMAL`` is faster.
    """

    def __init__(
        self, url: str | None = None, *, data_dir: Path | None = None, synchronous: str = "FULL"
    ) -> None:
        self.url = url or default_url(data_dir)
        if self.url.startswith("postgresql://"):
            self.url = "postgresql+psycopg://" + self.url.removeprefix("postgresql://")
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise StoreError(f"SQLite synchronous mode {synchronous!r} is unknown: use FULL, NORMAL, EXTRA.")
        try:
            parsed = sa.engine.make_url(self.url)
        except sa.exc.ArgumentError as error:
            raise StoreError(
                f"Database URL {self.url!r} cannot be parsed ({error}): "
                "use sqlite:///PATH or postgresql://USER@HOST:PORT/DB."
            ) from error
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise StoreError(
                f"Database {parsed.get_backend_name()!r} is not supported: "
                "use sqlite:///PATH or postgresql://USER@HOST:PORT/DB."
            )
        self._write_lock = threading.Lock()
        self._batch_lock = threading.Lock()
        self._leader = threading.Lock()
        self._pending: list[_Job] = []
        self._file_lock: _FileLock | None = None
        if self.is_sqlite:
            if parsed.database in (None, "", ":memory:"):
                raise StoreError(
                    "An in-memory SQLite register would lose every report at exit: "
                    "give a file, e.g. sqlite:///register.sqlite3."
                )
            path = Path(parsed.database).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file_lock = _FileLock(path.with_name(path.name + "-writer.lock"))
            self.engine = sa.create_engine(self.url, pool_size=8, max_overflow=8)
            self._writer = sa.create_engine(self.url, pool_size=2, max_overflow=2)
            for engine, begin in ((self.engine, "BEGIN"), (self._writer, "BEGIN IMMEDIATE")):
                event.listen(engine, "connect", _sqlite_pragmas(synchronous))
                event.listen(engine, "begin", _emit(begin))
        else:
            self.engine = sa.create_engine(self.url, pool_size=8, max_overflow=8, pool_pre_ping=True)
            self._writer = self.engine
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(self._writer, expire_on_commit=False)

    def migrate(self) -> None:
        """Create or upgrade the schema (idempotent; cheap when already at head)."""
        try:
            migrate(self._writer)
        except sa.exc.OperationalError as error:
            raise StoreError(
                f"The register database at {self.safe_url} cannot be opened "
                f"({error.orig}): check the URL, that the server runs and the folder "
                "is writable."
            ) from error

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden, for messages."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads (rolled back at the end; nothing it does is kept)."""
        with self._reads() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session for one write transaction: committed at the end, rolled back on error."""
        with (
            self._write_lock if self.is_sqlite else _nolock(),
            self._file_lock or _nolock(),
            self._writes() as session,
        ):
            try:
                if not self.is_sqlite:
                    # Take the audit chain's head first: writers queue here instead of deadlocking
                    # later (SQLite gets the same order from BEGIN IMMEDIATE).
                    session.execute(sa.select(AuditHead.id).where(AuditHead.id == 1).with_for_update())
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def write_batched(
        self, work: Callable[[Session], T], prepare: Callable[[Session], Any] | None = None
    ) -> T:
        """Run ``work(session)`` in a write transaction and return its result once that is committed.

        Jobs of threads that wait for the writer at the same time run in one transaction, each in its
        own savepoint (a job that raises is rolled back alone and its error re-raised in its caller),
        and share one commit: group commit. With ``synchronous=FULL`` the commit's fsync is the
        costliest step of a write, so a burst of ``k`` reports pays for one fsync instead of ``k``.
        A job's result is returned only after the commit succeeded, so whatever is acknowledged is
        durable; if the commit fails, every job of the batch gets that error.
        """
        job = _Job(work)
        with self._batch_lock:
            self._pending.append(job)
        while not job.done:
            self._run_batch(job, prepare)
        if job.error is not None:
            raise job.error
        return cast("T", job.result)

    def _run_batch(self, mine: _Job, prepare: Callable[[Session], Any] | None) -> None:
        with self._leader:  # one batch at a time in this process; the next leader takes what queued
            if mine.done:  # the previous leader ran it
                return
            with self._batch_lock:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            if not batch:
                return
            committed = False
            try:
                with self.write() as session:
                    if prepare is not None:
                        prepare(session)
                    if len(batch) == 1:
                        batch[0].result = batch[0].work(session)
                    else:
                        for job in batch:
                            try:
                                with session.begin_nested():
                                    job.result = job.work(session)
                            except Exception as error:  # handed to that job's caller
                                job.error, job.result = error, None
                committed = True
            except Exception as error:  # the commit (or a lone job) failed: nothing of the batch is kept
                for job in batch:
                    if job.error is None:
                        job.error, job.result = error, None
            finally:
                for job in batch:
                    if not committed and job.error is None:  # interrupted: never report success
                        job.error = StoreError(
                            "The write was interrupted before it was committed: send it again."
                        )
                    job.done = True

    def dispose(self) -> None:
        """Close every pooled connection (call before the process exits or the file is removed)."""
        self.engine.dispose()
        self._writer.dispose()
        if self._file_lock is not None:
            self._file_lock.close()


def _emit(statement: str) -> Any:
    def begin(connection: Any) -> None:
        connection.exec_driver_sql(statement)

    return begin


@contextmanager
def _nolock() -> Iterator[None]:
    yield
