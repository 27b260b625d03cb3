"""PKI: identities, tokens, the CA at rest, CSR signing and the token/certificate store."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from contract.envelopes import Envelope
from tunnel.pki.ca import CaError, CertificateAuthority
from tunnel.pki.identity import (
    CertificateDates,
    IdentityError,
    RunnerIdentity,
    identity_from_peercert,
    new_key_and_csr,
)
from tunnel.pki.service import ControlPlanePki, RegistrationRefused
from tunnel.pki.store import SqlitePkiStore, TokenRecord
from tunnel.pki.tokens import (
    TokenError,
    fingerprints_match,
    format_token,
    new_token,
    parse_token,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
EDGE = RunnerIdentity("acme", "edge-1")


@pytest.mark.parametrize(
    "uri",
    [
        "camelops://acme/runners/",
        "camelops://acme/runners/Edge",
        "camelops://acme/runners/edge/../x",
        "camelops://acme/runners/edge-1?x=1",
        "https://acme/runners/edge-1",
        "camelops://acme/runners/" + "a" * 64,
        "camelops://acme/runners/-edge",
        "",
    ],
)
def test_hostile_identity_uris_are_refused(uri: str) -> None:
    with pytest.raises(IdentityError):
        RunnerIdentity.from_uri(uri)


def test_identity_round_trip_and_peercert() -> None:
    assert RunnerIdentity.from_uri(EDGE.uri) == EDGE
    assert identity_from_peercert({"subjectAltName": (("URI", EDGE.uri), ("DNS", "x"))}) == EDGE
    for bad in (None, {}, {"subjectAltName": (("URI", EDGE.uri), ("URI", EDGE.uri))}):
        with pytest.raises(IdentityError):
            identity_from_peercert(bad)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "camelops1",
        "camelops1.a.b",
        "other.x.y",
        "camelops1.!!!!.00",
        "camelops1." + "A" * 43 + ".zz",
        "camelops1." + "A" * 43 + "." + "ab" * 31,  # a good secret, a short CA fingerprint
        "camelops1." + "A" * 42 + "." + "ab" * 32,  # a short secret, a good CA fingerprint
    ],
)
def test_hostile_tokens_are_refused_without_echoing_them(text: str) -> None:
    with pytest.raises(TokenError) as info:
        parse_token(text)
    secrets = [part for part in text.split(".")[1:] if len(part) > 1]
    assert not any(secret in str(info.value) for secret in secrets)


def test_token_round_trip_has_256_bits() -> None:
    token = new_token("ab" * 32)
    parsed = parse_token(format_token(token))
    assert parsed == token
    assert len(token.digest) == 64
    assert new_token("ab" * 32).secret != token.secret


def test_ca_fingerprints_match_in_either_case_and_only_when_equal() -> None:
    assert fingerprints_match("AB" * 32, "ab" * 32)
    assert fingerprints_match("ab" * 32, "AB" * 32)
    assert fingerprints_match("ab" * 32, "ab" * 32)
    assert not fingerprints_match("ab" * 32, "ab" * 31 + "ac")
    assert not fingerprints_match("ab" * 32, "")


def test_ca_key_is_encrypted_at_rest_and_needs_the_passphrase(tmp_path: Path) -> None:
    ca = CertificateAuthority.create("acme", NOW)
    ca.save(tmp_path, b"correct horse battery")
    key_file = tmp_path / "ca.key.pem"
    assert b"ENCRYPTED PRIVATE KEY" in key_file.read_bytes()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert (
        CertificateAuthority.load(tmp_path, b"correct horse battery").fingerprint == ca.fingerprint
    )
    with pytest.raises(CaError) as info:
        CertificateAuthority.load(tmp_path, b"wrong passphrase!")
    assert "wrong" not in str(info.value)  # the passphrase is never echoed
    with pytest.raises(CaError, match="at least 12"):
        ca.save(tmp_path / "weak", b"short")


def test_signed_runner_certificate_carries_identity_and_lifetime() -> None:
    ca = CertificateAuthority.create("acme", NOW)
    _, csr = new_key_and_csr()
    cert = ca.sign_runner(csr, EDGE, NOW)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [EDGE.uri]
    assert cert.not_valid_after_utc - NOW == timedelta(days=7)
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_renewal_is_due_at_two_thirds_of_the_lifetime() -> None:
    dates = CertificateDates(1, NOW, NOW + timedelta(days=6))
    assert dates.renew_at == NOW + timedelta(days=4)


@pytest.mark.parametrize("csr", [b"", b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END"])
def test_broken_csr_is_refused(csr: bytes) -> None:
    ca = CertificateAuthority.create("acme", NOW)
    with pytest.raises(IdentityError):
        ca.sign_runner(csr, EDGE, NOW)


def test_store_tokens_are_single_use_and_expire(tmp_path: Path) -> None:
    store = SqlitePkiStore(tmp_path / "pki.sqlite")
    store.add_token(TokenRecord("d1", EDGE, NOW + timedelta(hours=1), None))
    assert store.consume_token("d1", NOW)
    assert not store.consume_token("d1", NOW)
    store.add_token(TokenRecord("d2", EDGE, NOW + timedelta(hours=1), None))
    assert not store.consume_token("d2", NOW + timedelta(hours=1))
    assert not store.consume_token("unknown", NOW)
    assert store.is_revoked(12345)  # never issued here: treated as revoked
    store.close()


def test_control_plane_pki_registration_and_connection_checks(tmp_path: Path) -> None:
    store = SqlitePkiStore(tmp_path / "pki.sqlite")
    pki = ControlPlanePki(CertificateAuthority.create("acme", NOW), store, lambda: NOW)
    token = pki.create_token(EDGE)
    _, csr = new_key_and_csr()
    issued = pki.register(token, csr)
    assert pki.connection_refusal(EDGE, issued.serial) is None
    assert pki.connection_refusal(RunnerIdentity("acme", "edge-2"), issued.serial) is not None
    with pytest.raises(RegistrationRefused):
        pki.register(token, csr)
    with pytest.raises(RegistrationRefused):
        pki.register("camelops1.garbage", csr)
    store.revoke_runner(EDGE, "lost", NOW)
    assert pki.connection_refusal(EDGE, issued.serial) == "certificate revoked"
    store.close()


def test_unknown_used_and_expired_tokens_are_refused_before_the_csr_is_read(
    tmp_path: Path,
) -> None:
    # The token decides first: a CSR is never looked at (nor signed) for a token that cannot win,
    # and the refusal is the same for each, so it tells nothing about which tokens exist.
    store = SqlitePkiStore(tmp_path / "pki.sqlite")
    now = [NOW]
    pki = ControlPlanePki(CertificateAuthority.create("acme", NOW), store, lambda: now[0])
    unknown = format_token(new_token(pki.ca.fingerprint))  # well-formed, never stored
    used = pki.create_token(EDGE)
    expiring = pki.create_token(EDGE, ttl=timedelta(hours=1))
    _, csr = new_key_and_csr()
    pki.register(used, csr)
    now[0] = NOW + timedelta(hours=1)  # exactly the expiry instant: no longer valid
    for token in (unknown, used, expiring):
        with pytest.raises(RegistrationRefused, match=r"^the token is invalid, used or expired$"):
            pki.register(token, b"not a certificate request")
    store.close()


def test_envelope_model_forbids_extra_fields() -> None:
    with pytest.raises(ValueError, match="extra"):
        Envelope.model_validate(
            {"id": "a", "seq": 1, "channel": "status", "type": "t", "payload": {}, "x": 1}
        )
