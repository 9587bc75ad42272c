"""Case files: a BagIt package an independent validator accepts, `verify` rejecting any changed byte,
redaction per recipient, access control, and the export recorded in the audit chain."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import bagit
import pytest
from typer.testing import CliRunner

from kalkan.cli import _register_all, app
from kalkan.errors import AccessDenied, InputError, IntegrityError
from kalkan.register import audit
from kalkan.register.casefile import (
    CaseFile,
    Seal,
    _entry_json,
    _signature_text,
    public_key,
    verify_case_file,
    write_case_file,
)

_register_all()
PHOTO = b"photo of the burnt house on Navoi street\n" * 3
VIDEO = b"video frames, Cheremushki, 11 June\n" * 4
OTHER = b"statement scan of incident two\n"


@pytest.fixture
def filled(api: Any, make_report: Any) -> Any:
    """Three reports with witnesses, three evidence files, a grade and an admin's share."""
    ids = []
    for n in range(3):
        body = make_report(
            description=f"Houses burning, report {n}", personal={"witnesses": [{"name": f"W{n}"}]}
        )
        response = api.post("/api/incidents", "monitor", json=body)
        assert response.status_code in (200, 201), response.text
        ids.append(response.json()["id"])
    for iid, name, content in (
        (ids[0], "house.txt", PHOTO),
        (ids[0], "street.txt", VIDEO),
        (ids[1], "scan.txt", OTHER),
    ):
        response = api.post(
            f"/api/incidents/{iid}/attachments", "monitor", files={"file": (name, content, "text/plain")}
        )
        assert response.status_code == 201, response.text
    assert (
        api.post(f"/api/incidents/{ids[0]}/share", "admin", json={"role": "investigator"}).status_code == 204
    )
    step = api.post(
        f"/api/incidents/{ids[0]}/status", "analyst", json={"status": "verified", "reason": "two sources"}
    )
    assert step.status_code == 200, step.text
    api.ids = ids
    return api


def export(api: Any, out: Path, who: str = "investigator", **options: Any) -> CaseFile:
    options.setdefault("incidents", api.ids[:2])
    options.setdefault("recipient", "investigation")
    options.setdefault("purpose", "Request of the Kyrgyzstan Inquiry Commission, letter of 1 December 2010")
    with api.register.write() as session:
        return write_case_file(session, api.actors[who], out, **options)


def test_case_file_is_a_bag_an_independent_validator_accepts_and_verify_passes(
    filled: Any, tmp_path: Path
) -> None:
    made = export(filled, tmp_path / "case")
    bag = bagit.Bag(str(made.path))
    bag.validate(processes=1)  # the bagit library: RFC 8493, every SHA-256
    assert bag.is_valid() and "sha256" in bag.algorithms
    assert bag.info["External-Identifier"] == made.seal.package
    payload = set(bag.payload_files())
    assert {
        "data/incidents.json",
        "data/README.md",
        "data/custody/audit-extract.jsonl",
        "data/custody/anchor.json",
    } <= payload
    evidence = sorted(p for p in payload if p.startswith("data/evidence/"))
    assert sorted((made.path / p).read_bytes() for p in evidence) == sorted([PHOTO, VIDEO, OTHER])

    check = verify_case_file(made.path, audit_key=filled.register.keys.chain, seal=made.seal)
    assert check.ok, check.problems
    assert len(check.passed) == 6  # bagit, manifests, signature, custody, MACs, seal
    assert "the key you hold" in " ".join(check.passed)  # the seal carries the signer's public key
    assert made.seal.public_key == public_key(filled.register.keys.chain)
    # The register's own chain still verifies, holds the export, and its records are untouched.
    with filled.register.read() as session:
        assert audit.verify_chain(session).ok
        assert audit.verify_records(session) == []
        entries = [audit.AuditEntry(**_entry_json(e)) for e in audit.iter_entries(session)]
    last = entries[-1]
    assert (last.action, last.entity_id, last.actor) == ("case_file", made.seal.package, "investigator")
    assert (last.seq, last.hash) == (made.seal.anchor_seq, made.seal.anchor_hash)
    recorded = json.loads(last.payload)
    assert recorded["incidents"] == filled.ids[:2] and recorded["recipient"] == "investigation"
    assert sorted(recorded["evidence"].values()) == sorted(
        hashlib.sha256(c).hexdigest() for c in (PHOTO, VIDEO, OTHER)
    )
    opened = [e for e in entries if e.action == "open_evidence" and e.actor == "investigator"]
    assert len(opened) == 3
    shown = [
        json.loads(e.payload)["ids"]
        for e in entries
        if e.action == "open_personal" and e.actor == "investigator"
    ]
    assert shown[-1] == [filled.ids[0]]  # only the report shared with investigators went out with witnesses


