"""Issue 17: each finding of the security review, replayed as the attack, now failing.

The tampering cases run against a copy of a register filled through its API (users of every role,
reports with witnesses, shares, evidence, status changes, links), as a copy of a real database would
be tampered with: straight SQL on the file, without the audit key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sqlite3
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kalkan.cli import _register_all, app
from kalkan.errors import InputError, IntegrityError
from kalkan.register import audit, service
from kalkan.register.app import create_app
from kalkan.register.auth import Actor, Role, add_user, authenticate
from kalkan.register.context import open_register
from kalkan.register.db import utcnow
from kalkan.register.schemas import IncidentFilter

_register_all()

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 400
WITNESS = {"source_name": "Dilnoza K.", "witnesses": [{"name": "Rustam A.", "statement": "saw them at 3am"}]}


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def _report(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": str(uuid.uuid4()),
        "type": "arson",
        "date_start": "2010-06-11",
        "latitude": 40.5283,
        "longitude": 72.7985,
        "source_reliability": "B",
        "information_credibility": "2",
        "description": "Houses burning on Navoi street, Cheremushki mahalla.",
    }
    body.update(overrides)
    return body


# --- a real register, filled through the API, and copies of it -----------------------------------------


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A register filled as its users would fill it; tests tamper with copies of its folder."""
    keys = {
        "KALKAN_REGISTER_KEY": "q7QY3zZ0m2F3s9mGz0b6Kx3n8Wm4tJ2v0c1d5e6f7g8=",
        "KALKAN_REGISTER_AUDIT_KEY": "a3VkaXQta2V5LW9mLXRoZS10ZXN0cy1ub3QtYS1zZWM=",
    }
    folder = tmp_path_factory.mktemp("original")
    with mock.patch.dict("os.environ", keys):
        application = create_app(
            f"sqlite:///{folder / 'register.sqlite3'}", data_dir=folder, synchronous="NORMAL"
        )
        register = application.state.register
        tokens = {}
        with register.write() as s:
            for name, role in (
                ("monitor", "monitor"),
                ("analyst", "analyst"),
                ("investigator", "investigator"),
                ("admin", "admin"),
                ("admin2", "admin"),
            ):
                tokens[name] = add_user(s, name, role)[1]
        with TestClient(application) as client:

            def h(who: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {tokens[who]}"}

            ids = [
                client.post(
                    "/api/incidents",
                    headers=h("monitor"),
                    json=_report(personal=WITNESS, description=f"report {i}"),
                ).json()["id"]
                for i in range(4)
            ]
            for i in ids[:2]:
                r = client.post(
                    f"/api/incidents/{i}/attachments",
                    headers=h("monitor"),
                    files={"file": (f"photo{i}.jpg", JPEG + bytes([i]), "image/jpeg")},
                )
                assert r.status_code == 201, r.text
            client.post(
                f"/api/incidents/{ids[0]}/status",
                headers=h("analyst"),
                json={"status": "verified", "reason": "two witnesses"},
            )
            client.post(
                "/api/links",
                headers=h("analyst"),
                json={"incident_a": ids[2], "incident_b": ids[3], "reason": "same fire"},
            )
            assert (
                client.post(
                    f"/api/incidents/{ids[0]}/share", headers=h("admin"), json={"role": "investigator"}
                ).status_code
                == 204
            )
            client.get("/api/attachments/1", headers=h("investigator"))
        register.close()
    with mock.patch.dict("os.environ", keys):
        assert run("users", "revoke", "admin2", "--data-dir", str(folder)).exit_code == 0
    return {"folder": folder, "tokens": tokens, "ids": ids, "keys": keys}


@pytest.fixture
def copy(original: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A copy of the filled register's folder (database and evidence), with its keys in the environment."""
    target = tmp_path / "copy"
    shutil.copytree(original["folder"], target)
    for name, value in original["keys"].items():
        monkeypatch.setenv(name, value)
    return {**original, "folder": target, "where": ["--data-dir", str(target)]}


def sql(copy: dict[str, Any], *statements: str) -> None:
    with sqlite3.connect(copy["folder"] / "register.sqlite3") as db:
        for statement in statements:
            db.execute(statement)


def verify(copy: dict[str, Any], *extra: str) -> Any:
    return run("register", "verify", *copy["where"], *extra)


def refused(result: Any, *words: str) -> None:
    assert result.exit_code != 0 and isinstance(result.exception, IntegrityError), result.output
    for word in words:
        assert word in str(result.exception), str(result.exception)


def client_of(copy: dict[str, Any]) -> TestClient:
    return TestClient(create_app(f"sqlite:///{copy['folder'] / 'register.sqlite3'}", data_dir=copy["folder"]))


def test_the_untouched_copy_verifies(copy: dict[str, Any]) -> None:
    result = verify(copy)
    assert result.exit_code == 0, result.output
    assert "Every table matches it" in result.stdout


def _rehash_all(copy: dict[str, Any], edit: str) -> None:
    """The attack of the review: edit the database, then recompute every entry's hash and the head."""
    with sqlite3.connect(copy["folder"] / "register.sqlite3") as db:
        db.execute(edit)
        prev, rows = (
            "0" * 64,
            db.execute(
                "SELECT seq, at, actor_id, actor, action, entity, entity_id, payload "
                "FROM audit_log ORDER BY seq"
            ).fetchall(),
        )
        for new_seq, (seq, at, actor_id, actor, action, entity, entity_id, payload) in enumerate(rows, 1):
            when = datetime.fromisoformat(str(at)).replace(tzinfo=UTC)
            digest = audit.legacy_hash(
                new_seq, when, actor_id, actor, action, entity, entity_id, payload, prev
            )
            db.execute(
                "UPDATE audit_log SET seq = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (new_seq, prev, digest, seq),
            )
            prev = digest
        db.execute("UPDATE audit_head SET seq = ?, hash = ?", (len(rows), prev))


def test_finding_1a_a_changed_description_with_every_hash_recomputed_is_named(copy: dict[str, Any]) -> None:
    first = copy["ids"][0]
    _rehash_all(copy, f"UPDATE incidents SET description = 'nothing happened' WHERE id = {first}")
    sql(copy, "UPDATE audit_log SET payload = REPLACE(payload, 'report 0', 'nothing happened')")
    refused(verify(copy), "entry 1", "MAC")


def test_finding_1b_a_cut_tail_is_proved_by_the_anchor(copy: dict[str, Any], tmp_path: Path) -> None:
    anchor_file = tmp_path / "anchor.json"
    result = run("register", "anchor", *copy["where"], "--out", str(anchor_file))
    assert result.exit_code == 0, result.output
    kept = json.loads(anchor_file.read_text())
    assert set(kept) == {"seq", "hash", "at", "key_id"} and json.loads(result.stdout) == kept
    assert verify(copy, "--anchor", str(anchor_file)).exit_code == 0
    # the last entry (the revocation) deleted and the head moved back one step
    with sqlite3.connect(copy["folder"] / "register.sqlite3") as db:
        seq, prev = db.execute("SELECT seq, prev_hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        db.execute(f"DELETE FROM audit_log WHERE seq = {seq}")
        db.execute(f"UPDATE audit_head SET seq = {seq - 1}, hash = '{prev}'")
        db.execute("UPDATE users SET active = 1 WHERE name = 'admin2'")  # what the cut entry recorded
    refused(verify(copy, "--anchor", str(anchor_file)), f"entry {seq}", "cut")


def test_finding_1c_a_deleted_incident_with_the_chain_renumbered_is_named(copy: dict[str, Any]) -> None:
    last = copy["ids"][-1]
    _rehash_all(copy, f"DELETE FROM incidents WHERE id = {last}")
    sql(
        copy,
        f"DELETE FROM audit_log WHERE entity = 'incident' AND entity_id = '{last}' AND action = 'create'",
    )
    refused(verify(copy), "Audit chain is broken")


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("UPDATE users SET role = 'admin' WHERE name = 'monitor'", "user 1 ('monitor'): role"),
        ("UPDATE users SET active = 1 WHERE name = 'admin2'", "active"),
        (
            "UPDATE attachments SET sha256 = (SELECT sha256 FROM attachments WHERE id = 2) WHERE id = 1",
            "attachment 1: sha256",
        ),
        (
            "UPDATE status_changes SET user_id = (SELECT id FROM users WHERE name = 'admin')",
            "status change 1",
        ),
        (
            "INSERT INTO shares (incident_id, role, user_id) VALUES (1, NULL, 2)",
            "share of incident 1 with user 2",
        ),
    ],
)
def test_finding_2_tables_that_decide_access_are_replayed_against_the_chain(
    copy: dict[str, Any], statement: str, named: str
) -> None:
    sql(copy, statement)
    refused(verify(copy), named)


def test_finding_2_forged_rows_take_no_effect(copy: dict[str, Any]) -> None:
    chosen = "attacker-chosen-token-" + "x" * 30
    sql(
        copy,
        "UPDATE users SET role = 'admin' WHERE name = 'monitor'",
        "UPDATE users SET active = 1 WHERE name = 'admin2'",
        f"UPDATE users SET token_hash = '{hashlib.sha256(chosen.encode()).hexdigest()}' WHERE name = 'admin'",
        "INSERT INTO shares (incident_id, role, user_id) VALUES (1, NULL, 2)",
        "UPDATE attachments SET sha256 = (SELECT sha256 FROM attachments WHERE id = 2) WHERE id = 1",
    )
    refused(verify(copy), "5 record(s) were changed outside the register")
    tokens = copy["tokens"]
    with client_of(copy) as client:
        for token in (chosen, tokens["monitor"], tokens["admin2"]):
            assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        analyst = {"Authorization": f"Bearer {tokens['analyst']}"}
        assert client.get("/api/incidents/1", headers=analyst).json()["personal"] is None
        investigator = {"Authorization": f"Bearer {tokens['investigator']}"}
        assert client.get("/api/attachments/1", headers=investigator).status_code == 500


def test_finding_3_page_downloads_are_audited_and_bound_to_the_incident(copy: dict[str, Any]) -> None:
    with client_of(copy) as client:
        csrf = _sign_in(client, copy["tokens"]["investigator"])
        assert csrf
        other = client.get("/incidents/2/attachments/1")  # attachment 1 belongs to incident 1
        assert other.status_code == 404
        own = client.get("/incidents/1/attachments/1")
        assert own.status_code == 200 and own.content.startswith(JPEG[:4])
        register = client.app.state.register  # type: ignore[attr-defined]
        with register.read() as s:
            opened = [
                e.actor
                for e in audit.iter_entries(s, entity="attachment", entity_id=1)
                if e.action == "open_evidence"
            ]
    assert opened == ["investigator", "investigator"]  # the API download and the page


def test_witness_data_shown_enters_the_chain_on_every_route(copy: dict[str, Any]) -> None:
    with client_of(copy) as client:
        admin = {"Authorization": f"Bearer {copy['tokens']['admin']}"}
        assert client.get("/api/incidents/2", headers=admin).json()["personal"]["source_name"] == "Dilnoza K."
        client.get("/api/incidents", headers=admin)
        _sign_in(client, copy["tokens"]["admin"])
        assert "Rustam A." in client.get("/incidents/3").text
        register = client.app.state.register  # type: ignore[attr-defined]
        with register.read() as s:
            opened = [
                json.loads(e.payload)["ids"] for e in audit.iter_entries(s) if e.action == "open_personal"
            ]
            custody = service.custody(s, Actor(4, "admin", Role.ADMIN), 2)
    assert [2] in opened and any(3 in ids for ids in opened[1:]) and any(len(ids) == 4 for ids in opened)
    assert any(e["action"] == "open_personal" for e in custody)


def _sign_in(client: TestClient, token: str) -> str:
    form = client.get("/signin").text
    csrf = form.split('name="csrf" value="')[1].split('"')[0]
    response = client.post("/signin", data={"token": token, "next": "/report", "csrf": csrf})
    assert response.status_code == 200, response.text
    return response.text.split('<meta name="csrf-token" content="')[1].split('"')[0]


# --- API findings on a fresh register ------------------------------------------------------------------


def test_finding_4_sign_in_needs_the_pre_session_token_and_this_origin(api) -> None:
    client = api.client
    plain = client.post("/signin", data={"token": api.tokens["monitor"]}, follow_redirects=False)
    assert plain.status_code == 403 and "kalkan_session" not in plain.cookies
    form = client.get("/signin").text
    csrf = form.split('name="csrf" value="')[1].split('"')[0]
    foreign = client.post(
        "/signin",
        data={"token": api.tokens["monitor"], "csrf": csrf},
        headers={"Origin": "http://attacker.example"},
        follow_redirects=False,
    )
    assert foreign.status_code == 403
    ok = client.post("/signin", data={"token": api.tokens["monitor"], "csrf": csrf}, follow_redirects=False)
    assert ok.status_code == 303 and "kalkan_session" in ok.cookies


def test_finding_5_personal_data_shares_need_an_admin_and_never_oneself(api, make_report) -> None:
    iid = api.post("/api/incidents", "monitor", json=make_report(personal=WITNESS)).json()["id"]
    assert (
        api.post(f"/api/incidents/{iid}/share", "investigator", json={"user": "investigator"}).status_code
        == 403
    )
    assert (
        api.post(f"/api/incidents/{iid}/share", "investigator", json={"user": "analyst"}).status_code == 403
    )
    assert (
        api.post(f"/api/incidents/{iid}/share", "monitor", json={"role": "investigator"}).status_code == 403
    )
    assert api.post(f"/api/incidents/{iid}/share", "admin", json={"user": "admin"}).status_code == 403
    assert api.get(f"/api/incidents/{iid}", "investigator").json()["personal"] is None
    assert api.post(f"/api/incidents/{iid}/share", "monitor", json={"role": "monitor"}).status_code == 204
    assert api.post(f"/api/incidents/{iid}/share", "admin", json={"user": "analyst"}).status_code == 204
    assert api.get(f"/api/incidents/{iid}", "analyst").json()["personal"]["source_name"] == "Dilnoza K."


def test_finding_6_web_sessions_are_server_side_and_end(api) -> None:
    client = api.client
    _sign_in(client, api.tokens["monitor"])
    cookie = client.cookies["kalkan_session"]
    assert cookie != api.tokens["monitor"] and api.tokens["monitor"] not in cookie
    assert client.get("/report", follow_redirects=False).status_code == 200
    csrf = client.get("/report").text.split('<meta name="csrf-token" content="')[1].split('"')[0]
    assert client.post("/signout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    client.cookies.set("kalkan_session", cookie)  # a copy of the cookie, kept after sign-out
    assert client.get("/report", follow_redirects=False).status_code == 303
    # idle and absolute expiry
    _sign_in(client, api.tokens["monitor"])
    assert client.get("/report", follow_redirects=False).status_code == 200
    later = utcnow() + timedelta(minutes=31)
    with mock.patch("kalkan.register.sessions.utcnow", return_value=later):
        assert client.get("/report", follow_redirects=False).status_code == 303
    with api.register.write() as s:
        s.execute(
            sa.text("UPDATE web_sessions SET last_seen_at = :t"),
            {"t": utcnow() + timedelta(hours=12, minutes=1)},
        )
    with mock.patch(
        "kalkan.register.sessions.utcnow", return_value=utcnow() + timedelta(hours=12, minutes=2)
    ):
        assert client.get("/report", follow_redirects=False).status_code == 303


def test_finding_6_api_tokens_can_expire(api) -> None:
    with api.register.write() as s:
        _user, token = add_user(s, "shortlived", "monitor", expires_at=utcnow() + timedelta(days=1))
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/me", headers=headers).status_code == 200
    with (
        api.register.read() as s,
        mock.patch("kalkan.register.auth.utcnow", return_value=utcnow() + timedelta(days=2)),
    ):
        assert authenticate(s, token) is None
    made = api.post("/api/users", "admin", json={"name": "temp", "role": "monitor", "expires_days": 7})
    assert made.status_code == 201 and made.json()["expires_at"] is not None


def test_finding_7_keys_live_apart_from_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KALKAN_REGISTER_KEY", "KALKAN_REGISTER_AUDIT_KEY", "KALKAN_REGISTER_KEY_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    from kalkan.register.crypto import load_keys

    data = tmp_path / "data"
    keys = load_keys(data)
    assert keys.data_file == tmp_path / "config" / "kalkan" / "register" / "register.key"
    assert keys.chain_file == keys.data_file.with_name("audit.key")
    for path in (keys.data_file, keys.chain_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and data not in path.parents
    # a key file in the data folder: serve refuses to start
    monkeypatch.setenv("KALKAN_REGISTER_KEY_FILE", str(data / "register.key"))
    from kalkan.register.crypto import write_key_file

    write_key_file(data / "register.key")
    result = run("serve", "--data-dir", str(data), "--port", "1")
    assert result.exit_code != 0 and "in the database's folder" in str(result.exception)


def test_finding_7_rotate_key_reseals_the_witness_data(
    copy: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = copy["folder"] / "keys" / "register.key"
    from kalkan.register.crypto import write_key_file

    write_key_file(key_file, copy["keys"]["KALKAN_REGISTER_KEY"])
    monkeypatch.delenv("KALKAN_REGISTER_KEY")
    monkeypatch.setenv("KALKAN_REGISTER_KEY_FILE", str(key_file))
    before = (
        sqlite3.connect(copy["folder"] / "register.sqlite3")
        .execute("SELECT personal_sealed FROM incidents WHERE id = 1")
        .fetchone()[0]
    )
    result = run("register", "rotate-key", *copy["where"])
    assert result.exit_code == 0, result.output
    assert key_file.read_text().strip() != copy["keys"]["KALKAN_REGISTER_KEY"]
    after = (
        sqlite3.connect(copy["folder"] / "register.sqlite3")
        .execute("SELECT personal_sealed FROM incidents WHERE id = 1")
        .fetchone()[0]
    )
    assert after != before
    assert verify(copy).exit_code == 0
    with client_of(copy) as client:
        admin = {"Authorization": f"Bearer {copy['tokens']['admin']}"}
        assert client.get("/api/incidents/1", headers=admin).json()["personal"]["source_name"] == "Dilnoza K."


def test_finding_8_client_id_conflicts_are_409_naming_the_report(api, make_report) -> None:
    body = make_report()
    first = api.post("/api/incidents", "monitor", json=body)
    assert first.status_code == 201
    assert api.post("/api/incidents", "monitor", json=body).status_code == 200
    changed = api.post("/api/incidents", "monitor", json={**body, "description": "another text"})
    assert changed.status_code == 409 and f"report {first.json()['id']}" in changed.json()["detail"]
    assert "description" in changed.json()["detail"]
    other = api.post("/api/incidents", "analyst", json=body)
    assert other.status_code == 409 and f"report {first.json()['id']}" in other.json()["detail"]
    assert "Navoi" not in other.text


def test_finding_9_failed_sign_ins_are_limited_logged_and_audited(
    api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="kalkan.register.auth")
    codes = [
        api.client.get("/api/me", headers={"Authorization": f"Bearer wrong-{i}"}).status_code
        for i in range(20)
    ]
    assert codes[:5] == [401] * 5 and set(codes[6:]) == {429}
    locked = api.client.get("/api/me", headers=api.as_("admin"))  # even a valid token, from here, now
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
    assert sum("failed sign-in" in r.getMessage() for r in caplog.records) >= 5
    with api.register.read() as s:
        actions = [e.action for e in audit.iter_entries(s, entity="auth")]
    assert actions.count("auth_failed") >= 5 and "auth_locked" in actions and len(actions) < 20


def test_finding_10_not_found_and_not_allowed_answer_alike(api, make_report) -> None:
    hidden = api.post("/api/incidents", "monitor", json=make_report()).json()["id"]
    api.post(
        f"/api/incidents/{hidden}/attachments", "monitor", files={"file": ("a.txt", b"notes", "text/plain")}
    )
    seen = api.get("/api/attachments/1", "monitor2")
    missing = api.get("/api/attachments/999", "monitor2")
    role = api.get("/api/attachments/1", "analyst")
    assert seen.status_code == missing.status_code == role.status_code == 404
    assert seen.json()["detail"].replace(" 1 ", " N ") == missing.json()["detail"].replace(" 999 ", " N ")
    assert role.json() == seen.json()


def test_finding_11_names_are_normalised_and_spoofs_refused(api, make_report) -> None:
    with api.register.write() as s:
        with pytest.raises(InputError, match="one script"):
            add_user(s, "\u0430dmin1", "admin")  # Cyrillic а
        user, _ = add_user(s, "ev\u202eil\u202c", "monitor")
        assert user.name == "evil"
        wide, _ = add_user(s, "\uff4b\uff41\uff4c", "monitor")  # fullwidth "kal"
        assert wide.name == "kal"
    iid = api.post("/api/incidents", "monitor", json=make_report()).json()["id"]
    name = "photo\u202egpj.exe"
    made = api.post(
        f"/api/incidents/{iid}/attachments", "monitor", files={"file": (name, b"text", "text/plain")}
    )
    assert made.status_code == 201 and made.json()["filename"] == "photogpj.exe"


def test_finding_12_limits_types_and_headers(api, make_report) -> None:
    iid = api.post("/api/incidents", "monitor", json=make_report()).json()["id"]
    elf = api.post(
        f"/api/incidents/{iid}/attachments", "monitor", files={"file": ("x.jpg", ELF, "image/jpeg")}
    )
    assert elf.status_code == 422 and "application/x-executable" in elf.json()["detail"]
    one = api.post(
        f"/api/incidents/{iid}/attachments", "monitor", files={"file": ("a.jpg", JPEG, "image/jpeg")}
    )
    two = api.post(
        f"/api/incidents/{iid}/attachments", "monitor", files={"file": ("b.jpg", JPEG, "image/jpeg")}
    )
    assert one.json()["id"] == two.json()["id"]
    assert len(api.get(f"/api/incidents/{iid}", "monitor").json()["attachments"]) == 1
    big = api.client.get("/api/me", headers={**api.as_("admin"), "X-Padding": "x" * 100_000})
    assert big.status_code == 431

    def chunks():
        for _ in range(20):
            yield b"x" * 100_000

    chunked = api.client.post(
        "/api/incidents", headers={**api.as_("monitor"), "Content-Type": "application/json"}, content=chunks()
    )
    assert chunked.status_code == 413
    for path in (
        "/map/incidents.json",
        "/static/favicon.svg",
        "/openapi.json",
        "/api/me",
        "/nowhere",
        "/signin",
    ):
        headers = api.client.get(path, headers=api.as_("admin")).headers
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY", path


def test_finding_12_docs_are_local_and_for_admins(api) -> None:
    client = api.client
    assert client.get("/docs", follow_redirects=False).status_code == 303
    _sign_in(client, api.tokens["analyst"])
    assert client.get("/docs").status_code == 403
    client.cookies.clear()
    _sign_in(client, api.tokens["admin"])
    page = client.get("/docs")
    assert (
        page.status_code == 200
        and "cdn" not in page.text.lower()
        and "/docs/assets/swagger-ui-bundle.js" in page.text
    )
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


FILTERS = [
    {},
    {"status": "verified"},
    {"type": "looting"},
    {"min_lat": 40.6},
    {"max_lon": 72.9},
    {"leads_only": True},
    {"q": "bazaar"},
    {"date_from": "2010-06-12"},
    {"source_reliability": ["A"]},
    {"min_lat": 40.55, "max_lat": 40.65, "min_lon": 72.85, "max_lon": 72.95},  # a whole bounding box
    {"leads_only": True, "max_lat": 40.6},  # leads only, inside a box
    {"date_to": "2010-06-11"},
    {"reporter": "monitor2"},
    {"security_forces": False},
]


def test_list_and_map_show_the_same_reports_for_every_role_and_filter(api, make_report) -> None:
    for i in range(12):
        body = make_report(
            type="looting" if i % 3 else "arson",
            latitude=40.5 + i * 0.02,
            longitude=72.8 + i * 0.02,
            date_start=f"2010-06-{10 + i % 4:02d}",
            description="near the bazaar" if i % 2 else "street",
            source_reliability="A" if i % 4 == 0 else "B",
            restricted=i % 5 != 0,
        )
        api.post("/api/incidents", "monitor" if i % 2 else "monitor2", json=body)
    api.post("/api/incidents/1/status", "analyst", json={"status": "verified", "reason": "seen"})
    api.post("/api/links", "analyst", json={"incident_a": 2, "incident_b": 3, "reason": "same"})
    from kalkan.register.pages._map import map_rows

    for who, actor in api.actors.items():
        for f in FILTERS:
            filters = IncidentFilter.model_validate({**f, "limit": 500})
            with api.register.read() as s:
                listed = sorted(i.id for i in service.list_incidents(s, actor, filters).items)
                mapped = sorted(row[0] for row in map_rows(s, actor, filters))
            assert listed == mapped, (who, f)


def test_an_unkeyed_chain_is_rechained_under_the_key_and_says_so(db_url, tmp_path) -> None:
    register = open_register(db_url, data_dir=tmp_path / "data")
    admin = None
    with register.write() as s:
        user, _ = add_user(s, "adm", "admin")
        admin = Actor(user.id, "adm", Role.ADMIN)
    from kalkan.register.schemas import IncidentIn

    with register.write() as s:
        service.create_incident(s, admin, IncidentIn.model_validate(_report()))
    # turn it into a chain as written before migration 0003: unkeyed SHA-256, no seals
    with register.write() as s:
        prev = audit.GENESIS
        for e in list(audit.iter_entries(s)):
            digest = audit.legacy_hash(
                e.seq, e.at, e.actor_id, e.actor, e.action, e.entity, e.entity_id, e.payload, prev
            )
            s.execute(
                sa.text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :q"),
                {"p": prev, "h": digest, "q": e.seq},
            )
            prev = digest
        s.execute(sa.text("UPDATE audit_head SET hash = :h, scheme = 'sha256', key_id = NULL"), {"h": prev})
        s.execute(sa.text("UPDATE users SET seal = NULL"))
    register.close()
    again = open_register(db_url, data_dir=tmp_path / "data")
    with again.read() as s:
        report = audit.verify_chain(s)
        entries = [(e.action, json.loads(e.payload)) for e in audit.iter_entries(s)]
        assert audit.verify_records(s) == []
    again.close()
    assert report.ok and [a for a, _ in entries][-2:] == ["rechain", "baseline"]
    assert entries[-2][1]["unkeyed_head"] == prev
    engine = sa.create_engine(db_url)
    with engine.begin() as c:
        c.exec_driver_sql("UPDATE audit_head SET scheme = 'sha256'")
    engine.dispose()
    with pytest.raises(IntegrityError):  # and a broken unkeyed chain is never re-keyed
        open_register(db_url, data_dir=tmp_path / "data")


@pytest.mark.slow
def test_tls_serves_https_with_secure_cookies_and_hsts(tmp_path: Path) -> None:
    """`kalkan serve --certfile/--keyfile` over loopback: https, HSTS, and a Secure session cookie."""
    import datetime as dt
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "tls.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    data = tmp_path / "data"
    env = {
        **os.environ,
        "KALKAN_REGISTER_KEY_DIR": str(tmp_path / "keys"),
        "KALKAN_REGISTER_DATA_DIR": str(data),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
    }
    for name_ in ("KALKAN_REGISTER_KEY", "KALKAN_REGISTER_AUDIT_KEY"):
        env.pop(name_, None)
    kalkan = [str(Path(sys.executable).parent / "kalkan")]
    token = subprocess.run(
        [*kalkan, "users", "add", "tls-admin", "--role", "admin"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [
            *kalkan,
            "serve",
            "--port",
            str(port),
            "--certfile",
            str(tmp_path / "tls.crt"),
            "--keyfile",
            str(tmp_path / "tls.key"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, verify=False, trust_env=False, timeout=10) as client:
            form = None
            for _ in range(300):
                try:
                    form = client.get("/signin")
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            assert form is not None, "kalkan serve did not answer over https within 60 s"
            assert form.headers["strict-transport-security"].startswith("max-age=")
            assert (
                client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()["name"]
                == "tls-admin"
            )
            csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
            signed = client.post("/signin", data={"token": token, "csrf": csrf}, follow_redirects=False)
            cookie = signed.headers["set-cookie"]
            assert signed.status_code == 303 and "kalkan_session=" in cookie and "Secure" in cookie
        with pytest.raises(httpx.TransportError):  # plain http is not served on the TLS port
            httpx.get(f"http://127.0.0.1:{port}/signin", trust_env=False, timeout=5).raise_for_status()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_database_of_schema_0002_with_an_unkeyed_chain_is_migrated_and_rechained(tmp_path: Path) -> None:
    """A register as the code before issue 17 left it (schema 0002, SHA-256 chain, no seals, key in the
    data folder) opens under the new code: migration 0003, re-keyed chain, old token still valid."""
    from alembic import command
    from alembic.config import Config

    from kalkan.register.auth import hash_token
    from kalkan.register.db import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'register.sqlite3'}"
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    token, at = "an-old-token-" + "x" * 30, utcnow()
    rows = [
        (1, None, "cli", "add_user", "user", "1", json.dumps({"name": "old-admin", "role": "admin"})),
        (2, 1, "old-admin", "share", "incident", "9", json.dumps({"role": "investigator", "user": None})),
    ]
    with engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO users (id, name, role, token_hash, active, created_at) "
                "VALUES (1, 'old-admin', 'admin', :h, 1, :at)"
            ),
            {"h": hash_token(token), "at": at},
        )
        prev = audit.GENESIS
        for seq, actor_id, actor, action, entity, entity_id, payload in rows:
            digest = audit.legacy_hash(seq, at, actor_id, actor, action, entity, entity_id, payload, prev)
            c.execute(
                sa.text("INSERT INTO audit_log VALUES (:s, :at, :a, :n, :ac, :e, :i, :p, :prev, :h)"),
                {
                    "s": seq,
                    "at": at,
                    "a": actor_id,
                    "n": actor,
                    "ac": action,
                    "e": entity,
                    "i": entity_id,
                    "p": payload,
                    "prev": prev,
                    "h": digest,
                },
            )
            prev = digest
        c.execute(sa.text("UPDATE audit_head SET seq = 2, hash = :h"), {"h": prev})
    engine.dispose()
    register = open_register(url, data_dir=tmp_path)
    with register.read() as s:
        assert audit.verify_chain(s).ok
        assert [e.action for e in audit.iter_entries(s)] == ["add_user", "share", "rechain", "baseline"]
        assert authenticate(s, token) == Actor(1, "old-admin", Role.ADMIN)
    register.close()
