"""Sealed values: `cops1:` + base64url of a hybrid-encrypted envelope, bound to one project.

X25519 (default) derives the AES-256-GCM key with HKDF-SHA256 from an ephemeral key agreement;
RSA-OAEP-SHA256 wraps a random AES-256-GCM key for users whose tooling only has RSA. The
project name is authenticated data, so a value sealed for one project never opens in another.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from reconciler.errors import ReconcilerError

PREFIX = "cops1:"
_X25519 = 1
_RSA = 2
_NONCE = 12
_OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)

PublicKey = x25519.X25519PublicKey | rsa.RSAPublicKey
PrivateKey = x25519.X25519PrivateKey | rsa.RSAPrivateKey


class SealError(ReconcilerError):
    """A sealed value is malformed or does not open with this project's key."""


def generate_private_key(kind: str = "x25519") -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    return x25519.X25519PrivateKey.generate()


def public_pem(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def private_der(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_der(data: bytes) -> PrivateKey:
    key = serialization.load_der_private_key(data, password=None)
    if not isinstance(key, x25519.X25519PrivateKey | rsa.RSAPrivateKey):
        raise SealError("unsupported project key type")
    return key


def load_public_pem(data: bytes) -> PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise SealError("not a PEM public key (expected the project's sealing key)") from exc
    if not isinstance(key, x25519.X25519PublicKey | rsa.RSAPublicKey):
        raise SealError("the public key must be X25519 or RSA")
    return key


def _derive(shared: bytes, project: str) -> bytes:
    info = b"camelops sealed value v1 " + project.encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)


def seal_value(public_key: PublicKey, project: str, plaintext: str) -> str:
    aad = (PREFIX + project).encode()
    nonce = os.urandom(_NONCE)
    if isinstance(public_key, x25519.X25519PublicKey):
        ephemeral = x25519.X25519PrivateKey.generate()
        key = _derive(ephemeral.exchange(public_key), project)
        eph_raw = ephemeral.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        head = bytes([_X25519]) + eph_raw
    else:
        key = AESGCM.generate_key(bit_length=256)
        wrapped = public_key.encrypt(key, _OAEP)
        head = bytes([_RSA]) + len(wrapped).to_bytes(2, "big") + wrapped
    body = AESGCM(key).encrypt(nonce, plaintext.encode(), aad)
    return PREFIX + base64.urlsafe_b64encode(head + nonce + body).decode()


def unseal_value(private_key: PrivateKey, project: str, sealed: str) -> str:
    raw = _decode(sealed)
    aad = (PREFIX + project).encode()
    if raw[0] == _X25519 and isinstance(private_key, x25519.X25519PrivateKey):
        peer = x25519.X25519PublicKey.from_public_bytes(raw[1:33])
        key, rest = _derive(private_key.exchange(peer), project), raw[33:]
    elif raw[0] == _RSA and isinstance(private_key, rsa.RSAPrivateKey):
        size = int.from_bytes(raw[1:3], "big")
        try:
            key = private_key.decrypt(raw[3 : 3 + size], _OAEP)
        except ValueError as exc:
            raise SealError("sealed value does not open with this project's key") from exc
        rest = raw[3 + size :]
    else:
        raise SealError("sealed value was made for another key type")
    try:
        return AESGCM(key).decrypt(rest[:_NONCE], rest[_NONCE:], aad).decode()
    except (InvalidTag, ValueError) as exc:
        raise SealError("sealed value does not open with this project's key") from exc


def _decode(sealed: str) -> bytes:
    if not sealed.startswith(PREFIX):
        raise SealError("a sealed value starts with 'cops1:'")
    try:
        raw = base64.urlsafe_b64decode(sealed[len(PREFIX) :].encode())
    except (binascii.Error, ValueError) as exc:
        raise SealError("sealed value is not base64url") from exc
    if len(raw) < 1 + 32 + _NONCE + 16:
        raise SealError("sealed value is truncated")
    return raw
