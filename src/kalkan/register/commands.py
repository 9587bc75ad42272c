"""The register's commands: ``kalkan serve``, ``kalkan users ...`` and ``kalkan register ...``.

Heavy libraries (FastAPI, SQLAlchemy, uvicorn) are imported inside the command functions, so
``kalkan --help`` stays fast.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from kalkan.terminal import fit

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
ExpiresDaysOption = Annotated[
    int | None,
    typer.Option("--expires-days", min=1, max=3650, help="The token ends after this many days."),
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
    certfile: Annotated[
        Path | None, typer.Option("--certfile", help="TLS certificate (PEM): serve https.")
    ] = None,
    keyfile: Annotated[Path | None, typer.Option("--keyfile", help="TLS private key (PEM).")] = None,
    allow_key_beside_data: Annotated[
        bool,
        typer.Option(help="Start even when a key file sits in the database's folder (not recommended)."),
    ] = False,
) -> None:
    """Run the incident register's API and web pages (https with --certfile and --keyfile)."""
    from kalkan.errors import OptionError

    if (certfile is None) != (keyfile is None):
        raise OptionError("TLS needs both --certfile and --keyfile: give both, or neither for plain http.")
    for path in (certfile, keyfile):
        if path is not None and not path.is_file():
            raise OptionError(f"TLS file {path} does not exist: give the PEM file's path.")
    if certfile is None and host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(
            f"Warning: serving plain http on {host}: tokens and witness data cross the network in clear. "
            "Use --certfile/--keyfile, or a TLS reverse proxy.",
            err=True,
        )
    import uvicorn

    from kalkan.register.auth import list_users
    from kalkan.register.context import open_register

    # Open once here: a bad URL or key fails with one sentence before the server starts.
    with open_register(db, data_dir=data_dir, synchronous=synchronous.upper()) as register:
        with register.read() as session:
            has_users = bool(list_users(session))
        beside = register.key_beside_data()
    if beside and not allow_key_beside_data:
        raise OptionError(beside + " (or pass --allow-key-beside-data to start anyway).")
    if beside:
        typer.echo("Warning: " + beside, err=True)
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
    scheme = "https" if certfile else "http"
    typer.echo(
        f"kalkan register on {scheme}://{host}:{port}/ (API under /api/, schema at /openapi.json)", err=True
    )
    settings: dict[str, Any] = {
        "app": "kalkan.register.app:app_from_env",
        "factory": True,
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        # Request line and headers: at most 64 KiB in all (h11's default is 16 KiB per event; this
        # states it), so a 32 MiB header is refused before it is read.
        "h11_max_incomplete_event_size": 64 * 1024,
    }
    if certfile is not None and keyfile is not None:
        settings.update(ssl_certfile=str(certfile), ssl_keyfile=str(keyfile))
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
    expires_days: ExpiresDaysOption = None,
    db: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a user; prints the new token as the only line on stdout (it is stored only hashed)."""
    from kalkan.register.auth import add_user
    from kalkan.register.context import open_register

    with open_register(db, data_dir=data_dir) as register:
        with register.write() as session:
            _user, token = add_user(session, name, role, expires_at=_expiry(expires_days))
    typer.echo(token)


def _expiry(days: int | None) -> datetime | None:
    from datetime import timedelta

    from kalkan.register.db import utcnow

    return None if days is None else utcnow() + timedelta(days=days)


@users_app.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="User name.")],
    expires_days: ExpiresDaysOption = None,
    db: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Issue a user a new token (the old one stops working); prints it as the only line on stdout."""
    from kalkan.register.auth import issue_token
    from kalkan.register.context import open_register

    with open_register(db, data_dir=data_dir) as register:
        with register.write() as session:
            token = issue_token(session, name, expires_at=_expiry(expires_days))
    typer.echo(token)


@users_app.command("list")
def users_list(db: DbOption = None, data_dir: DataDirOption = None) -> None:
    """List users with their role and whether their token works."""
    from rich.console import Console
    from rich.table import Table

    from kalkan.register.auth import list_users
    from kalkan.register.context import open_register

    table = Table("name", "role", "active", "created (UTC)")
    with open_register(db, data_dir=data_dir) as register:
        with register.read() as session:
            for user in list_users(session):
                table.add_row(
                    user.name, user.role, "yes" if user.active else "no", f"{user.created_at:%Y-%m-%d %H:%M}"
                )
    Console().print(fit(table))


