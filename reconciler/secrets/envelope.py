"""AES-256-GCM envelope encryption for everything secret the control plane keeps at rest.

Each record gets its own data key (DEK); the DEK is wrapped by the key-encryption key (KEK) from
settings. Rotating the KEK therefore re-wraps small DEKs instead of re-encrypting every record.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from reconciler.errors import ReconcilerError

_MAGIC = b"E1"
_NONCE = 12
_WRAPPED_DEK = 32 + 16


class EnvelopeError(ReconcilerError):
    """A record cannot be decrypted: wrong KEK, tampered or truncated data."""


class Envelope:
    def __init__(self, kek: bytes) -> None:
        if len(kek) != 32:
            raise ValueError("the key-encryption key must be 32 bytes (AES-256)")
        self._kek = AESGCM(kek)

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """Encrypt `plaintext`; `context` (e.g. b"bundle:12") binds the record to its row."""
        dek = AESGCM.generate_key(bit_length=256)
        dek_nonce, nonce = os.urandom(_NONCE), os.urandom(_NONCE)
        wrapped = self._kek.encrypt(dek_nonce, dek, _MAGIC + context)
        body = AESGCM(dek).encrypt(nonce, plaintext, context)
        return _MAGIC + dek_nonce + wrapped + nonce + body

    def open(self, sealed: bytes, context: bytes) -> bytes:
        header = len(_MAGIC) + _NONCE + _WRAPPED_DEK + _NONCE
        if len(sealed) < header + 16 or not sealed.startswith(_MAGIC):
            raise EnvelopeError("not an envelope-encrypted record")
        offset = len(_MAGIC)
        dek_nonce = sealed[offset : offset + _NONCE]
        wrapped = sealed[offset + _NONCE : offset + _NONCE + _WRAPPED_DEK]
        nonce = sealed[header - _NONCE : header]
        try:
            dek = self._kek.decrypt(dek_nonce, wrapped, _MAGIC + context)
            return AESGCM(dek).decrypt(nonce, sealed[header:], context)
        except InvalidTag as exc:
            raise EnvelopeError("record failed authentication (wrong KEK or tampered)") from exc


def load_or_create_kek(path: Path) -> bytes:
    """The KEK from a file (base64, 32 bytes); created with mode 0600 on first start."""
    if path.exists():
        raw = base64.b64decode(path.read_text().strip(), validate=True)
        if len(raw) != 32:
            raise ValueError(f"{path}: the key-encryption key must decode to 32 bytes")
        return raw
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(key).decode() + "\n")
    return key
