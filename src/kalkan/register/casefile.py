"""Case files for an international investigation: chosen incidents, evidence and custody in one BagIt bag.

An investigator selects incidents, their evidence files and their audit history; :func:`write_case_file`
writes a BagIt package (RFC 8493, through the ``bagit`` library) that a court, a commission of inquiry
or a partner can check on its own:

- ``data/incidents.json``: the incidents in kalkan's event schema (:data:`kalkan.model.EVENT_COLUMNS`)
  plus the register's fields, with the recipient's redaction rules (:data:`RECIPIENTS`) applied;
- ``data/evidence/``: the evidence files, byte for byte, each named by its attachment id and hash;
- ``data/custody/audit-extract.jsonl``: every audit-chain entry about those incidents and files, with
  everything its MAC covers, ending with the ``case_file`` entry that records this export;
- ``data/custody/anchor.json``: the chain's head right after that entry (sequence, MAC, audit key id);
- ``data/README.md``: what is and is not in the package, and how to check it;
- ``manifest-sha256.txt`` and ``tagmanifest-sha256.txt``: SHA-256 of every file.

The export is audited: the ``case_file`` entry names the exporter, the recipient, the purpose, the
incidents and files, and the SHA-256 of everything in ``data/`` outside ``custody/``, so the chain
itself holds what left the register. Each part checks its own right: incidents must be visible to the
exporter, evidence files and custody need ``read_evidence`` (investigators and admins), personal data
goes only where the exporter may see it and the recipient's rules allow it.

:func:`verify_case_file` checks a package with nothing but kalkan: the bag (``bagit`` validation plus a
strict reading of both manifests, so a single changed byte anywhere is named), the extract's links and
its anchor, and the ``case_file`` entry against the payload. With the register's audit key it also
recomputes every entry's MAC; with the seal line printed at export time (sent apart from the package)
it proves the package is the one that was exported. ``signature-ed25519.json`` (a tag file outside
the tag manifest) signs the tag manifest with an Ed25519 key derived from the audit key; the mission
publishes its public half once (``kalkan register case-file key``), so a receiver who pins it can tell
the mission's packages from re-signed forgeries with nothing secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kalkan.errors import AccessDenied, InputError, IntegrityError
from kalkan.model import EVENT_COLUMNS
from kalkan.register import audit, service
from kalkan.register.auth import Actor, can
from kalkan.register.crypto import key_id
from kalkan.register.db import AuditEntry, AuditHead, utcnow
from kalkan.register.schemas import IncidentDetail

__all__ = [
    "RECIPIENTS",
    "CaseFile",
    "CaseFileCheck",
    "Recipient",
    "Seal",
    "parse_ids",
    "public_key",
    "read_audit_key",
    "verify_case_file",
    "write_case_file",
]

FORMAT = "kalkan-case-file/1"
_EXTRACT = "data/custody/audit-extract.jsonl"
_ANCHOR = "data/custody/anchor.json"
_INCIDENTS = "data/incidents.json"
SIGNATURE = "signature-ed25519.json"
_SIGNING_LABEL = b"kalkan case-file signing key v1"
_CUSTODY = "data/custody/"
_CHUNK = 1024 * 1024
# The one form the bagit library writes each manifest in (payload: two spaces; tag manifest: one).
_MANIFEST_LINE = {
    "manifest-sha256.txt": re.compile(r"^([0-9a-f]{64})  ([^\x00-\x1f\x7f]+)$"),
    "tagmanifest-sha256.txt": re.compile(r"^([0-9a-f]{64}) ([^\x00-\x1f\x7f]+)$"),
}


# --- recipients and their redaction rules ----------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """Who the package is for, and what of each incident they may receive.

    ``drop`` fields are removed, ``round`` coordinates are rounded to 0.01 degree (about 1 km),
    ``pseudonym`` fields are replaced by a number stable within the package.
    """

    name: str
    description: str
    personal: bool
    evidence_files: bool
    drop: frozenset[str] = frozenset()
    round: frozenset[str] = frozenset()
    pseudonym: frozenset[str] = frozenset()


RECIPIENTS: dict[str, Recipient] = {
    r.name: r
    for r in (
        Recipient(
            "investigation",
            "an international investigation or commission of inquiry bound by confidentiality and "
            "witness-protection rules: every field, the evidence files, and the witness and source data "
            "the exporter may see",
            personal=True,
            evidence_files=True,
        ),
        Recipient(
            "partner",
            "a human-rights or humanitarian partner: no witness or source data, the reporting monitor "
            "replaced by a number, no device position; evidence files listed by hash only",
            personal=False,
            evidence_files=False,
            drop=frozenset({"captured_latitude", "captured_longitude", "client_id"}),
            pseudonym=frozenset({"reporter", "uploaded_by", "by"}),
        ),
        Recipient(
            "public",
            "publication: no witness or source data, no narrative (free text can name people), "
            "no reporter, no device position or time, victims only as counts, coordinates rounded to "
            "about 1 km; evidence files listed by hash only",
            personal=False,
            evidence_files=False,
            drop=frozenset(
                {
                    "notes",
                    "reporter",
                    "client_id",
                    "captured_at",
                    "captured_latitude",
                    "captured_longitude",
                    "victims",
                    "uploaded_by",
                    "by",
                    "reason",
                    "filename",
                }
            ),
            round=frozenset({"latitude", "longitude"}),
        ),
    )
}


# --- the mission's case-file signing key ----------------------------------------------------------


def _signing_key(audit_key: bytes) -> Any:
    """The Ed25519 key that signs case files, derived from the audit key (HMAC-SHA256 under a label
    of its own as the seed): nothing new to keep, and it changes when the audit key is rotated."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(hmac.new(audit_key, _SIGNING_LABEL, hashlib.sha256).digest())


