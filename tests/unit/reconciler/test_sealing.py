"""Sealed values: the schema's format, bound to the project, hostile input refused cleanly."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from reconciler.secrets.sealing import (
    SealError,
    generate_private_key,
    load_private_der,
    load_public_pem,
    private_der,
    public_pem,
    seal_value,
    unseal_value,
)
from schema.models.sealed_secret import SEALED_VALUE_PATTERN


@pytest.mark.parametrize("kind", ["x25519", "rsa"])
def test_round_trip_in_the_schema_format(kind: str) -> None:
    key = generate_private_key(kind)
    sealed = seal_value(load_public_pem(public_pem(key)), "shop", "pässwörd\n")
    assert re.fullmatch(SEALED_VALUE_PATTERN, sealed)
    assert unseal_value(key, "shop", sealed) == "pässwörd\n"
    assert seal_value(load_public_pem(public_pem(key)), "shop", "x") != seal_value(
        load_public_pem(public_pem(key)), "shop", "x"
    )


def test_a_value_sealed_for_one_project_does_not_open_in_another() -> None:
    key = generate_private_key()
    sealed = seal_value(load_public_pem(public_pem(key)), "shop", "v")
    with pytest.raises(SealError):
        unseal_value(key, "other", sealed)
    with pytest.raises(SealError):
        unseal_value(generate_private_key(), "shop", sealed)
    with pytest.raises(SealError):
        unseal_value(generate_private_key("rsa"), "shop", sealed)


def test_tampered_ciphertext_is_refused() -> None:
    key = generate_private_key()
    sealed = seal_value(load_public_pem(public_pem(key)), "shop", "v")
    raw = bytearray(base64.urlsafe_b64decode(sealed[6:]))
    raw[-1] ^= 1
    with pytest.raises(SealError):
        unseal_value(key, "shop", "cops1:" + base64.urlsafe_b64encode(bytes(raw)).decode())


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "plaintext",
        "cops1:",
        "cops1:!!!!",
        "cops1:" + "A" * 10,
        "cops1:" + "A" * 120,
        "cops1:" + base64.urlsafe_b64encode(b"\x02\xff\xff" + b"a" * 80).decode(),
        "cops1:" + base64.urlsafe_b64encode(b"\x09" + b"a" * 80).decode(),
    ],
)
def test_hostile_values_raise_seal_error(hostile: str) -> None:
    with pytest.raises(SealError):
        unseal_value(generate_private_key(), "shop", hostile)


def test_public_key_loading_refuses_garbage() -> None:
    for data in (
        b"",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        b"\x00" * 50,
    ):
        with pytest.raises(SealError):
            load_public_pem(data)


# A value sealed by this code base once, with a key kept for the purpose: every sealed secret
# already committed to a repository must keep opening (the HKDF label, the layout, the AAD).
KNOWN_KEY = bytes.fromhex(
    "302e020100300506032b656e04220420e8292c34583f5bfe4d68d89f84b93d7f5b1b0df49806c2530250ebc32cb99357"
)
KNOWN_SEALED = (
    "cops1:AaNbQKToZzdh_FV0OGZgJ8zO_E2DS80kzy-xPbTiI_MDyB9VzEOCUEiOPWNpOd30tuYy3hhDw0Wp9JkNyDk93K"
    "kLE8C5qQr2"
)


def test_a_value_sealed_earlier_still_opens() -> None:
    key = load_private_der(KNOWN_KEY)
    assert unseal_value(key, "shop", KNOWN_SEALED) == "pässwörd\n"
    assert private_der(key) == KNOWN_KEY


@pytest.mark.parametrize(("kind", "size"), [("x25519", None), ("rsa", 3072)])
def test_project_keys_round_trip_through_der(kind: str, size: int | None) -> None:
    key = generate_private_key(kind)
    loaded = load_private_der(private_der(key))
    assert private_der(loaded) == private_der(key)
    assert getattr(loaded, "key_size", None) == size
    sealed = seal_value(load_public_pem(public_pem(key)), "shop", "v")
    assert unseal_value(loaded, "shop", sealed) == "v"


def test_keys_of_another_type_are_refused_with_a_clear_message() -> None:
    other = ed25519.Ed25519PrivateKey.generate()
    der = other.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(SealError, match=r"^unsupported project key type$"):
        load_private_der(der)
    pem = other.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(SealError, match=r"^the public key must be X25519 or RSA$"):
        load_public_pem(pem)
    with pytest.raises(SealError, match=r"^not a PEM public key \(expected the project's"):
        load_public_pem(b"garbage")


def sealed_raw(raw: bytes) -> str:
    return "cops1:" + base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    ("kind", "hostile", "message"),
    [
        ("x25519", "plaintext", "a sealed value starts with 'cops1:'"),
        ("x25519", "cops1:A", "sealed value is not base64url"),
        ("x25519", sealed_raw(b"\x01" + b"a" * 59), "sealed value is truncated"),
        # the shortest layout that is not truncated (type, key, nonce, tag) is tried, and fails
        ("x25519", sealed_raw(b"\x01" + b"a" * 60), "sealed value does not open with this"),
        ("x25519", sealed_raw(b"\x02" + b"a" * 80), "sealed value was made for another key type"),
        ("rsa", sealed_raw(b"\x02\x00\x05" + b"a" * 80), "sealed value does not open with this"),
    ],
)
def test_hostile_values_say_what_is_wrong(kind: str, hostile: str, message: str) -> None:
    with pytest.raises(SealError) as refused:
        unseal_value(generate_private_key(kind), "shop", hostile)
    assert str(refused.value).startswith(message)
