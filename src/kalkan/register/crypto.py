"""Personal data encrypted at rest: AES-256-GCM with a key from the environment or a key file.

Witness names, contacts and statements are sealed before they reach the database, so a copied
database file (or a backup, or a PostgreSQL dump) does not expose the people who spoke to monitors.
Each sealed value is bound to its incident's ``client_id`` as associated data, so a ciphertext
cannot be moved to another incident without failing to open.

Two keys, each 32 bytes as URL-safe base64, both kept apart from the database:

- the **data key** seals personal data. It comes from ``KALKAN_REGISTER_KEY``, else the file named by
  ``KALKAN_REGISTER_KEY_FILE``, else ``register.key`` in the data folder when an older register left
  one there, else ``register.key`` in the key folder;
- the **audit key** authenticates the audit chain (HMAC-SHA256), token and session hashes. It comes
  from ``KALKAN_REGISTER_AUDIT_KEY``, else ``KALKAN_REGISTER_AUDIT_KEY_FILE``, else ``audit.key``
  beside the data key's file, else ``audit.key`` in the key folder.

The key folder is ``KALKAN_REGISTER_KEY_DIR`` or ``platformdirs.user_config_dir("kalkan")/register``,
outside the data folder, so a copy of the data folder (a backup, a stolen laptop's data partition)
holds neither key. Missing key files are created with mode 0600.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kalkan.errors import InputError, IntegrityError

__all__ = [
    "AUDIT_KEY_ENV",
    "AUDIT_KEY_FILE_ENV",
    "KEY_DIR_ENV",
    "KEY_ENV",
    "KEY_FILE_ENV",
    "KeySet",
    "Sealer",
    "default_key_dir",
    "generate_key",
    "key_id",
    "load_key",
    "load_keys",
    "write_key_file",
]

KEY_ENV = "KALKAN_REGISTER_KEY"
KEY_FILE_ENV = "KALKAN_REGISTER_KEY_FILE"
KEY_DIR_ENV = "KALKAN_REGISTER_KEY_DIR"
AUDIT_KEY_ENV = "KALKAN_REGISTER_AUDIT_KEY"
AUDIT_KEY_FILE_ENV = "KALKAN_REGISTER_AUDIT_KEY_FILE"
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


def default_key_dir() -> Path:
    """The folder of the key files: ``$KALKAN_REGISTER_KEY_DIR`` or the user's config folder."""
    if os.environ.get(KEY_DIR_ENV):
        return Path(os.environ[KEY_DIR_ENV])
    import platformdirs

    return Path(platformdirs.user_config_dir("kalkan")) / "register"


def write_key_file(path: Path, key: str | None = None) -> None:
    """Write a key (a new one by default) to ``path`` with mode 0600; the folder is made 0700."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write((key or generate_key()) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _from(env: str, file_env: str, default: Path) -> tuple[bytes, Path | None]:
    if os.environ.get(env):
        return _decode(os.environ[env], f"${env}"), None
    path = Path(os.environ[file_env]) if os.environ.get(file_env) else default
    if not path.exists():
        if os.environ.get(file_env):
            raise InputError(
                f"The key file {path} named by ${file_env} does not exist: create it "
                "with kalkan.register.crypto.generate_key() or unset the variable."
            )
        write_key_file(path)
    return _decode(path.read_text(), str(path)), path


@dataclass(frozen=True)
class KeySet:
    """The register's two keys and the files they came from (None: from an environment variable)."""

    data: bytes
    chain: bytes
    data_file: Path | None
    chain_file: Path | None


def load_keys(data_dir: Path, key_dir: Path | None = None) -> KeySet:
    """The data key and the audit key, by the rules in this module's docstring (created if missing)."""
    folder = key_dir or default_key_dir()
    legacy = Path(data_dir) / "register.key"
    data_default = legacy if legacy.exists() else folder / "register.key"
    data, data_file = _from(KEY_ENV, KEY_FILE_ENV, data_default)
    chain_default = (data_file.parent if data_file is not None else folder) / "audit.key"
    chain, chain_file = _from(AUDIT_KEY_ENV, AUDIT_KEY_FILE_ENV, chain_default)
    if chain == data:
        raise InputError(
            "The audit key is the data key: give the audit chain its own key "
            "(kalkan.register.crypto.generate_key()), so rotating one leaves the other."
        )
    return KeySet(data, chain, data_file, chain_file)


def load_key(data_dir: Path, key_dir: Path | None = None) -> bytes:
    """The 32-byte data key (see :func:`load_keys`)."""
    folder = key_dir or default_key_dir()
    legacy = Path(data_dir) / "register.key"
    return _from(KEY_ENV, KEY_FILE_ENV, legacy if legacy.exists() else folder / "register.key")[0]


def key_id(key: bytes) -> str:
    """A 16-hex fingerprint of a key (safe to show and store: it reveals nothing of the key)."""
    return hmac.new(key, b"kalkan-key-id", hashlib.sha256).hexdigest()[:16]


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