def test_the_extract_proves_custody_of_what_is_in_the_package(filled: Any, tmp_path: Path) -> None:
    made = export(filled, tmp_path / "case")
    extract = [
        json.loads(line) for line in (made.path / "data/custody/audit-extract.jsonl").read_text().splitlines()
    ]
    actions = {(e["action"], e["entity"]) for e in extract}
    assert {
        ("create", "incident"),
        ("attach", "attachment"),
        ("share", "incident"),
        ("status", "incident"),
    } <= actions
    assert ("case_file", "case_file") == (extract[-1]["action"], extract[-1]["entity"])
    # Nothing about the unselected third report.
    third = str(filled.ids[2])
    assert not [e for e in extract if e["entity"] == "incident" and e["entity_id"] == third]
    anchor = json.loads((made.path / "data/custody/anchor.json").read_text())
    assert (anchor["seq"], anchor["hash"]) == (extract[-1]["seq"], extract[-1]["hash"])


def _flip(path: Path, position: int) -> bytes:
    data = path.read_bytes()
    changed = bytearray(data)
    changed[position] ^= 0x01
    path.write_bytes(bytes(changed))
    return data


PARTS = [
    "data/evidence",  # payload: an evidence file
    "data/incidents.json",  # payload: the incidents
    "data/README.md",
    "data/custody/audit-extract.jsonl",  # the audit extract
    "data/custody/anchor.json",
    "manifest-sha256.txt",
    "tagmanifest-sha256.txt",
    "bagit.txt",
    "bag-info.txt",
    "signature-ed25519.json",  # a tag file outside the tag manifest: the signature covers it
]


