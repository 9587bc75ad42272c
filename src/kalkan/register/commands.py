"""The register's commands: ``kalkan serve``, ``kalkan users ...`` and ``kalkan register ...``.

Heavy libraries (FastAPI, SQLAlchemy, uvicorn) are imported inside the command functions, so
``kalkan --help`` stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (sqlite:///PATH or postgresql://USER@HOST:PORT/DB); "
        "default: SQLite in the data dir.",
        envvar="KALKAN_REGISTER_DB",
    ),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder for the default database, the key file and evidence files.",
        envvar="KALKAN_REGISTER_DATA_DIR",
    ),
]

users_app = typer.Typer(
    name="users", help="Manage the register's users and their tokens.", no_args_is_help=True
)
register_app = typer.Typer(
    name="register", help="The incident register: verify, export, import.", no_args_is_help=True
)


def serve(
    db: DbOption = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    data_dir: DataDirOption = None,
    workers: Annotated[int, typer.Option(help="Server processes (1 per core is plenty).", min=1, max=64)] = 1,
    synchronous: Annotated[
        str,
        typer.Option(
            help="SQLite durability: FULL (survives power loss) or NORMAL "
            "(survives a crashed process; faster)."
        ),
    ] = "FULL",
) -> None:
    """Run the incident register's API and web pages."""
    import uvicorn

    from kalkan.register.auth import list_users
    from kalkan.register.context import open_register

    # Open once here: a bad URL or key fails with one sentence before the server starts.
    register = open_register(db, data_dir=data_dir, synchronous=synchronous.upper())
    with register.read() as session:
        has_users = bool(list_users(session))
    register.close()
    if not has_users:
        typer.echo(
            "No users yet: create one with `kalkan users add NAME --role admin` (it prints the token).",
            err=True,
        )
    if db:
        os.environ["KALKAN_REGISTER_DB"] = db
    if data_dir:
        os.environ["KALKAN_REGISTER_DATA_DIR"] = str(data_dir)
    os.environ["KALKAN_REGISTER_SYNCHRONOUS"] = synchronous.upper()
    typer.echo(
        f"kalkan register on http://{host}:{port}/ (API under /api/, schema at /openapi.json)", err=True
    )
    settings: dict[str, Any] = {
        "app": "kalkan.register.app:app_from_env",
        "factory": True,
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
    }
    if workers > 1 and _has_reuseport():
        _serve_workers(settings, workers)
    else:
        uvicorn.run(**settings, workers=workers)


def _has_reuseport() -> bool:
    import socket
    import sys

    # Linux spreads the connections of SO_REUSEPORT sockets over them; other systems do not.
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _listening_socket(host: str, port: int, reuseport: bool) -> Any:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        from kalkan.errors import OptionError

        raise OptionError(
            f"Cannot listen on {host}:{port} ({error.strerror}): choose another --port or stop what uses it."
        ) from error
    return sock


def _worker(settings: dict[str, Any]) -> None:
    """One server process with its own SO_REUSEPORT socket (the kernel hands it its share of the
    connections)."""
    import uvicorn

    sock = _listening_socket(settings["host"], settings["port"], reuseport=True)
    uvicorn.Server(uvicorn.Config(**settings)).run(sockets=[sock])