def public_key(audit_key: bytes) -> str:
    """The case-file signing key's public half (64 hex digits): publish it, so that receivers can
    check every package the mission sends with nothing secret."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = _signing_key(audit_key).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return bytes(raw).hex()


def _signature_text(audit_key: bytes, tagmanifest: bytes) -> str:
    signature = _signing_key(audit_key).sign(tagmanifest)
    document = {
        "algorithm": "Ed25519",
        "public_key": public_key(audit_key),
        "signs": "tagmanifest-sha256.txt",
        "signature": bytes(signature).hex(),
    }
    return json.dumps(document, sort_keys=True) + "\n"


# --- writing -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seal:
    """What the exporter sends the recipient apart from the package (mail, letter, another system):
    the package's id, the SHA-256 of its tag manifest and the chain anchor taken with it."""

    package: str
    tagmanifest_sha256: str
    anchor_seq: int
    anchor_hash: str
    key_id: str
    at: str
    public_key: str = ""

    def to_json(self) -> str:
        """One line of JSON."""
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_text(cls, text: str, where: str) -> Seal:
        """Read a seal line written by :meth:`to_json` (``where`` names the file in the error)."""
        try:
            data = json.loads(text)
            return cls(
                str(data["package"]),
                str(data["tagmanifest_sha256"]),
                int(data["anchor_seq"]),
                str(data["anchor_hash"]),
                str(data["key_id"]),
                str(data["at"]),
                str(data.get("public_key", "")),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(
                f"{where} is not a case-file seal ({error}): give the line `kalkan register case-file` "
                "printed when it wrote the package."
            ) from error


@dataclass
class CaseFile:
    """A written package: where it is, what went in, and its seal."""

    path: Path
    seal: Seal
    incidents: list[int]
    evidence: list[int]
    entries: int
    withheld_personal: list[int] = field(default_factory=list)


def parse_ids(text: str, what: str) -> list[int]:
    """``"3,5,8-10"`` as ``[3, 5, 8, 9, 10]`` (sorted, unique); a clear error for anything else."""
    ids: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        match = re.fullmatch(r"(\d{1,9})(?:-(\d{1,9}))?", part)
        if not match:
            raise InputError(
                f"{what} {text!r} is not a list of numbers: give ids like 3,5,8-10 (commas, ranges)."
            )
        low, high = int(match[1]), int(match[2] or match[1])
        if high < low or high - low > 100_000:
            raise InputError(f"{what} range {part!r} is backwards or too long (at most 100,000 ids).")
        ids.update(range(low, high + 1))
    return sorted(ids)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _content_digest(files: Iterable[tuple[str, Path]]) -> str:
    """SHA-256 over the ``sha256  data/...`` lines of the payload outside ``custody/``: what the chain
    records of a package (``files`` pairs each name in the bag with where the file is now)."""
    lines = sorted(f"{_sha256_file(path)}  {name}\n" for name, path in files)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


class _Pseudonyms:
    def __init__(self) -> None:
        self.numbers: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        return self.numbers.setdefault(name, f"person {len(self.numbers) + 1}")


def _redact(value: dict[str, Any], rules: Recipient, names: _Pseudonyms) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in rules.drop:
            continue
        if key in rules.round and isinstance(item, float):
            item = round(item, 2)
        elif key in rules.pseudonym and isinstance(item, str):
            item = names(item)
        out[key] = item
    return out


def _record(
    detail: IncidentDetail,
    rules: Recipient,
    names: _Pseudonyms,
    evidence_paths: dict[int, str],
    personal: bool,
) -> dict[str, Any]:
    """One incident in the event schema, then the register's own fields, redacted for the recipient."""
    source_id = detail.source_id or detail.client_id
    event: dict[str, Any] = {
        "event_id": f"{detail.source}:{source_id}",
        "source": detail.source,
        "source_id": source_id,
        "version": 1,
        "date_start": detail.date_start.isoformat(),
        "date_end": _iso(detail.date_end),
        "date_precision": detail.date_precision,
        "latitude": detail.latitude,
        "longitude": detail.longitude,
        "location_precision": detail.location_precision,
        "country_iso3": detail.country_iso3,
        "admin1": detail.admin1,
        "admin2": detail.admin2,
        "place_name": detail.place_name,
        "event_type": detail.type,
        "sub_event_type": detail.sub_event_type,
        "civilian_targeting": detail.civilian_targeting,
        "perpetrator": detail.perpetrator,
        "perpetrator_type": detail.perpetrator_type,
        "victim_group": detail.victim_group,
        "victim_type": detail.victim_type,
        "fatalities_best": detail.fatalities_best,
        "fatalities_low": detail.fatalities_low,
        "fatalities_high": detail.fatalities_high,
        "source_reliability": detail.source_reliability,
        "information_credibility": detail.information_credibility,
        "notes": detail.description,
    }
    assert list(event) == EVENT_COLUMNS, "the case file's event fields follow kalkan.model.EVENT_COLUMNS"
    register: dict[str, Any] = {
        "incident_id": detail.id,
        "client_id": detail.client_id,
        "status": detail.status,
        "lead_id": detail.lead_id,
        "linked_ids": detail.linked_ids,
        "restricted": detail.restricted,
        "reporter": detail.reporter,
        "received_at": detail.received_at.isoformat(),
        "captured_at": _iso(detail.captured_at),
        "captured_latitude": detail.captured_latitude,
        "captured_longitude": detail.captured_longitude,
        "victims": [v.model_dump(mode="json") for v in detail.victims],
    }
    record = _redact({**event, **register}, rules, names)
    record["history"] = [
        _redact(
            {
                "from": step.from_status,
                "to": step.to_status,
                "by": step.by,
                "at": step.at.isoformat(),
                "reason": step.reason,
            },
            rules,
            names,
        )
        for step in detail.history
    ]
    record["evidence"] = [
        _redact(
            {
                "attachment_id": a.id,
                "sha256": a.sha256,
                "filename": a.filename,
                "media_type": a.media_type,
                "size_bytes": a.size_bytes,
                "uploaded_by": a.uploaded_by,
                "uploaded_at": a.uploaded_at.isoformat(),
                "file": evidence_paths.get(a.id),
            },
            rules,
            names,
        )
        for a in detail.attachments
    ]
    if personal and detail.personal is not None:
        record["personal"] = detail.personal.model_dump(mode="json")
    elif detail.personal_redacted or (detail.personal is not None and not personal):
        record["personal"] = None
        record["personal_withheld"] = (
            "not for this recipient" if not rules.personal else "not shared with the exporter"
        )
    record["redacted_fields"] = sorted((rules.drop | rules.round | rules.pseudonym) & set(event | register))
    return record


def _entry_json(entry: Any) -> dict[str, Any]:
    """An audit entry with every field its MAC covers, as stored (payload kept as its exact text)."""
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor": entry.actor,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "payload": entry.payload,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def _select_evidence(details: Sequence[IncidentDetail], evidence: str) -> list[int]:
    offered = {a.id for d in details for a in d.attachments}
    if evidence == "all":
        return sorted(offered)
    if evidence == "none":
        return []
    wanted = parse_ids(evidence, "--evidence")
    foreign = [i for i in wanted if i not in offered]
    if foreign:
        raise InputError(
            f"Evidence {', '.join(map(str, foreign))} is not attached to the selected incidents: "
            "select its incident too, or leave it out."
        )
    return wanted


def write_case_file(
    session: Session,
    actor: Actor,
    out: Path,
    *,
    incidents: Sequence[int],
    recipient: str,
    purpose: str,
    evidence: str = "all",
    history: str = "custody",
    organization: str = "kalkan incident register",
) -> CaseFile:
    """Write the case file to ``out`` (a new folder) inside the caller's write transaction.

    The folder is built beside ``out`` and renamed into place only when everything is written; the
    caller commits the transaction (which holds the export's audit entries) before handing it out.
    On any error nothing is left at ``out`` and the transaction must be rolled back.
    """
    if recipient not in RECIPIENTS:
        raise InputError(f"Recipient {recipient!r} is not one of {', '.join(RECIPIENTS)}.")
    if history not in ("custody", "none"):
        raise InputError(f"History {history!r} is not custody or none.")
    purpose = " ".join(purpose.split())
    if not 3 <= len(purpose) <= 2000:
        raise InputError(
            "Say why the package is made (3 to 2,000 characters): the request, its date and who asked."
        )
    if not incidents:
        raise InputError("Select at least one incident for the case file.")
    if not can(actor, "export"):
        raise AccessDenied(f"{actor.name} ({actor.role}) may not export incidents.")
    out = Path(out)
    if out.exists():
        raise InputError(f"{out} already exists: give a new folder for the case file.")
    if not out.parent.is_dir():
        raise InputError(f"The folder {out.parent} does not exist: create it or give another --out.")
    rules = RECIPIENTS[recipient]

    details = [service.get_incident(session, actor, i) for i in incidents]
    session.info.pop("opened", None)  # noted again below for the incidents whose personal data goes out
    chosen = _select_evidence(details, evidence)
    if chosen and not can(actor, "read_evidence"):
        raise AccessDenied(
            f"{actor.name} ({actor.role}) may not open evidence files: export with --evidence none, "
            "or ask an investigator."
        )
    if history == "custody" and not can(actor, "read_evidence"):
        raise AccessDenied(
            f"{actor.name} ({actor.role}) may not read chains of custody: export with --history none, "
            "or ask an investigator."
        )

    package = str(uuid.uuid4())
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        (work / "evidence").mkdir()
        (work / "custody").mkdir()
        by_id = {a.id: (d.id, a) for d in details for a in d.attachments}
        paths: dict[int, str] = {}
        for attachment_id in chosen:
            incident_id, _meta = by_id[attachment_id]
            meta, stored = service.evidence_file(session, actor, attachment_id, incident_id=incident_id)
            if rules.evidence_files:
                name = f"evidence/{attachment_id}-{meta.sha256[:16]}{Path(meta.filename).suffix.lower()}"
                shutil.copyfile(stored, work / name)
                if _sha256_file(work / name) != meta.sha256:
                    raise IntegrityError(
                        f"Evidence file of attachment {attachment_id} changed while it was copied: "
                        "run `kalkan register verify` and export again."
                    )
                paths[attachment_id] = f"data/{name}"
                service.record_evidence_access(session, actor, meta)
        names = _Pseudonyms()
        personal_out, withheld = [], []
        records = []
        for detail in details:
            gives = rules.personal and detail.personal is not None
            if gives and detail.reporter != actor.name:
                audit.note_personal(session, actor, detail.id)
            if gives:
                personal_out.append(detail.id)
            elif detail.personal_redacted or detail.personal is not None:
                withheld.append(detail.id)
            records.append(_record(detail, rules, names, paths, gives))
        document = {
            "format": FORMAT,
            "package": package,
            "schema": "kalkan event schema (kalkan.model.EVENT_COLUMNS) followed by the register's fields",
            "event_columns": EVENT_COLUMNS,
            "recipient": recipient,
            "redaction": _rules_json(rules),
            "incidents": records,
        }
        (work / "incidents.json").write_text(
            json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        not_chosen = sorted(set(by_id) - set(paths))
        linked_out = sorted({i for d in details for i in d.linked_ids} - set(incidents))
        (work / "README.md").write_text(
            _readme(
                package=package,
                actor=actor,
                purpose=purpose,
                rules=rules,
                incidents=list(incidents),
                evidence=paths,
                not_chosen=[(i, by_id[i][1].sha256) for i in not_chosen],
                linked_out=linked_out,
                personal_out=personal_out,
                withheld=withheld,
                history=history,
                organization=organization,
            ),
            encoding="utf-8",
        )
        # The payload outside custody/ is final: its digest goes into the chain with the export.
        content = _content_digest((f"data/{p.relative_to(work).as_posix()}", p) for p in _walk_files(work))
        noted = bool(session.info.get("opened"))
        audit.record_personal(session)
        entry = audit.append(
            session,
            actor,
            "case_file",
            "case_file",
            package,
            {
                "recipient": recipient,
                "purpose": purpose,
                "incidents": list(incidents),
                "evidence": {str(i): by_id[i][1].sha256 for i in paths},
                "personal": personal_out,
                "history": history,
                "content_sha256": content,
            },
        )
        # This export's own entries: files opened, personal data shown (one entry), the case file.
        ours = len(paths) + int(noted) + 1
        extract = _extract(session, actor, details, history, range(entry.seq - ours + 1, entry.seq + 1))
        with (work / "custody" / "audit-extract.jsonl").open("w", encoding="utf-8") as f:
            for item in extract:
                f.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
        head = session.scalar(sa.select(AuditHead).where(AuditHead.id == 1))
        assert head is not None and head.seq == entry.seq
        anchor = audit.Anchor(entry.seq, entry.hash, entry.at.isoformat(), head.key_id or "")
        (work / "custody" / "anchor.json").write_text(anchor.to_json() + "\n", encoding="utf-8")
        _bag(work, package, actor, recipient, purpose, organization, anchor)
        key = audit.chain_key(session)
        signed = (work / "tagmanifest-sha256.txt").read_bytes()
        (work / SIGNATURE).write_text(_signature_text(key, signed), encoding="utf-8")
        tagmanifest = hashlib.sha256(signed).hexdigest()
        os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    seal = Seal(package, tagmanifest, anchor.seq, anchor.hash, anchor.key_id, anchor.at, public_key(key))
    return CaseFile(out, seal, list(incidents), sorted(paths), len(extract), withheld)


def _walk_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and "custody" not in p.relative_to(root).parts)


def _rules_json(rules: Recipient) -> dict[str, Any]:
    return {
        "description": rules.description,
        "personal_data": rules.personal,
        "evidence_files": rules.evidence_files,
        "dropped": sorted(rules.drop),
        "rounded_to_0.01_degree": sorted(rules.round),
        "replaced_by_number": sorted(rules.pseudonym),
    }


def _extract(
    session: Session, actor: Actor, details: Sequence[IncidentDetail], history: str, ours: Iterable[int]
) -> list[dict[str, Any]]:
    """The entries that prove custody: each incident's and file's history (``custody``), then the
    entries this export wrote (``ours``: evidence opened, personal data shown, the case file itself)."""
    seqs: set[int] = set(ours)
    if history == "custody":
        for detail in details:
            seqs.update(e["seq"] for e in service.custody(session, actor, detail.id))
    rows = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.seq.in_(sorted(seqs))).order_by(AuditEntry.seq)
    )
    return [_entry_json(e) for e in rows]


