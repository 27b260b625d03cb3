"""Nothing readable at rest: AES-256-GCM for queued records, owner-only files and directories.

The tunnel's outbox and the runner's bundle store hold desired state with decrypted Secrets.
Each row is sealed with a context (peer, channel, sequence, ...) as authenticated data, so a row
copied to another place does not open. The control plane seals under its key-encryption key
(anything with `seal`/`open`, e.g. the reconciler's envelope); a runner under a local key.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tunnel.errors import TunnelError

_MAGIC = b"K1"
_NONCE = 12
KEY_FILE = "at-rest.key"


class SealedRecordError(TunnelError):
    """A sealed row does not open: wrong key, tampered, or moved to another row."""


class RecordSealer(Protocol):
    def seal(self, plaintext: bytes, context: bytes) -> bytes: ...

    def open(self, sealed: bytes, context: bytes) -> bytes: ...


class KeySealer:
    """AES-256-GCM under one 32-byte key (a runner's local key)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the at-rest key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return _MAGIC + nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        if not sealed.startswith(_MAGIC) or len(sealed) < len(_MAGIC) + _NONCE + 16:
            raise SealedRecordError("not a sealed record")
        nonce = sealed[len(_MAGIC) : len(_MAGIC) + _NONCE]
        try:
            return self._aead.decrypt(nonce, sealed[len(_MAGIC) + _NONCE :], context)
        except InvalidTag as exc:
            raise SealedRecordError("sealed record failed authentication") from exc


def local_sealer(directory: Path) -> KeySealer:
    """The sealer of a data directory: its key file, created 0600 on first use."""
    return KeySealer(load_or_create_key(directory / KEY_FILE))


def load_or_create_key(path: Path) -> bytes:
    if path.exists():
        restrict_file(path)
        raw = base64.b64decode(path.read_text().strip(), validate=True)
        if len(raw) != 32:
            raise ValueError(f"{path.name}: the at-rest key must decode to 32 bytes")
        return raw
    private_dir(path.parent)
    key = secrets.token_bytes(32)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(key).decode() + "\n")
    os.replace(temporary, path)  # two starts racing: one key wins, the other reads it
    return load_or_create_key(path)


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) and make it 0700 whatever the umask was."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def restrict_file(path: Path) -> None:
    """Owner-only (0600) for an existing file; a no-op when it does not exist."""
    if path.exists() and path.stat().st_mode & 0o077:
        path.chmod(0o600)


def private_database(path: Path) -> Path:
    """Create the SQLite file 0600 before SQLite opens it: SQLite gives its -wal and -shm
    files the database file's mode, so the whole set stays owner-only."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    for suffix in ("", "-wal", "-shm", "-journal"):
        restrict_file(path.with_name(path.name + suffix))
    return path
