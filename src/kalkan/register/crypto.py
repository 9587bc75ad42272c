"""Personal data encrypted at rest: AES-256-GCM with a key from the environment or a key file.

Witness names, contacts and statements are sealed before they reach the database, so a copied
database file (or a backup, or a PostgreSQL dump) does not expose the people who spoke to monitors.
Each sealed value is bound to its incident's ``client_id`` as associated data, so a ciphertext
cannot be moved to another incident without failing to open.

The key (32 bytes, URL-safe base64) comes from, in order: the environment variable
``KALKAN_REGISTER_KEY``; the file named by ``KALKAN_REGISTER_KEY_FILE``; ``register.key`` in the
data directory, which is created (mode 0600) on first use. Keep the key away from the database in
production: with both, an attacker has everything.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kalkan.errors import InputError, IntegrityError

__all__ = ["KEY_ENV", "KEY_FILE_ENV", "Sealer", "generate_key", "load_key"]

KEY_ENV = "KALKAN_REGISTER_KEY"
KEY_FILE_ENV = "KALKAN_REGISTER_KEY_FILE"
_PREFIX = "v1:"


def generate_key() -> str:
    """A new random 256-bit key as URL-safe base64 text (what the env var and key file hold)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError) as error:
        raise InputError(
            f"The register key in {where} is not URL-safe base64 ({error}): "
            "create one with `python -c 'from kalkan.register.crypto import generate_key; "
            "print(generate_key())'`."
        ) from error
    if len(key) != 32:
        raise InputError(
            f"The register key in {where} is {len(key)} bytes; AES-256 needs 32: "
            "create one with kalkan.register.crypto.generate_key()."
        )
    return key


def load_key(data_dir: Path) -> bytes:
    """The 32-byte data key: from ``KALKAN_REGISTER_KEY``, ``KALKAN_REGISTER_KEY_FILE``, or a key file.

    Without either variable the key file ``data_dir/register.key`` is read, or created (0600).
    """
    if os.environ.get(KEY_ENV):
        return _decode(os.environ[KEY_ENV], f"${KEY_ENV}")
    path = Path(os.environ[KEY_FILE_ENV]) if os.environ.get(KEY_FILE_ENV) else data_dir / "register.key"
    if not path.exists():
        if os.environ.get(KEY_FILE_ENV):
            raise InputError(
                f"The key file {path} named by ${KEY_FILE_ENV} does not exist: create it "
                "with kalkan.register.crypto.generate_key() or unset the variable."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(generate_key() + "\n")
    return _decode(path.read_text(), str(path))


class Sealer:
    """Seal and open JSON values with AES-256-GCM, bound to a context string (the incident's UUID)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, value: Any, context: str) -> str:
        """Encrypt ``value`` (anything JSON can hold); returns ``v1:`` + base64(nonce + ciphertext)."""
        nonce = secrets.token_bytes(12)
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        sealed = self._aead.encrypt(nonce, plain, context.encode())
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, token: str, context: str) -> Any:
        """Decrypt a value sealed for ``context``; a wrong key or a moved value raises IntegrityError."""
        if not token.startswith(_PREFIX):
            raise IntegrityError(
                f"Sealed value of {context} has an unknown format (no {_PREFIX!r} prefix): "
                "it was not written by this register."
            )
        raw = base64.urlsafe_b64decode(token[len(_PREFIX) :].encode())
        try:
            plain = self._aead.decrypt(raw[:12], raw[12:], context.encode())
        except InvalidTag as error:
            raise IntegrityError(
                f"Personal data of {context} does not open with this key: the key "
                f"(${KEY_ENV} or the key file) differs from the one that sealed it, "
                "or the value was altered."
            ) from error
        return json.loads(plain)