@contextmanager
def _quiet_bagit() -> Iterator[None]:
    """bagit logs every file it hashes and every mismatch; kalkan reports them itself, once."""
    logger = logging.getLogger("bagit")
    disabled, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = disabled


def _bag(
    work: Path,
    package: str,
    actor: Actor,
    recipient: str,
    purpose: str,
    organization: str,
    anchor: audit.Anchor,
) -> None:
    import bagit

    with _quiet_bagit():
        bagit.make_bag(
            str(work),
            bag_info={
                "Source-Organization": organization,
                "Contact-Name": actor.name,
                "External-Identifier": package,
                "External-Description": f"Case file for {recipient}: {purpose}"[:500],
                "Kalkan-Format": FORMAT,
                "Kalkan-Recipient": recipient,
                "Kalkan-Anchor": f"{anchor.seq} {anchor.hash} {anchor.key_id}",
            },
            checksums=["sha256"],
        )


def _readme(
    *,
    package: str,
    actor: Actor,
    purpose: str,
    rules: Recipient,
    incidents: list[int],
    evidence: dict[int, str],
    not_chosen: list[tuple[int, str]],
    linked_out: list[int],
    personal_out: list[int],
    withheld: list[int],
    history: str,
    organization: str,
) -> str:
    def ids(values: Sequence[int]) -> str:
        return ", ".join(map(str, values)) if values else "none"

    lines = [
        f"# Case file {package}",
        "",
        f"Made by {actor.name} ({actor.role}) of {organization} "
        f"on {utcnow().strftime('%d %B %Y, %H:%M UTC')}.",
        f"Purpose: {purpose}",
        f"Recipient: {rules.name}, {rules.description}.",
        "",
        "## What is included",
        "",
        f"- Incidents ({len(incidents)}): {ids(incidents)}, in `incidents.json`: kalkan's event schema "
        "(the `event_columns` listed there), then the register's own fields, status history and "
        "evidence list.",
        f"- Evidence files ({len(evidence)}): {ids(sorted(evidence))}, byte for byte in `evidence/`, "
        "each named by its attachment id and the start of its SHA-256.",
        f"- Witness and source data for incidents: {ids(personal_out)}.",
        "- The audit-chain extract `custody/audit-extract.jsonl`: "
        + (
            "every entry about these incidents and evidence files (filed, graded, linked, shared, "
            "attached, opened), "
            if history == "custody"
            else "no history was selected; only "
        )
        + "the entries this export wrote, and the `case_file` entry that records it, with the SHA-256 "
        "of every file of this package outside `custody/`.",
        "- `custody/anchor.json`: the chain's head right after the export (entry number, MAC, audit key id).",
        "",
        "## What is not included",
        "",
        f"- Redacted for this recipient: {', '.join(sorted(rules.drop)) or 'nothing dropped'}"
        + (f"; rounded to 0.01 degree: {', '.join(sorted(rules.round))}" if rules.round else "")
        + (f"; names replaced by numbers: {', '.join(sorted(rules.pseudonym))}" if rules.pseudonym else "")
        + ".",
        f"- Witness and source data withheld for incidents: {ids(withheld)}"
        + (" (not given to this recipient)." if not rules.personal else " (not shared with the exporter)."),
        "- Evidence files of these incidents listed by hash only: "
        + (", ".join(f"{i} (sha256 {sha})" for i, sha in not_chosen) or "none")
        + ".",
        f"- Linked reports of the same incidents that were not selected: {ids(linked_out)}.",
        "- Other incidents, and audit entries about anything else: the chain between the entries "
        "given here holds them; their MACs link the entries given only where numbers follow each other.",
        "- The register's keys. Checking the MACs needs the mission's audit key; the mission can check "
        "them for the recipient, or give the key to a court expert.",
        "",
        "## How to check it",
        "",
        "- Any BagIt (RFC 8493) validator checks every file against `manifest-sha256.txt` and "
        "`tagmanifest-sha256.txt`.",
        "- `signature-ed25519.json` signs `tagmanifest-sha256.txt` with the mission's case-file key; "
        "its public half is published by the mission (`kalkan register case-file key`) and is in the "
        "seal line sent apart from the package.",
        "- `kalkan register case-file verify PACKAGE` also checks the signature, the extract's links, "
        "its anchor and the `case_file` entry against the files; add `--public-key KEY` (the mission's "
        "published key) or `--seal FILE` (the line sent apart) to prove who made it, and "
        "`--audit-key-file` to recompute every MAC.",
        "",
    ]
    return "\n".join(lines)