def _serve_workers(settings: dict[str, Any], workers: int) -> None:
    """Run ``workers`` server processes, each listening on its own SO_REUSEPORT socket.

    With one shared socket (uvicorn's own ``--workers``), the first process to wake accepts every
    connection that is waiting, so a burst of keep-alive connections can all land on one process
    while the others idle; the kernel spreads SO_REUSEPORT sockets' connections evenly instead.
    SIGTERM or Ctrl-C stops every process (each finishes its requests); a process that dies is
    restarted.
    """
    import multiprocessing
    import signal
    import time

    _listening_socket(settings["host"], settings["port"], reuseport=False).close()  # port free?
    holder = _listening_socket(settings["host"], settings["port"], reuseport=True)  # not listening
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_worker, args=(settings,)) for _ in range(workers)]
    stopping = False

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: uvicorn's graceful shutdown

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    started = [time.monotonic()] * workers
    for proc in procs:
        proc.start()
    try:
        while not stopping:
            time.sleep(0.5)
            for i, proc in enumerate(procs):
                if stopping or proc.is_alive():
                    continue
                if time.monotonic() - started[i] < 10:  # died at start-up: restarting would loop
                    stop(signal.SIGTERM, None)
                    from kalkan.errors import StoreError

                    raise StoreError(
                        f"A server process exited at start-up (exit code {proc.exitcode}): "
                        "run with --workers 1 to see why."
                    )
                procs[i], started[i] = context.Process(target=_worker, args=(settings,)), time.monotonic()
                procs[i].start()
        for proc in procs:
            proc.join(60)
    finally:
        holder.close()


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (unique).")],
    role: Annotated[str, typer.Option("--role", help="monitor, analyst, investigator or admin.")],
    db: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a user; prints the new token as the only line on stdout (it is stored only hashed)."""
    from kalkan.register import audit
    from kalkan.register.auth import Actor, add_user
    from kalkan.register.context import open_register

    register = open_register(db, data_dir=data_dir)
    try:
        with register.write() as session:
            user, token = add_user(session, name, role)
            audit.append(
                session,
                Actor.system("cli"),
                "add_user",
                "user",
                user.id,
                {"name": user.name, "role": user.role},
            )
    finally:
        register.close()
    typer.echo(token)


@users_app.command("list")
def users_list(db: DbOption = None, data_dir: DataDirOption = None) -> None:
    """List users with their role and whether their token works."""
    from rich.console import Console
    from rich.table import Table

    from kalkan.register.auth import list_users
    from kalkan.register.context import open_register

    register = open_register(db, data_dir=data_dir)
    table = Table("name", "role", "active", "created (UTC)")
    try:
        with register.read() as session:
            for user in list_users(session):
                table.add_row(
                    user.name, user.role, "yes" if user.active else "no", f"{user.created_at:%Y-%m-%d %H:%M}"
                )
    finally:
        register.close()
    Console().print(table)


@users_app.command("revoke")
def users_revoke(
    name: Annotated[str, typer.Argument(help="User name.")],
    db: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Revoke a user's token at once (the user stays in the audit log)."""
    from kalkan.register import audit
    from kalkan.register.auth import Actor, revoke_user
    from kalkan.register.context import open_register

    register = open_register(db, data_dir=data_dir)
    try:
        with register.write() as session:
            user = revoke_user(session, name)
            audit.append(session, Actor.system("cli"), "revoke_user", "user", user.id, {"name": user.name})
    finally:
        register.close()
    typer.echo(f"Revoked {name}.", err=True)


@register_app.command("verify")
def verify(db: DbOption = None, data_dir: DataDirOption = None) -> None:
    """Recompute the audit chain and re-hash every evidence file; name the first broken link."""
    from kalkan.errors import IntegrityError
    from kalkan.register.audit import verify_chain, verify_evidence, verify_records
    from kalkan.register.context import open_register

    register = open_register(db, data_dir=data_dir)
    try:
        with register.read() as session:
            report = verify_chain(session)
            problems = verify_evidence(session, register.evidence.root)
            records = verify_records(session) if report.ok else []
    finally:
        register.close()
    if not report.ok:
        raise IntegrityError(report.message())
    if problems:
        raise IntegrityError(
            f"{len(problems)} evidence file(s) do not match the chain; first: {problems[0]}. "
            "Restore them from backup."
        )
    if records:
        raise IntegrityError(
            f"{len(records)} incident(s) were changed outside the register; first: "
            f"{records[0]}. Compare with a backup and `GET /api/audit`."
        )
    typer.echo(report.message() + " Every incident matches it; every evidence file matches its hash.")


