"""`kalkan users` and `kalkan register` as an admin uses them from a shell."""

from __future__ import annotations

import csv
import io

import pytest
from typer.testing import CliRunner

from kalkan.cli import _register_all, app
from kalkan.errors import InputError, IntegrityError
from kalkan.register.auth import authenticate
from kalkan.register.context import open_register

_register_all()


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def where(db_url, tmp_path):
    return ["--db", db_url, "--data-dir", str(tmp_path / "data")]


def test_users_add_prints_only_the_token(where, db_url, tmp_path) -> None:
    result = run("users", "add", "aigul", "--role", "analyst", *where)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and len(lines[0]) >= 40
    register = open_register(db_url, data_dir=tmp_path / "data")
    with register.read() as s:
        actor = authenticate(s, lines[0])
    register.close()
    assert (actor.name, actor.role.value) == ("aigul", "analyst")
    again = run("users", "add", "aigul", "--role", "analyst", *where)
    assert isinstance(again.exception, InputError) and "already exists" in str(again.exception)
    bad = run("users", "add", "bek", "--role", "boss", *where)
    assert isinstance(bad.exception, InputError)
    assert "monitor, analyst, investigator, admin" in str(bad.exception)


def test_revoked_token_stops_working(where, db_url, tmp_path) -> None:
    token = run("users", "add", "temp", "--role", "monitor", *where).stdout.strip()
    assert run("users", "revoke", "temp", *where).exit_code == 0
    register = open_register(db_url, data_dir=tmp_path / "data")
    with register.read() as s:
        assert authenticate(s, token) is None
    register.close()
    assert "temp" in run("users", "list", *where).stdout


def test_verify_passes_then_names_the_broken_link(where, db_url, tmp_path) -> None:
    for name in ("a", "b", "c"):
        run("users", "add", name, "--role", "monitor", *where)
    ok = run("register", "verify", *where)
    assert ok.exit_code == 0 and "3 entries" in ok.stdout
    register = open_register(db_url, data_dir=tmp_path / "data")
    with register.db.engine.begin() as c:
        c.exec_driver_sql("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    register.close()
    broken = run("register", "verify", *where)
    assert isinstance(broken.exception, IntegrityError)
    assert "broken at entry 2" in str(broken.exception)


def test_export_then_import_round_trip_is_idempotent(tmp_path, api, make_report) -> None:
    for i in range(5):
        api.post(
            "/api/incidents", "monitor", json=make_report(description=f"event {i}", latitude=40.5 + i / 9)
        )
    exported = tmp_path / "incidents.csv"
    with exported.open("w") as f:
        f.write(api.get("/api/export?format=csv", "analyst").text)
    # into the same register: every report is found, none duplicated
    with api.register.write() as s:
        from kalkan.register.exports import import_events, read_event_file

        same = import_events(s, api.actors["analyst"], read_event_file(exported)[0])
    assert (same["created"], same["existing"], same["invalid"]) == (0, 5, 0)
    # into a fresh register on SQLite
    where = ["--db", f"sqlite:///{tmp_path / 'other.sqlite3'}", "--data-dir", str(tmp_path / "other")]
    run("users", "add", "imp", "--role", "analyst", *where)
    first = run("register", "import", str(exported), "--user", "imp", *where)
    assert first.exit_code == 0, first.output
    assert "5 created, 0 already there, 0 invalid" in first.stderr
    second = run("register", "import", str(exported), "--user", "imp", *where)
    assert "0 created, 5 already there" in second.stderr
    out = run("register", "export", "--format", "csv", *where)
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert sorted(r["notes"] for r in rows) == [f"event {i}" for i in range(5)]
    assert {r["source"] for r in rows} == {"register"}
    original = list(csv.DictReader(io.StringIO(exported.read_text())))
    assert {r["event_id"] for r in rows} == {r["event_id"] for r in original}


def test_import_refuses_a_file_without_event_columns(where, tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    run("users", "add", "imp", "--role", "analyst", *where)
    result = run("register", "import", str(path), "--user", "imp", *where)
    assert "cannot tell the format" in str(result.exception)  # kalkan.ingest's message