def read_audit_key(path: Path) -> bytes:
    """The 32-byte audit key from a key file (URL-safe base64, as the register writes it)."""
    import base64
    import binascii

    try:
        key = base64.urlsafe_b64decode(Path(path).read_text(encoding="utf-8").strip().encode())
    except (OSError, UnicodeDecodeError, binascii.Error, ValueError) as error:
        raise InputError(
            f"{path} is not a readable audit key file ({error}): give the register's audit.key."
        ) from error
    if len(key) != 32:
        raise InputError(f"{path} holds a {len(key)}-byte key; the audit key is 32 bytes: give audit.key.")
    return key


# --- verifying -----------------------------------------------------------------------------------------


@dataclass
class CaseFileCheck:
    """What :func:`verify_case_file` checked (``passed``) and found wrong (``problems``)."""

    passed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    package: str = ""
    anchor: audit.Anchor | None = None

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


def _read_manifest(path: Path, check: CaseFileCheck) -> dict[str, str] | None:
    """The ``path -> sha256`` of a manifest written in the one form bagit writes; None if malformed."""
    name = path.name
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        check.problems.append(f"{name} is missing.")
        return None
    except UnicodeDecodeError as error:
        check.problems.append(f"{name} is not UTF-8 text (byte {error.start}): it was altered.")
        return None
    if not text.endswith("\n"):
        check.problems.append(f"{name} does not end with a line break: it was altered.")
        return None
    entries: dict[str, str] = {}
    for number, line in enumerate(text[:-1].split("\n"), start=1):
        match = _MANIFEST_LINE[name].match(line)
        if not match:
            check.problems.append(
                f"{name} line {number} is not 'SHA-256, two spaces, path': it was altered ({line[:80]!r})."
            )
            return None
        if match[2] in entries:
            check.problems.append(f"{name} lists {match[2]} twice: it was altered.")
            return None
        entries[match[2]] = match[1]
    return entries


