"""Key rotation: re-seal every report's witness data with a new data key, in one transaction.

Each re-sealed report gets a ``reseal`` entry in the audit chain (the new ciphertext's hash, so
``verify`` keeps matching the rows), and the rotation itself a ``rotate_key`` entry naming the old and
new key fingerprints. The audit key is not rotated here: the chain and its anchors stay valid.

Order, so that a crash loses nothing: the new key is written to ``register.key.new`` (fsync) before the
transaction commits, and replaces ``register.key`` after. If the process dies in between, both files
are there: the one that opens the data is the right one (``kalkan register verify`` tells).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import sqlalchemy as sa

from kalkan.errors import InputError
from kalkan.register import audit
from kalkan.register.auth import Actor
from kalkan.register.context import Register
from kalkan.register.crypto import Sealer, _decode, generate_key, key_id, write_key_file
from kalkan.register.db import Incident

__all__ = ["rotate_data_key"]


def rotate_data_key(register: Register) -> tuple[int, str | None]:
    """Re-seal all personal data under a new key; returns (reports re-sealed, the new key if it must be
    printed because the old one came from an environment variable, else None)."""
    new_text = generate_key()
    new_key = _decode(new_text, "the new key")
    old_sealer, new_sealer = register.sealer, Sealer(new_key)
    target = register.keys.data_file
    pending: Path | None = None
    if target is not None:
        pending = target.with_name(target.name + ".new")
        if pending.exists():
            raise InputError(
                f"{pending} exists: an earlier rotation was interrupted. Find which key opens the data "
                "(`kalkan register verify` with each), keep that one as the key file, delete the other."
            )
        write_key_file(pending, new_text)
    count = 0
    try:
        with register.write() as session:
            system = Actor.system("rotate-key")
            rows = session.execute(
                sa.select(Incident.id, Incident.client_id, Incident.personal_sealed)
                .where(Incident.personal_sealed.is_not(None))
                .order_by(Incident.id)
            ).all()
            for incident_id, client_id, sealed in rows:
                assert sealed is not None  # selected so
                fresh = new_sealer.seal(old_sealer.open(sealed, client_id), client_id)
                session.execute(
                    sa.update(Incident).where(Incident.id == incident_id).values(personal_sealed=fresh)
                )
                audit.append(
                    session,
                    system,
                    "reseal",
                    "incident",
                    incident_id,
                    {"personal_sha256": hashlib.sha256(fresh.encode()).hexdigest()},
                )
                count += 1
            from kalkan.register.mission import reseal_records

            records = reseal_records(session, system, old_sealer, new_sealer)
            audit.append(
                session,
                system,
                "rotate_key",
                "key",
                key_id(new_key),
                {
                    "reports": count,
                    "records": records,
                    "old_key_id": key_id(register.keys.data),
                    "new_key_id": key_id(new_key),
                },
            )
    except BaseException:
        if pending is not None:
            pending.unlink(missing_ok=True)
        raise
    register.sealer = new_sealer
    if target is not None and pending is not None:
        os.replace(pending, target)
        return count, None
    return count, new_text
