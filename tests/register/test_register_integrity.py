"""The audit chain, the evidence store, sealing, migrations and duplicate scoring, below the API."""

from __future__ import annotations

import io
import math
import os
import stat
from datetime import date
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalkan.errors import InputError, IntegrityError, StoreError
from kalkan.register import audit, service
from kalkan.register.context import open_register
from kalkan.register.crypto import Sealer, generate_key, load_key
from kalkan.register.db import Base, Database
from kalkan.register.dedup import candidate_pairs, haversine_km, text_similarity
from kalkan.register.schemas import IncidentIn

JPEG_START = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"  # enough for the file-type check


@pytest.fixture
def filled(db_url, tmp_path, make_report):
    """A register with three reports, a status change and an attachment (six chain entries)."""
    register = open_register(db_url, data_dir=tmp_path / "data", synchronous="NORMAL")
    from kalkan.register.auth import Actor, Role, add_user

    with register.write() as s:
        user, _ = add_user(s, "m", "admin")
    actor = Actor(user.id, "m", Role.ADMIN)
    with register.write() as s:
        ids = [
            service.create_incident(s, actor, IncidentIn.model_validate(make_report()))[0].id
            for _ in range(3)
        ]
        service.change_status(s, actor, ids[0], "verified", "seen")
        service.attach_evidence(
            s,
            actor,
            ids[1],
            filename="a.jpg",
            media_type="image/jpeg",
            stream=io.BytesIO(JPEG_START + b"photo bytes"),
        )
    yield register, actor, ids
    register.close()


def _sql(register, statement: str) -> None:
    with register.db.engine.begin() as c:
        c.exec_driver_sql(statement)


def test_chain_verifies_then_names_an_altered_entry(filled) -> None:
    register, _, ids = filled
    with register.read() as s:
        report = audit.verify_chain(s)
    assert report.ok and report.entries == 6  # the user and five changes
    _sql(register, "UPDATE audit_log SET payload = REPLACE(payload, 'seen', 'unseen') WHERE seq = 5")
    with register.read() as s:
        report = audit.verify_chain(s)
    assert not report.ok and report.broken_seq == 5 and "altered" in report.message()
    assert "status incident" in report.message()


def test_chain_names_a_deleted_middle_entry_and_a_deleted_tail(filled) -> None:
    register, _, _ = filled
    _sql(register, "DELETE FROM audit_log WHERE seq = 2")
    with register.read() as s:
        report = audit.verify_chain(s)
    assert (report.ok, report.broken_seq) == (False, 2) and "missing" in report.problem


def test_chain_names_a_truncated_tail(filled) -> None:
    register, _, _ = filled
    _sql(register, "DELETE FROM audit_log WHERE seq = 6")
    with register.read() as s:
        report = audit.verify_chain(s)
    assert (report.ok, report.broken_seq) == (False, 6) and "deleted" in report.problem


def test_a_rewritten_and_rehashed_entry_is_named_without_the_key(filled) -> None:
    register, _, _ = filled
    with register.read() as s:
        e = s.get(audit.AuditEntry, 3)
        forged = audit.legacy_hash(
            e.seq, e.at, e.actor_id, e.actor, e.action, e.entity, e.entity_id, "{}", e.prev_hash
        )
    _sql(register, f"UPDATE audit_log SET payload = '{{}}', hash = '{forged}' WHERE seq = 3")
    with register.read() as s:
        report = audit.verify_chain(s)
    assert (report.ok, report.broken_seq) == (False, 3) and "MAC" in report.problem


def test_evidence_swapped_on_disk_is_found(filled) -> None:
    register, actor, _ = filled
    with register.read() as s:
        assert audit.verify_evidence(s, register.evidence.root) == []
        (meta, path) = service.evidence_file(s, actor, 1)
    os.chmod(path, 0o640)
    path.write_bytes(b"doctored")
    with register.read() as s:
        problems = audit.verify_evidence(s, register.evidence.root)
        assert len(problems) == 1 and "altered" in problems[0] and "a.jpg" in problems[0]
        with pytest.raises(IntegrityError, match="altered on disk"):
            service.evidence_file(s, actor, 1)
    path.unlink()
    with register.read() as s:
        assert "missing" in audit.verify_evidence(s, register.evidence.root)[0]


def test_evidence_store_deduplicates_and_limits_size(tmp_path) -> None:
    from kalkan.register.evidence import EvidenceStore

    store = EvidenceStore(tmp_path)
    a = store.put(io.BytesIO(b"same"))
    b = store.put([b"sa", b"me"])
    assert a == b and store.check(a[0]) == "ok"
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1
    with pytest.raises(InputError, match="over 0 MiB"):
        store.put(io.BytesIO(b"x" * 2000), max_bytes=1000)
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1  # nothing half-written left
    with pytest.raises(InputError, match="not a SHA-256"):
        store.path("../../etc/passwd")


def test_sealed_values_open_only_with_their_key_and_row() -> None:
    sealer = Sealer(os.urandom(32))
    token = sealer.seal({"name": "Rustam"}, "incident-a")
    assert "Rustam" not in token and sealer.open(token, "incident-a") == {"name": "Rustam"}
    assert sealer.seal({"name": "Rustam"}, "incident-a") != token  # a fresh nonce each time
    with pytest.raises(IntegrityError, match="does not open"):
        sealer.open(token, "incident-b")
    with pytest.raises(IntegrityError, match="does not open"):
        Sealer(os.urandom(32)).open(token, "incident-a")