def _check_files(root: Path, manifest: dict[str, str], name: str, check: CaseFileCheck) -> None:
    for rel, want in manifest.items():
        target = root / rel
        if ".." in Path(rel).parts or not target.is_file():
            check.problems.append(f"{name} lists {rel}, which is not in the package.")
        elif _sha256_file(target) != want:
            check.problems.append(f"{rel} does not match its SHA-256 in {name}: it was altered.")


def verify_case_file(
    path: Path, *, audit_key: bytes | None = None, seal: Seal | None = None, signer: str | None = None
) -> CaseFileCheck:
    """Check a case file; every problem found is listed, none is raised (the CLI turns them into errors).

    ``signer`` is the mission's published case-file public key (:func:`public_key`), if the receiver
    holds it; the seal carries it too.
    """
    import bagit

    root = Path(path)
    check = CaseFileCheck()
    if not (root / "bagit.txt").is_file():
        check.problems.append(f"{root} is not a BagIt package (no bagit.txt).")
        return check
    # 1. The bag, by the bagit library (an independent implementation of RFC 8493).
    try:
        with _quiet_bagit():
            bagit.Bag(str(root)).validate(processes=1)
        check.passed.append("BagIt validation (bagit library): every payload and tag file matches.")
    except (bagit.BagError, UnicodeDecodeError, ValueError, OSError) as error:
        check.problems.append(f"BagIt validation failed: {_first_line(error)}")
    # 2. Both manifests read strictly, every file they list hashed again; payload and tag coverage.
    payload = _read_manifest(root / "manifest-sha256.txt", check)
    tags = _read_manifest(root / "tagmanifest-sha256.txt", check)
    if payload is not None:
        _check_files(root, payload, "manifest-sha256.txt", check)
        on_disk = {p.relative_to(root).as_posix() for p in (root / "data").rglob("*") if p.is_file()}
        extra = sorted(on_disk - set(payload))
        if extra:
            check.problems.append(f"{extra[0]} is in data/ but not in manifest-sha256.txt: it was added.")
    if tags is not None:
        _check_files(root, tags, "tagmanifest-sha256.txt", check)
        for required in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt"):
            if required not in tags:
                check.problems.append(f"tagmanifest-sha256.txt does not cover {required}.")
    if payload is not None and tags is not None and not check.problems:
        check.passed.append(
            f"Manifests: {len(payload)} payload and {len(tags)} tag files match their SHA-256."
        )
    # 3. The signature over the tag manifest.
    pinned = signer or (seal.public_key if seal is not None and seal.public_key else None)
    _check_signature(root, check, pinned, audit_key)
    # 4. The chain extract, its anchor and the case_file entry against the payload.
    _check_custody(root, check, audit_key)
    # 5. The seal sent apart from the package.
    if seal is not None:
        digest = (
            _sha256_file(root / "tagmanifest-sha256.txt")
            if (root / "tagmanifest-sha256.txt").is_file()
            else ""
        )
        if seal.package != check.package:
            check.problems.append(
                f"The seal is of package {seal.package}, this package is {check.package or 'unnamed'}."
            )
        elif digest != seal.tagmanifest_sha256:
            check.problems.append(
                "tagmanifest-sha256.txt does not match the seal's SHA-256: this is not the package that "
                "was exported, or it was altered and re-hashed."
            )
        elif check.anchor is None or (check.anchor.seq, check.anchor.hash) != (
            seal.anchor_seq,
            seal.anchor_hash,
        ):
            check.problems.append("The package's anchor is not the anchor in the seal.")
        else:
            check.passed.append(
                f"Seal: the tag manifest and the anchor (entry {seal.anchor_seq}) are the ones sent apart "
                "from the package."
            )
    return check


