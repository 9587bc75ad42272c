"""The throughput pass keeps every guarantee: group commit, the writers' file lock, token caching."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import event

from kalkan.register import audit, service
from kalkan.register.auth import revoke_user
from kalkan.register.schemas import IncidentIn

USERS_IN_CHAIN = 6  # the api fixture's users: each one's creation is a chain entry


def _report(**overrides: Any) -> IncidentIn:
    body: dict[str, Any] = {
        "client_id": str(uuid.uuid4()),
        "type": "arson",
        "date_start": "2010-06-11",
        "latitude": 40.5283,
        "longitude": 72.7985,
        "source_reliability": "B",
        "information_credibility": "2",
        "description": "Houses burning on Navoi street.",
        "personal": {"witnesses": [{"name": "A witness"}]},
    }
    body.update(overrides)
    return IncidentIn.model_validate(body)


def _commits(api: Any) -> list[int]:
    counted: list[int] = []
    db = api.register.db
    event.listen(db._writer, "commit", lambda _conn: counted.append(1))
    return counted


def _queue_behind_a_held_writer(api: Any, jobs: list[Any]) -> tuple[list[Any], list[BaseException]]:
    """Start one thread per job while this thread holds the writer, so the jobs queue up; then let go.

    The first job to arrive leads a batch of its own and waits for the writer; the others queue behind
    it and run together in the next batch.
    """
    db = api.register.db
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = api.register.write_batched(jobs[i])
        except BaseException as error:  # noqa: B036 - collected for the assertions
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    with db._write_lock:
        threads[0].start()
        deadline = time.monotonic() + 30
        while (db._pending or not db._leader.locked()) and time.monotonic() < deadline:
            time.sleep(0.005)  # until the first job is taken as a batch of its own
        for t in threads[1:]:
            t.start()
        while len(db._pending) < len(jobs) - 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(db._pending) == len(jobs) - 1, "the jobs did not queue behind the held writer"
    for t in threads:
        t.join(60)
    return results, errors


def test_reports_filed_together_share_one_commit_and_each_enters_the_chain(api) -> None:
    if not api.register.db.is_sqlite:
        pytest.skip("the held-writer set-up uses SQLite's in-process writer lock")
    monitor = api.actors["monitor"]
    reports = [_report(description=f"report {i}") for i in range(6)]
    commits = _commits(api)
    results, errors = _queue_behind_a_held_writer(
        api, [lambda s, r=r: service.create_incident(s, monitor, r) for r in reports]
    )
    assert not errors
    assert len(commits) == 2  # the first report alone, then the five that queued behind it together
    assert all(created for _out, created in results)
    assert sorted(out.client_id for out, _ in results) == sorted(str(r.client_id) for r in reports)
    with api.register.read() as s:
        chain = audit.verify_chain(s)
        assert chain.ok and chain.entries == 6 + USERS_IN_CHAIN, chain.message()
        assert audit.verify_records(s) == []
    for out, _ in results:  # each one stored, as acknowledged
        response = api.get(f"/api/incidents/{out.id}", "monitor")
        assert response.status_code == 200 and response.json()["description"] == out.description


def test_a_failing_report_in_a_batch_fails_alone(api) -> None:
    if not api.register.db.is_sqlite:
        pytest.skip("the held-writer set-up uses SQLite's in-process writer lock")
    taken = _report(description="filed by monitor2 first")
    with api.register.write() as s:
        service.create_incident(s, api.actors["monitor2"], taken)
    monitor = api.actors["monitor"]
    good = [_report(description=f"good {i}") for i in range(3)]
    jobs = [lambda s, r=r: service.create_incident(s, monitor, r) for r in good]
    jobs.insert(2, lambda s: service.create_incident(s, monitor, taken))  # another user's UUID: 409
    results, errors = _queue_behind_a_held_writer(api, jobs)
    assert len(errors) == 1 and isinstance(errors[0], service.Conflict), errors
    stored = [out.client_id for out, _ in (r for r in results if r is not None)]
    assert sorted(stored) == sorted(str(r.client_id) for r in good)
    with api.register.read() as s:
        chain = audit.verify_chain(s)
        assert chain.ok and chain.entries == 4 + USERS_IN_CHAIN, (
            chain.message()
        )  # monitor2's report and the three good
        assert audit.verify_records(s) == []


class _Interrupt(BaseException):
    """Stands for KeyboardInterrupt or SystemExit raised inside a job."""


def test_an_interrupted_batch_acknowledges_nothing(api) -> None:
    if not api.register.db.is_sqlite:
        pytest.skip("the held-writer set-up uses SQLite's in-process writer lock")
    from kalkan.errors import StoreError

    monitor = api.actors["monitor"]
    reports = [_report(description=f"batch {i}") for i in range(4)]

    def interrupted(s: Any) -> Any:
        service.create_incident(s, monitor, reports[2])
        raise _Interrupt

    jobs: list[Any] = [lambda s, r=r: service.create_incident(s, monitor, r) for r in reports]
    jobs[2] = interrupted
    results, errors = _queue_behind_a_held_writer(api, jobs)
    # the first job committed alone; the other three shared the interrupted transaction
    assert results[0] is not None and results[1:] == [None, None, None]
    assert len(errors) == 3 and sum(isinstance(e, StoreError) for e in errors) >= 2, errors
    with api.register.read() as s:
        chain = audit.verify_chain(s)
        assert chain.ok and chain.entries == 1 + USERS_IN_CHAIN, chain.message()


def test_same_client_id_twice_in_one_batch_is_stored_once(api) -> None:
    if not api.register.db.is_sqlite:
        pytest.skip("the held-writer set-up uses SQLite's in-process writer lock")
    monitor = api.actors["monitor"]
    first = _report()
    again = first.model_copy()
    jobs = [lambda s, r=r: service.create_incident(s, monitor, r) for r in (_report(), first, again)]
    results, errors = _queue_behind_a_held_writer(api, jobs)
    assert not errors
    (_, created_0), (out_1, created_1), (out_2, created_2) = results
    assert created_0 and [created_1, created_2].count(True) == 1 and out_1.id == out_2.id
    with api.register.read() as s:
        assert audit.verify_chain(s).entries == 2 + USERS_IN_CHAIN


def test_concurrent_api_writes_all_acknowledged_and_chained(api, make_report) -> None:
    bodies = [make_report(description=f"burst {i}") for i in range(24)]
    answers: list[Any] = [None] * len(bodies)

    def send(i: int) -> None:
        answers[i] = api.post("/api/incidents", "monitor", json=bodies[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [a.status_code for a in answers] == [201] * len(bodies)
    assert len({a.json()["id"] for a in answers}) == len(bodies)
    with api.register.read() as s:
        chain = audit.verify_chain(s)
        assert chain.ok and chain.entries == len(bodies) + USERS_IN_CHAIN, chain.message()


def test_writers_queue_on_a_file_lock_beside_the_sqlite_database(api) -> None:
    db = api.register.db
    if not db.is_sqlite:
        pytest.skip("SQLite only")
    fcntl = pytest.importorskip("fcntl")
    with api.register.write() as s:
        service.create_incident(s, api.actors["monitor"], _report())
    lock = db._file_lock
    assert lock is not None and lock.path.exists()
    import os

    fd = os.open(lock.path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free between writes
        done = threading.Event()

        def write() -> None:
            with api.register.write() as s:
                service.create_incident(s, api.actors["monitor"], _report())
            done.set()

        writer = threading.Thread(target=write)
        writer.start()
        assert not done.wait(0.3)  # another process's writer holds the lock: this one waits
        fcntl.flock(fd, fcntl.LOCK_UN)
        assert done.wait(30)
        writer.join(30)
    finally:
        os.close(fd)


def test_a_revoked_token_is_refused_once_the_cached_lookup_expires(api, monkeypatch) -> None:
    from kalkan.register import app as app_module

    assert api.get("/api/me", "analyst").status_code == 200  # now cached
    with api.register.write() as s:
        revoke_user(s, "analyst")
    now = time.monotonic()
    monkeypatch.setattr(app_module, "_now", lambda: now + app_module.TOKEN_CACHE_SECONDS + 0.01)
    response = api.get("/api/me", "analyst")
    assert response.status_code == 401, response.text
    assert api.get("/api/incidents/1", "analyst").status_code == 401
    assert api.get("/api/me", "admin").status_code == 200


def test_fast_reads_answer_exactly_as_the_fastapi_route(db_url, tmp_path, make_report, monkeypatch) -> None:
    """Every GET /api/incidents/{id} gets the same status, headers and body from FastRead as from the
    FastAPI route: each role, hidden and unknown incidents, redacted and shared personal data, bad
    ids, bad or missing tokens, query strings."""
    from fastapi.testclient import TestClient

    from kalkan.register.app import FastRead, create_app
    from kalkan.register.auth import add_user

    answered: list[int] = []
    original = FastRead._answer

    def spy(self: FastRead, *args: Any) -> bytes | None:
        body = original(self, *args)
        if body is not None:
            answered.append(1)
        return body

    monkeypatch.setattr(FastRead, "_answer", spy)
    data = tmp_path / "data"
    fast_app = create_app(db_url, data_dir=data, synchronous="NORMAL")
    plain_app = create_app(db_url, data_dir=data, synchronous="NORMAL", fast_reads=False)
    register = fast_app.state.register
    tokens = {}
    with register.write() as s:
        for name, role in [
            ("mon", "monitor"),
            ("mon2", "monitor"),
            ("ana", "analyst"),
            ("inv", "investigator"),
        ]:
            tokens[name] = add_user(s, name, role)[1]
        tokens["adm"] = add_user(s, "adm", "admin")[1]
    personal = {"witnesses": [{"name": "Aziza", "contact": "+996 555", "statement": "<script>x</script>"}]}
    with TestClient(fast_app) as fast, TestClient(plain_app) as plain:

        def as_(who: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[who]}"}

        ids = [
            fast.post("/api/incidents", headers=as_("mon"), json=make_report(personal=personal)).json()["id"],
            fast.post("/api/incidents", headers=as_("mon2"), json=make_report(restricted=False)).json()["id"],
            fast.post("/api/incidents", headers=as_("mon"), json=make_report(personal=personal)).json()["id"],
        ]
        fast.post(f"/api/incidents/{ids[2]}/share", headers=as_("adm"), json={"role": "investigator"})
        fast.post(
            f"/api/incidents/{ids[0]}/status",
            headers=as_("ana"),
            json={"status": "verified", "reason": "seen"},
        )
        fast.post(
            "/api/links",
            headers=as_("ana"),
            json={"incident_a": ids[0], "incident_b": ids[1], "reason": "same"},
        )
        fast.post(
            f"/api/incidents/{ids[0]}/attachments", headers=as_("mon"), files={"file": ("a.txt", b"evidence")}
        )
        paths = [f"/api/incidents/{i}" for i in [*ids, 999_999]]
        paths += [
            "/api/incidents/0",
            "/api/incidents/01",
            "/api/incidents/2147483648",
            f"/api/incidents/{ids[0]}?x=1",
        ]
        headers = [as_(who) for who in tokens]
        headers += [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {tokens['adm']}"}]
        headers += [{"Authorization": f"bearer  {tokens['adm']} "}]
        compared = 0
        for path in paths:
            for h in headers:
                a, b = fast.get(path, headers=h), plain.get(path, headers=h)
                assert (a.status_code, a.content) == (b.status_code, b.content), (path, h, a.text, b.text)
                assert sorted(a.headers.items()) == sorted(b.headers.items()), (path, h)
                compared += 1
    assert compared == len(paths) * len(headers)
    assert len(answered) >= 3 * len(tokens)  # the successful reads did take the fast path


def test_a_list_page_by_type_reads_newest_first_from_an_index_without_sorting(api) -> None:
    """Every list page newest first: filtered by type it must not sort every incident of that type
    (the cost of a page would grow with the register)."""
    if not api.register.db.is_sqlite:
        pytest.skip("SQLite's query plan")
    from sqlalchemy.dialects import sqlite

    from kalkan.register.db import Incident
    from kalkan.register.schemas import IncidentFilter

    for who in ("admin", "monitor"):
        query = service._filtered(api.actors[who], IncidentFilter.model_validate({"type": "arson"}))
        query = query.order_by(Incident.id.desc()).limit(51)
        sql = str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
        with api.register.read() as s:
            plan = [row[-1] for row in s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
        assert not any("TEMP B-TREE" in step for step in plan), (who, plan)


def test_server_workers_freeze_their_startup_objects(tmp_path, monkeypatch) -> None:
    """A full garbage collection must not rescan the start-up heap (about 70 ms a time, felt by every
    request queued behind it): ``kalkan serve``'s app factory freezes it."""
    import gc

    from kalkan.register.app import app_from_env

    monkeypatch.setenv("KALKAN_REGISTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KALKAN_REGISTER_SYNCHRONOUS", "NORMAL")
    before = gc.get_freeze_count()
    try:
        app = app_from_env()
        assert gc.get_freeze_count() > max(before, 10_000)
        app.state.register.close()
    finally:
        gc.unfreeze()


def test_serve_workers_refuses_a_port_in_use_with_one_sentence() -> None:
    import socket

    from kalkan.errors import OptionError
    from kalkan.register.commands import _listening_socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OptionError, match=f"127.0.0.1:{port}.*choose another --port"):
            _listening_socket("127.0.0.1", port, reuseport=False)