def test_key_from_env_file_or_created(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("KALKAN_REGISTER_KEY")
    monkeypatch.setenv("KALKAN_REGISTER_KEY_DIR", str(tmp_path))
    key = load_key(tmp_path / "data")
    path = tmp_path / "register.key"
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(tmp_path / "data") == key
    monkeypatch.setenv("KALKAN_REGISTER_KEY", "dG9vLXNob3J0")  # base64 of "too-short"
    with pytest.raises(InputError, match="9 bytes; AES-256 needs 32"):
        load_key(tmp_path / "data")
    monkeypatch.setenv("KALKAN_REGISTER_KEY", "not base64!")
    with pytest.raises(InputError, match="not URL-safe base64"):
        load_key(tmp_path / "data")
    monkeypatch.setenv("KALKAN_REGISTER_KEY", generate_key())
    assert load_key(tmp_path / "data") != key
    monkeypatch.delenv("KALKAN_REGISTER_KEY")
    monkeypatch.setenv("KALKAN_REGISTER_KEY_FILE", str(tmp_path / "nope.key"))
    with pytest.raises(InputError, match="does not exist"):
        load_key(tmp_path / "data")


def test_migrations_build_exactly_the_models(db_url) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    database = Database(db_url)
    database.migrate()
    database.migrate()  # a second run is a no-op
    with database.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
        head = c.exec_driver_sql("SELECT seq, hash FROM audit_head").all()
    database.dispose()
    assert diff == [] and head == [(0, "0" * 64)]


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    with database.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    database.dispose()


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("sqlite://", "in-memory"),  # would lose every report at exit
        ("mysql://x@y/z", "not supported"),
        ("::nonsense::", "cannot be parsed"),
    ],
)
def test_bad_database_urls_are_refused(url, match) -> None:
    with pytest.raises(StoreError, match=match):
        Database(url)


def test_unreachable_postgres_is_one_sentence() -> None:
    database = Database("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(StoreError, match="cannot be opened"):
        database.migrate()
    database.dispose()


# --- duplicates --------------------------------------------------------------------------------------


def test_haversine_matches_a_known_distance() -> None:
    # Osh (40.5283, 72.7985) to Jalal-Abad (40.9333, 72.9815): about 47.6 km on the sphere
    assert haversine_km(40.5283, 72.7985, 40.9333, 72.9815) == pytest.approx(47.6, abs=0.5)
    assert haversine_km(0, 0, 0, 180) == pytest.approx(math.pi * 6371.0088)


@given(st.text(max_size=80), st.text(max_size=80))
def test_text_similarity_is_a_symmetric_index(a, b) -> None:
    s = text_similarity(a, b)
    assert 0.0 <= s <= 1.0 and s == text_similarity(b, a)


def test_text_similarity_ranks_rewordings_above_other_events() -> None:
    a = "Houses set on fire on Navoi street by young men"
    assert text_similarity(a, a.upper()) == 1.0
    assert text_similarity(a, "Young men set houses on Navoi street on fire") > text_similarity(
        a, "Checkpoint at the bridge closed, buses turned back"
    )


def _row(i, kind="arson", day=11, lat=40.5283, lon=72.7985, text="houses burning", lead=None):
    return SimpleNamespace(
        id=i,
        event_type=kind,
        date_start=date(2010, 6, day),
        latitude=lat,
        longitude=lon,
        description=text,
        lead_id=lead,
    )


def test_candidate_pairs_against_all_pairs_reference() -> None:
    rows = [
        _row(1),
        _row(2, day=12),
        _row(3, day=20),
        _row(4, kind="looting"),
        _row(5, lat=40.6),
        _row(6, day=13, text="houses burning near the bazaar"),
        _row(7, lead=1),
        _row(8, day=11, lon=72.81),
    ]
    fast = {(c.incident_a, c.incident_b) for c in candidate_pairs(rows, distance_km=5, days=3, min_score=0.3)}
    slow = set()
    for a in rows:  # the obvious quadratic reference
        for b in rows:
            if (
                a.id < b.id
                and a.event_type == b.event_type
                and abs((a.date_start - b.date_start).days) <= 3
                and haversine_km(a.latitude, a.longitude, b.latitude, b.longitude) <= 5
                and (a.lead_id or a.id) != (b.lead_id or b.id)
            ):
                slow.add((a.id, b.id))
    assert fast == slow and (1, 7) not in fast and (1, 2) in fast


def test_records_match_the_chain_after_every_kind_of_change(filled) -> None:
    register, actor, ids = filled
    with register.write() as s:
        service.link_incidents(s, actor, ids[1], ids[2], "same event")
        service.share_incident(s, actor, ids[0], role="investigator")
    with register.read() as s:
        assert audit.verify_records(s) == []


@pytest.mark.parametrize(
    ("statement", "found"),
    [
        # an edit behind the register's back, and the line verify must print for it
        (
            "UPDATE incidents SET description = 'nothing happened' WHERE id = 2",
            "incident 2: description differ",
        ),
        (
            "UPDATE incidents SET source_reliability = 'A', latitude = 41.0 WHERE id = 3",
            "incident 3: latitude, source_reliability differ",
        ),
        (
            "UPDATE incidents SET status = 'rejected' WHERE id = 2",
            "status is 'rejected' but the chain says 'reported'",
        ),
        (
            "UPDATE incidents SET personal_sealed = 'v1:AAAA' WHERE id = 1",
            "incident 1: personal data ciphertext differs",
        ),
        (
            "DELETE FROM attachments; DELETE FROM status_changes; DELETE FROM incidents WHERE id = 1",
            "incident 1 was created in the chain but is missing",
        ),
    ],
)
def test_edits_behind_the_registers_back_are_named(filled, statement, found) -> None:
    register, _, _ = filled
    for part in statement.split("; "):
        _sql(register, part)
    with register.read() as s:
        problems = audit.verify_records(s)
    assert any(found in p for p in problems), problems
