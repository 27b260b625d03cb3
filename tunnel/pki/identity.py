"""Runner identities (`camelops://<org>/runners/<name>`), runner keys and CSRs, cert dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tunnel.errors import TunnelError

# DNS-label-like names: they end up in URIs, file names, log lines and metric labels.
NAME_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_URI = re.compile(r"^camelops://([a-z0-9-]+)/runners/([a-z0-9-]+)$")
RENEW_AT_FRACTION = 2 / 3


class IdentityError(TunnelError, ValueError):
    """A name, URI, CSR or certificate that does not carry a valid runner identity."""


@dataclass(frozen=True, slots=True)
class RunnerIdentity:
    org: str
    name: str

    def __post_init__(self) -> None:
        for part in (self.org, self.name):
            if not NAME_PATTERN.match(part):
                raise IdentityError(f"not a valid org/runner name: {part!r}")

    @property
    def uri(self) -> str:
        return f"camelops://{self.org}/runners/{self.name}"

    @classmethod
    def from_uri(cls, uri: str) -> RunnerIdentity:
        match = _URI.match(uri)
        if match is None:
            raise IdentityError(f"not a runner identity URI: {uri[:200]!r}")
        return cls(org=match.group(1), name=match.group(2))

    def __str__(self) -> str:
        return f"{self.org}/{self.name}"


def identity_from_peercert(peercert: dict[str, Any] | None) -> RunnerIdentity:
    """The identity in a verified peer certificate as `ssl.SSLObject.getpeercert()` returns it."""
    if not peercert:
        raise IdentityError("no client certificate")
    uris = [value for kind, value in peercert.get("subjectAltName", ()) if kind == "URI"]
    if len(uris) != 1:
        raise IdentityError(f"expected exactly one SAN URI, found {len(uris)}")
    return RunnerIdentity.from_uri(uris[0])


def identities_in_csr(csr: x509.CertificateSigningRequest) -> list[str]:
    """Every identity claim a CSR makes (SAN URIs and the common name), for a mismatch check."""
    claims = [attr.value for attr in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [str(c) for c in claims]
    return [str(c) for c in claims] + [
        str(u) for u in san.get_values_for_type(x509.UniformResourceIdentifier)
    ]


def new_key_and_csr(identity: RunnerIdentity | None = None) -> tuple[bytes, bytes]:
    """A fresh P-256 key (PEM, unencrypted: it lives 0600 in the runner's data dir) and its CSR.

    At registration the runner does not know its identity yet (the token binds it), so the CSR
    claims none; on renewal it claims its current one.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder()
    if identity is None:
        builder = builder.subject_name(x509.Name([]))
    else:
        builder = builder.subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, identity.name)])
        ).add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity.uri)]),
            critical=False,
        )
    csr = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, csr.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True, slots=True)
class CertificateDates:
    serial: int
    not_before: datetime
    not_after: datetime

    @property
    def renew_at(self) -> datetime:
        """Renew at 2/3 of the lifetime: early enough to outlast an outage of the control plane."""
        life = self.not_after - self.not_before
        return self.not_before + timedelta(seconds=life.total_seconds() * RENEW_AT_FRACTION)


def certificate_dates(cert_pem: bytes) -> CertificateDates:
    cert = x509.load_pem_x509_certificate(cert_pem)
    return CertificateDates(cert.serial_number, cert.not_valid_before_utc, cert.not_valid_after_utc)


def certificate_identity(cert_pem: bytes) -> RunnerIdentity:
    cert = x509.load_pem_x509_certificate(cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    if len(uris) != 1:
        raise IdentityError(f"expected exactly one SAN URI, found {len(uris)}")
    return RunnerIdentity.from_uri(uris[0])