@register_app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write ('-' for stdout).")] = Path("-"),
    fmt: Annotated[str, typer.Option("--format", help="csv, geojson or hxl.")] = "csv",
    include_personal: Annotated[
        bool, typer.Option(help="Add witness and source columns (sensitive!).")
    ] = False,
    db: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Export every incident (streamed; personal data left out unless asked for)."""
    import sys

    from kalkan.register.auth import Actor
    from kalkan.register.context import open_register
    from kalkan.register.exports import export_chunks

    register = open_register(db, data_dir=data_dir)
    try:
        with register.read() as session:
            chunks = export_chunks(session, Actor.system("cli"), fmt, include_personal=include_personal)
            if str(out) == "-":
                for chunk in chunks:
                    sys.stdout.write(chunk)
            else:
                with out.open("w", encoding="utf-8", newline="") as f:
                    for chunk in chunks:
                        f.write(chunk)
    finally:
        register.close()


@register_app.command("import")
def import_(
    path: Annotated[
        Path, typer.Argument(help="An event file kalkan ingest reads (GED, ACLED, HXL or kalkan CSV).")
    ],
    user: Annotated[str, typer.Option("--user", help="The analyst or admin filing the imported reports.")],
    db: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """File every event of a file as a report (idempotent: importing twice adds nothing)."""
    import sqlalchemy as sa
    from rich.console import Console

    from kalkan.errors import InputError
    from kalkan.register.auth import Actor, Role
    from kalkan.register.context import open_register
    from kalkan.register.db import User
    from kalkan.register.exports import import_events, read_event_file

    events, quarantined, reasons = read_event_file(path)
    register = open_register(db, data_dir=data_dir)
    try:
        with register.write() as session:
            row = session.scalar(sa.select(User).where(User.name == user, User.active))
            if row is None:
                raise InputError(f"No active user is named {user!r}: create one with kalkan users add.")
            result = import_events(session, Actor(row.id, row.name, Role(row.role)), events)
    finally:
        register.close()
    console = Console(stderr=True, soft_wrap=True)  # one line per message, however long the path
    console.print(
        f"{path}: {result['created']} created, {result['existing']} already there, "
        f"{result['invalid']} invalid.",
        markup=False,
        highlight=False,
    )
    for line in result["errors"]:
        console.print(f"  {line}", markup=False, highlight=False)


@register_app.command("sync-store")
def sync_store(
    store: Annotated[
        Path | None,
        typer.Option("--store", help="The event store (DuckDB file); default: kalkan's, or $KALKAN_DB."),
    ] = None,
    db: DbOption = None,
    data_dir: DataDirOption = None,
    status: Annotated[
        str,
        typer.Option(
            "--status",
            help="Which incidents: verified (default: what a brief should rest on), corroborated, "
            "reported, or all (every incident not rejected).",
        ),
    ] = "verified",
) -> None:
    """Put the register's verified incidents into the analytic event store, for briefs and forecasts
    (`kalkan brief --db STORE --as-of DAY` reads them: each as known on the day it was verified)."""
    from rich.console import Console

    from kalkan.errors import InputError
    from kalkan.register.auth import Actor
    from kalkan.register.context import open_register
    from kalkan.register.exports import sync_to_store

    choices = ("verified", "corroborated", "reported", "all")
    if status not in choices:
        raise InputError(f"--status {status!r} is not one of {', '.join(choices)}.")
    register = open_register(db, data_dir=data_dir)
    try:
        with register.read() as session:
            result = sync_to_store(
                session, Actor.system("cli"), store, status=None if status == "all" else status
            )
    finally:
        register.close()
    Console(stderr=True).print(
        f"Event store: {result.inserted} new, {result.updated} changed, "
        f"{result.unchanged} unchanged, {result.deleted} withdrawn "
        f"({'every incident not rejected' if status == 'all' else f'{status} incidents'}).",
        markup=False,
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add this area's commands to `app`."""
    app.command("serve")(serve)
    app.add_typer(users_app)
    app.add_typer(register_app)