@users_app.command("revoke")
def users_revoke(
    name: Annotated[str, typer.Argument(help="User name.")],
    db: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Revoke a user's token at once (the user stays in the audit log)."""
    from kalkan.register.auth import revoke_user
    from kalkan.register.context import open_register

    with open_register(db, data_dir=data_dir) as register:
        with register.write() as session:
            revoke_user(session, name)
    typer.echo(f"Revoked {name}.", err=True)


@register_app.command("verify")
def verify(
    anchor: Annotated[
        Path | None,
        typer.Option(
            "--anchor", help="An anchor file from `kalkan register anchor`: prove nothing up to it changed."
        ),
    ] = None,
    db: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check the keyed audit chain, every table against it and every evidence file; name the first break."""
    from kalkan.errors import InputError, IntegrityError
    from kalkan.register.audit import Anchor, verify_anchor, verify_chain, verify_evidence, verify_records
    from kalkan.register.context import open_register

    kept = None
    if anchor is not None:
        if not anchor.is_file():
            raise InputError(
                f"Anchor file {anchor} does not exist: give the file `kalkan register anchor` wrote."
            )
        kept = Anchor.from_text(anchor.read_text(encoding="utf-8"), str(anchor))
    with open_register(db, data_dir=data_dir) as register:
        with register.read() as session:
            report = verify_chain(session)
            cut = verify_anchor(session, kept) if kept is not None and report.ok else None
            problems = verify_evidence(session, register.evidence.root)
            records = verify_records(session) if report.ok else []
    if not report.ok:
        raise IntegrityError(report.message())
    if cut is not None:
        raise IntegrityError(f"The chain does not hold the anchor: {cut}")
    if problems:
        raise IntegrityError(
            f"{len(problems)} evidence file(s) do not match the chain; first: {problems[0]}. "
            "Restore them from backup."
        )
    if records:
        raise IntegrityError(
            f"{len(records)} record(s) were changed outside the register; first: "
            f"{records[0]}. Compare with a backup and `GET /api/audit`."
        )
    held = f" It holds the anchor of entry {kept.seq} ({kept.at})." if kept is not None else ""
    typer.echo(report.message() + held + " Every table matches it; every evidence file matches its hash.")


@register_app.command("anchor")
def anchor_(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Also write the anchor to this file.")
    ] = None,
    db: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print the audit chain's head (sequence, MAC, time) as one line of JSON, to keep off the server."""
    from kalkan.register.audit import anchor
    from kalkan.register.context import open_register

    with open_register(db, data_dir=data_dir) as register:
        with register.read() as session:
            kept = anchor(session)
    text = kept.to_json()
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    typer.echo(text)


@register_app.command("rotate-key")
def rotate_key(db: DbOption = None, data_dir: DataDirOption = None) -> None:
    """Re-seal all witness data with a new data key; the new key replaces the key file (or is printed)."""
    from kalkan.register.context import open_register
    from kalkan.register.rotate import rotate_data_key

    with open_register(db, data_dir=data_dir) as register:
        count, printed = rotate_data_key(register)
    if printed is not None:
        typer.echo(printed)
        typer.echo(
            f"Re-sealed {count} report(s). The data key came from $KALKAN_REGISTER_KEY: set it to the "
            "line above before the next start.",
            err=True,
        )
    else:
        typer.echo(f"Re-sealed {count} report(s) under a new data key; the key file now holds it.", err=True)


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

    with open_register(db, data_dir=data_dir) as register:
        with register.read() as session:
            chunks = export_chunks(session, Actor.system("cli"), fmt, include_personal=include_personal)
            if str(out) == "-":
                for chunk in chunks:
                    sys.stdout.write(chunk)
            else:
                with out.open("w", encoding="utf-8", newline="") as f:
                    for chunk in chunks:
                        f.write(chunk)


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
    with open_register(db, data_dir=data_dir) as register:
        with register.write() as session:
            row = session.scalar(sa.select(User).where(User.name == user, User.active))
            if row is None:
                raise InputError(f"No active user is named {user!r}: create one with kalkan users add.")
            result = import_events(session, Actor(row.id, row.name, Role(row.role)), events)
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
    with open_register(db, data_dir=data_dir) as register:
        with register.read() as session:
            result = sync_to_store(
                session, Actor.system("cli"), store, status=None if status == "all" else status
            )
    Console(stderr=True).print(
        f"Event store: {result.inserted} new, {result.updated} changed, "
        f"{result.unchanged} unchanged, {result.deleted} withdrawn "
        f"({'every incident not rejected' if status == 'all' else f'{status} incidents'}).",
        markup=False,
        highlight=False,
    )


case_file_app = typer.Typer(
    name="case-file",
    help="Case files for an investigation: write a BagIt package of chosen incidents, evidence and "
    "custody (kalkan.register.casefile), or `verify PACKAGE`.",
)


@case_file_app.callback(invoke_without_command=True)
def case_file(
    ctx: typer.Context,
    user: Annotated[
        str | None,
        typer.Option("--user", help="The investigator (or admin) exporting; the export is audited."),
    ] = None,
    incidents: Annotated[str | None, typer.Option("--incidents", help="Incident ids, e.g. 3,5,8-10.")] = None,
    recipient: Annotated[
        str | None,
        typer.Option("--recipient", help="investigation, partner or public: decides the redaction rules."),
    ] = None,
    purpose: Annotated[
        str | None,
        typer.Option("--purpose", help="Why the package is made: the request, its date, who asked."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="New folder for the package.")] = None,
    evidence: Annotated[
        str, typer.Option("--evidence", help="all, none, or attachment ids of the selected incidents.")
    ] = "all",
    history: Annotated[
        str, typer.Option("--history", help="custody (every audit entry about them) or none.")
    ] = "custody",
    seal_out: Annotated[
        Path | None, typer.Option("--seal-out", help="Also write the seal line to this file (send it apart).")
    ] = None,
    db: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write a case file (BagIt, SHA-256) of chosen incidents, evidence and audit history for a recipient."""
    if ctx.invoked_subcommand is not None:
        return
    import sqlalchemy as sa

    from kalkan.errors import InputError
    from kalkan.register.auth import Actor, Role
    from kalkan.register.casefile import parse_ids, write_case_file
    from kalkan.register.context import open_register
    from kalkan.register.db import User

    missing = [
        f"--{name}"
        for name, value in (("user", user), ("incidents", incidents), ("recipient", recipient))
        + (("purpose", purpose), ("out", out))
        if value is None
    ]
    if missing:
        raise InputError(
            f"case-file needs {', '.join(missing)}: e.g. --user inv1 --incidents 3,5 --recipient "
            "investigation --purpose 'Request of ...' --out case-1 (or `case-file verify PACKAGE`)."
        )
    assert user is not None and incidents is not None and recipient is not None
    assert purpose is not None and out is not None
    ids = parse_ids(incidents, "--incidents")
    register = open_register(db, data_dir=data_dir)
    made, committed = None, False
    try:
        with register.write() as session:
            row = session.scalar(sa.select(User).where(User.name == user, User.active))
            if row is None:
                raise InputError(f"No active user is named {user!r}: create one with kalkan users add.")
            made = write_case_file(
                session,
                Actor(row.id, row.name, Role(row.role)),
                out,
                incidents=ids,
                recipient=recipient,
                purpose=purpose,
                evidence=evidence,
                history=history,
            )
        committed = True
    finally:
        register.close()
        if made is not None and not committed:  # the chain did not record it: it must not go out
            import shutil

            shutil.rmtree(made.path, ignore_errors=True)
    assert made is not None
    line = made.seal.to_json()
    if seal_out is not None:
        seal_out.write_text(line + "\n", encoding="utf-8")
    typer.echo(line)
    typer.echo(
        f"Wrote {made.path}: {len(made.incidents)} incident(s), {len(made.evidence)} evidence file(s), "
        f"{made.entries} audit entries, anchored at entry {made.seal.anchor_seq}. Send the line above to "
        "the recipient apart from the package (mail, letter): `kalkan register case-file verify PACKAGE "
        "--seal FILE` proves with it that the package is the one exported.",
        err=True,
    )


@case_file_app.command("verify")
def case_file_verify(
    package: Annotated[Path, typer.Argument(help="The case-file folder (a BagIt bag).")],
    seal: Annotated[
        Path | None, typer.Option("--seal", help="The seal line the sender sent apart from the package.")
    ] = None,
    audit_key_file: Annotated[
        Path | None,
        typer.Option(
            "--audit-key-file", help="The register's audit key (a court expert's copy): check every MAC."
        ),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key", help="The mission's published case-file key (`case-file key`): 64 hex digits."
        ),
    ] = None,
) -> None:
    """Check a case file: every hash, the audit extract against its anchor, and the export's own record."""
    import re

    from kalkan.errors import InputError, IntegrityError
    from kalkan.register.casefile import Seal, read_audit_key, verify_case_file

    if not package.is_dir():
        raise InputError(f"{package} is not a folder: give the case-file folder (unpack it first).")
    kept = None
    if seal is not None:
        if not seal.is_file():
            raise InputError(f"Seal file {seal} does not exist: give the file holding the seal line.")
        kept = Seal.from_text(seal.read_text(encoding="utf-8"), str(seal))
    key = read_audit_key(audit_key_file) if audit_key_file is not None else None
    if public_key is not None and not re.fullmatch(r"[0-9a-f]{64}", public_key):
        raise InputError(
            f"--public-key {public_key!r} is not 64 hex digits: give the line `case-file key` printed."
        )
    check = verify_case_file(package, audit_key=key, seal=kept, signer=public_key)
    for line in check.passed:
        typer.echo(f"ok: {line}")
    if not check.ok:
        raise IntegrityError(
            f"Case file {package} fails {len(check.problems)} check(s); first: {check.problems[0]}"
        )
    if kept is None and public_key is None:
        typer.echo(
            "Not checked: who signed it (give --public-key, the mission's published key, or --seal, the "
            "line sent apart from the package)."
        )
    if key is None:
        typer.echo("Not checked: the MACs of the audit entries (give --audit-key-file, or ask the sender).")


@case_file_app.command("key")
def case_file_key(db: DbOption = None, data_dir: DataDirOption = None) -> None:
    """Print the public key that signs this register's case files (publish it for the receivers)."""
    from kalkan.register.casefile import public_key
    from kalkan.register.context import open_register

    with open_register(db, data_dir=data_dir) as register:
        typer.echo(public_key(register.keys.chain))


register_app.add_typer(case_file_app)


@register_app.command("displacement-export")
def displacement_export(
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write ('-' for stdout).")] = Path("-"),
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Only figures counted and published by this day (YYYY-MM-DD)."),
    ] = None,
    db: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write the register's sites and population figures as a scenario's displacement.csv."""
    import sys

    from kalkan.errors import InputError
    from kalkan.register.auth import Actor
    from kalkan.register.context import open_register
    from kalkan.register.displacement import export_displacement

    try:
        day = datetime.strptime(as_of, "%Y-%m-%d").date() if as_of else None
    except ValueError as error:
        raise InputError(f"--as-of {as_of!r} is not a date: use YYYY-MM-DD, e.g. 2010-06-24.") from error
    with open_register(db, data_dir=data_dir) as register:
        with register.read() as session:
            text = export_displacement(session, Actor.system("cli"), as_of=day)
    if str(out) == "-":
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


@register_app.command("displacement-import")
def displacement_import(
    path: Annotated[Path, typer.Argument(help="A displacement.csv in a scenario's columns.")],
    user: Annotated[str, typer.Option("--user", help="The user filing the sites and figures.")],
    db: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """File the rows of a scenario's displacement.csv as sites and population figures (importing the
    same file twice adds nothing)."""
    import sqlalchemy as sa
    from rich.console import Console

    from kalkan.errors import InputError
    from kalkan.register.auth import Actor, Role
    from kalkan.register.context import open_register
    from kalkan.register.db import User
    from kalkan.register.displacement import import_displacement

    with open_register(db, data_dir=data_dir) as register:
        with register.write() as session:
            row = session.scalar(sa.select(User).where(User.name == user, User.active))
            if row is None:
                raise InputError(f"No active user is named {user!r}: create one with kalkan users add.")
            result = import_displacement(session, Actor(row.id, row.name, Role(row.role)), path)
    console = Console(stderr=True, soft_wrap=True)
    console.print(
        f"{path}: {result['sites']} new sites; figures {result['created']} created, "
        f"{result['existing']} already there, {result['invalid']} invalid.",
        markup=False,
        highlight=False,
    )
    for line in result["errors"]:
        console.print(f"  {line}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add this area's commands to `app`."""
    app.command("serve")(serve)
    app.add_typer(users_app)
    app.add_typer(register_app)