def _check_signature(root: Path, check: CaseFileCheck, pinned: str | None, audit_key: bytes | None) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        text = (root / SIGNATURE).read_text(encoding="utf-8")
        document = json.loads(text)
        signer = str(document["public_key"])
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(signer))
        signature = bytes.fromhex(str(document["signature"]))
        signed = (root / "tagmanifest-sha256.txt").read_bytes()
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        check.problems.append(f"{SIGNATURE} is missing or unreadable: {_first_line(error)}")
        return
    expected = {"algorithm": "Ed25519", "signs": "tagmanifest-sha256.txt"}
    if (
        json.dumps(document, sort_keys=True) + "\n" != text
        or set(document) != {"algorithm", "public_key", "signs", "signature"}
        or {k: document[k] for k in expected} != expected
    ):
        check.problems.append(f"{SIGNATURE} is not in the form kalkan writes it: it was altered.")
        return
    try:
        key.verify(signature, signed)
    except InvalidSignature:
        check.problems.append(
            f"The signature in {SIGNATURE} does not match tagmanifest-sha256.txt under its key: one of "
            "them was altered."
        )
        return
    if pinned is not None and pinned != signer:
        check.problems.append(
            f"The package is signed by key {signer[:16]}..., not by the mission's key {pinned[:16]}... "
            "that you hold: it was re-signed by someone else."
        )
        return
    if audit_key is not None and public_key(audit_key) != signer:
        check.problems.append("The package is not signed with the case-file key of this audit key.")
        return
    whose = " (the key you hold)" if pinned else ", a key you did not pin (give --public-key)"
    check.passed.append(f"Signature: the tag manifest is signed by Ed25519 key {signer[:16]}...{whose}.")


