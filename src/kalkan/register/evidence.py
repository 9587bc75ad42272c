"""Evidence files stored by their SHA-256: the name is the hash, so a file cannot change unnoticed.

Files live under ``root/ab/cdef...`` (first two hex digits as a folder). Writing streams the upload
to a temporary file while hashing it, then renames it into place (atomic; the same content uploaded
twice is stored once). The database keeps only the metadata and the hash.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from kalkan.errors import InputError

__all__ = ["MAX_EVIDENCE_BYTES", "EvidenceStore"]

MAX_EVIDENCE_BYTES = 100 * 1024 * 1024
_SHA = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1024 * 1024


class EvidenceStore:
    """A content-addressed folder of evidence files."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the file with this hash is (or would be) stored."""
        if not _SHA.match(sha256):
            raise InputError(f"{sha256!r} is not a SHA-256 hex digest (64 characters 0-9a-f).")
        return self.root / sha256[:2] / sha256[2:]

    def put(self, stream: BinaryIO | Iterable[bytes], max_bytes: int = MAX_EVIDENCE_BYTES) -> tuple[str, int]:
        """Store the bytes of ``stream``; returns (sha256 hex, size in bytes)."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload.")
        try:
            with os.fdopen(fd, "wb") as out:
                chunks = iter(lambda: stream.read(_CHUNK), b"") if hasattr(stream, "read") else stream
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise InputError(
                            f"The file is over {max_bytes // (1024 * 1024)} MiB: split it or "
                            "reduce it (video: lower resolution) before attaching."
                        )
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            target = self.path(sha)
            target.parent.mkdir(exist_ok=True)
            if target.exists():
                os.unlink(tmp)
            else:
                os.chmod(tmp, 0o440)
                os.replace(tmp, target)
            return sha, size
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def remove(self, sha256: str) -> None:
        """Delete a stored file (only for a file no attachment names, e.g. one refused on upload)."""
        path = self.path(sha256)
        if path.exists():
            path.unlink()

    def check(self, sha256: str) -> str:
        """``ok``, ``missing`` or ``altered`` (its content no longer hashes to its name)."""
        path = self.path(sha256)
        if not path.exists():
            return "missing"
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                digest.update(chunk)
        return "ok" if digest.hexdigest() == sha256 else "altered"