@pytest.mark.parametrize("part", PARTS)
def test_one_changed_byte_in_any_part_is_rejected(filled: Any, tmp_path: Path, part: str) -> None:
    made = export(filled, tmp_path / "case")
    target = made.path / part
    if target.is_dir():
        target = sorted(target.iterdir())[0]
    size = target.stat().st_size
    positions = sorted(
        {0, 1, size // 3, size // 2, (2 * size) // 3, size - 2, size - 1}
        | set(range(0, size, max(1, size // 25)))
    )
    for position in positions:
        original = _flip(target, position)
        try:
            check = verify_case_file(made.path)
            assert not check.ok, f"{part} byte {position} changed, yet verify passed"
        finally:
            target.write_bytes(original)
    assert verify_case_file(made.path, audit_key=filled.register.keys.chain, seal=made.seal).ok


def test_a_rehashed_forgery_passes_bagit_but_not_the_seal_or_the_audit_key(
    filled: Any, tmp_path: Path
) -> None:
    made = export(filled, tmp_path / "case")
    extract = made.path / "data/custody/audit-extract.jsonl"
    lines = extract.read_text().splitlines()
    first = json.loads(lines[0])
    first["actor"] = "someone else"  # who filed the first report, rewritten
    lines[0] = json.dumps(first, sort_keys=True)
    extract.write_text("\n".join(lines) + "\n")
    bag = bagit.Bag(str(made.path))
    bag.save(manifests=True)  # every manifest recomputed, as a forger would
    bagit.Bag(str(made.path)).validate(processes=1)
    assert not verify_case_file(made.path, audit_key=filled.register.keys.chain).ok
    check = verify_case_file(made.path, seal=made.seal)
    assert not check.ok and "signature" in check.problems[0]  # the tag manifest changed under it
    # Re-signed with the forger's own key: the signature verifies, but not as the mission's key.
    forger, tags = b"f" * 32, made.path / "tagmanifest-sha256.txt"
    kept = [line for line in tags.read_text().splitlines() if "signature-ed25519" not in line]
    tags.write_text("\n".join(kept) + "\n")  # bagit's save listed the old signature: a forger drops it
    signed = tags.read_bytes()
    (made.path / "signature-ed25519.json").write_text(_signature_text(forger, signed))
    forged = verify_case_file(made.path)
    assert forged.ok, forged.problems  # without anything pinned, a full forgery passes: say so
    pinned = verify_case_file(made.path, signer=made.seal.public_key)
    assert not pinned.ok and "re-signed by someone else" in pinned.problems[0]
    check = verify_case_file(made.path, seal=made.seal)
    assert not check.ok and any("seal" in p for p in check.problems)
    # Changing an incident and re-hashing the bag contradicts the chain's record of the export.
    incidents = made.path / "data/incidents.json"
    incidents.write_text(
        incidents.read_text().replace("Houses burning, report 0", "Houses burning, report 9")
    )
    bagit.Bag(str(made.path)).save(manifests=True)
    kept = [line for line in tags.read_text().splitlines() if "signature-ed25519" not in line]
    tags.write_text("\n".join(kept) + "\n")
    (made.path / "signature-ed25519.json").write_text(_signature_text(forger, tags.read_bytes()))
    check = verify_case_file(made.path)
    assert [p for p in check.problems if "audit chain recorded" in p] == check.problems != []


def test_redaction_follows_the_recipient(filled: Any, tmp_path: Path) -> None:
    full = json.loads((export(filled, tmp_path / "inv").path / "data/incidents.json").read_text())
    one, two = full["incidents"]
    assert one["personal"]["witnesses"] == [{"name": "W0", "contact": None, "statement": None}]
    assert two["personal"] is None and two["personal_withheld"] == "not shared with the exporter"
    assert one["notes"] == "Houses burning, report 0" and one["reporter"] == "monitor"
    assert [e["file"] is not None for e in one["evidence"]] == [True, True]
    assert one["history"][0]["to"] == "verified" and one["history"][0]["by"] == "analyst"

    partner_bag = export(filled, tmp_path / "partner", recipient="partner")
    partner = json.loads((partner_bag.path / "data/incidents.json").read_text())["incidents"]
    assert (
        all(r["personal"] is None for r in partner)
        and "W0" not in (partner_bag.path / "data/incidents.json").read_text()
    )
    assert partner[0]["reporter"] == "person 1" and partner[0]["history"][0]["by"] == "person 2"
    assert not (partner_bag.path / "data/evidence").exists() or not any(
        (partner_bag.path / "data/evidence").iterdir()
    )
    assert [e["file"] for e in partner[0]["evidence"]] == [None, None] and partner[0]["evidence"][0]["sha256"]
    assert partner_bag.evidence == []

    public_bag = export(filled, tmp_path / "public", recipient="public")
    public = json.loads((public_bag.path / "data/incidents.json").read_text())["incidents"]
    assert "notes" not in public[0] and "reporter" not in public[0] and "client_id" not in public[0]
    assert public[0]["latitude"] == 40.53 and public[0]["longitude"] == 72.8
    assert "notes" in public[0]["redacted_fields"]
    readme = (public_bag.path / "data/README.md").read_text()
    assert "What is not included" in readme and "rounded to 0.01 degree: latitude, longitude" in readme
    for made in (partner_bag, public_bag):
        assert verify_case_file(made.path, audit_key=filled.register.keys.chain, seal=made.seal).ok


def test_only_roles_that_may_see_it_can_export_it(filled: Any, tmp_path: Path) -> None:
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    with filled.register.read() as session:
        before = audit.verify_chain(session).entries
    with pytest.raises(AccessDenied, match="may not export"):
        export(filled, tmp_path / "m", who="monitor")
    with pytest.raises(AccessDenied, match="evidence"):
        export(filled, tmp_path / "a", who="analyst")
    with pytest.raises(AccessDenied, match="custody"):
        export(filled, tmp_path / "a", who="analyst", evidence="none")
    with pytest.raises(InputError, match="not attached"):
        export(filled, tmp_path / "i", evidence="99")
    assert not list(tmp_path.iterdir())  # nothing left behind, not even a partial folder
    with filled.register.read() as session:
        assert audit.verify_chain(session).entries == before  # refused exports wrote nothing
    made = export(filled, tmp_path / "a", who="analyst", evidence="none", history="none", recipient="partner")
    assert verify_case_file(made.path, audit_key=filled.register.keys.chain, seal=made.seal).ok
    extract = (made.path / "data/custody/audit-extract.jsonl").read_text().splitlines()
    assert len(extract) == 1  # only the export's own entry: no history was selected
    with pytest.raises(InputError, match="already exists"):
        export(filled, tmp_path / "a")


def test_cli_writes_and_verifies_and_rejects(filled: Any, tmp_path: Path) -> None:
    where = ["--db", str(filled.register.db.url), "--data-dir", str(filled.register.data_dir)]
    out, seal = tmp_path / "case", tmp_path / "seal.json"
    ids = ",".join(map(str, filled.ids[:2]))
    runner = CliRunner()
    args = [
        "register",
        "case-file",
        "--user",
        "investigator",
        "--incidents",
        ids,
        "--recipient",
        "investigation",
    ]
    made = runner.invoke(
        app,
        [*args, "--purpose", "Request of the commission", "--out", str(out), "--seal-out", str(seal), *where],
    )
    assert made.exit_code == 0, made.output
    assert Seal.from_text(made.stdout.splitlines()[0], "stdout") == Seal.from_text(seal.read_text(), "seal")
    key_file = tmp_path / "audit.key"
    key_file.write_text(base64.urlsafe_b64encode(filled.register.keys.chain).decode() + "\n")
    ok = runner.invoke(
        app,
        ["register", "case-file", "verify", str(out), "--seal", str(seal), "--audit-key-file", str(key_file)],
    )
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.count("ok: ") == 6
    key = runner.invoke(app, ["register", "case-file", "key", *where])
    assert key.exit_code == 0 and key.stdout.strip() == Seal.from_text(seal.read_text(), "seal").public_key
    pinned = runner.invoke(
        app, ["register", "case-file", "verify", str(out), "--public-key", key.stdout.strip()]
    )
    assert pinned.exit_code == 0 and "the key you hold" in pinned.stdout
    bad_key = runner.invoke(app, ["register", "case-file", "verify", str(out), "--public-key", "xyz"])
    assert isinstance(bad_key.exception, InputError) and "64 hex digits" in str(bad_key.exception)
    bare = runner.invoke(app, ["register", "case-file", "verify", str(out)])
    assert bare.exit_code == 0 and "Not checked" in bare.stdout
    evidence = sorted((out / "data/evidence").iterdir())[0]
    _flip(evidence, 5)
    bad = runner.invoke(app, ["register", "case-file", "verify", str(out)])
    assert isinstance(bad.exception, IntegrityError) and evidence.name in str(bad.exception)
    missing = runner.invoke(app, ["register", "case-file", "--user", "investigator", *where])
    assert isinstance(missing.exception, InputError) and "--incidents, --recipient, --purpose, --out" in str(
        missing.exception
    )
    wrong = runner.invoke(
        app, [*args[:-1], "court", "--purpose", "x y z", "--out", str(tmp_path / "c2"), *where]
    )
    assert isinstance(wrong.exception, InputError) and "investigation, partner, public" in str(
        wrong.exception
    )
    assert not (tmp_path / "c2").exists()
    shutil.rmtree(out)