def _first_line(error: BaseException) -> str:
    details = getattr(error, "details", None)
    if details:
        return f"{details[0]}" + (f" (and {len(details) - 1} more)" if len(details) > 1 else "")
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _check_custody(root: Path, check: CaseFileCheck, audit_key: bytes | None) -> None:
    try:
        kept = audit.Anchor.from_text((root / _ANCHOR).read_text(encoding="utf-8"), _ANCHOR)
        lines = (root / _EXTRACT).read_text(encoding="utf-8").splitlines()
        entries = [json.loads(line) for line in lines]
    except (OSError, UnicodeDecodeError, ValueError) as error:
        check.problems.append(f"The custody files cannot be read: {_first_line(error)}")
        return
    check.anchor = kept
    fields = (
        "seq",
        "at",
        "actor_id",
        "actor",
        "action",
        "entity",
        "entity_id",
        "payload",
        "prev_hash",
        "hash",
    )
    if not entries or any(not isinstance(e, dict) or set(e) != set(fields) for e in entries):
        check.problems.append(f"{_EXTRACT} is empty or has entries without the chain's fields.")
        return
    seqs = [e["seq"] for e in entries]
    if seqs != sorted(set(seqs)):
        check.problems.append(f"{_EXTRACT} is not in chain order or repeats an entry.")
        return
    for before, after in zip(entries, entries[1:], strict=False):
        if after["seq"] == before["seq"] + 1 and after["prev_hash"] != before["hash"]:
            check.problems.append(
                f"Audit entry {after['seq']} does not link to entry {before['seq']} "
                "(its previous MAC differs)."
            )
    last = entries[-1]
    if (last["seq"], last["hash"]) != (kept.seq, kept.hash):
        check.problems.append(
            f"The extract ends at entry {last['seq']}, the anchor names entry {kept.seq}: they do not match."
        )
        return
    if (last["action"], last["entity"]) != ("case_file", "case_file"):
        check.problems.append("The anchored entry is not the case_file entry of this export.")
        return
    check.package = last["entity_id"]
    try:
        recorded = json.loads(last["payload"])
        document = json.loads((root / _INCIDENTS).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        check.problems.append(f"The case_file entry or incidents.json cannot be read: {_first_line(error)}")
        return
    files = [p.relative_to(root).as_posix() for p in (root / "data").rglob("*") if p.is_file()]
    content = _content_digest((f, root / f) for f in files if not f.startswith(_CUSTODY))
    if content != recorded.get("content_sha256"):
        check.problems.append(
            "The files outside custody/ are not those the audit chain recorded at export "
            "(their SHA-256 differs from the case_file entry's)."
        )
    elif [r.get("incident_id") for r in document.get("incidents", [])] != recorded.get("incidents"):
        check.problems.append("incidents.json does not hold the incidents the case_file entry names.")
    else:
        check.passed.append(
            f"Custody: {len(entries)} audit entries, linked where consecutive, end at the anchor "
            f"(entry {kept.seq}); the case_file entry records every file outside custody/."
        )
    if audit_key is not None:
        if key_id(audit_key) != kept.key_id:
            check.problems.append(
                f"The audit key given is {key_id(audit_key)}, the chain's is {kept.key_id}: give the "
                "register's own audit key."
            )
            return
        for e in entries:
            mac = audit.entry_mac(
                audit_key,
                e["seq"],
                datetime.fromisoformat(e["at"]),
                e["actor_id"],
                e["actor"],
                e["action"],
                e["entity"],
                e["entity_id"],
                e["payload"],
                e["prev_hash"],
            )
            if mac != e["hash"]:
                check.problems.append(
                    f"Audit entry {e['seq']} ({e['action']} {e['entity']} {e['entity_id']}) does not match "
                    "its MAC under the audit key: it was altered."
                )
                return
        check.passed.append(f"MACs: all {len(entries)} entries verify under the audit key {kept.key_id}.")
