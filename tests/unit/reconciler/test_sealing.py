"""Sealed values: the schema's format, bound to the project, hostile input refused cleanly."""

from __future__ import annotations

import base64
import re

import pytest

from reconciler.secrets.sealing import (
    SealError,
    generate_private_key,
    load_public_pem,
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
