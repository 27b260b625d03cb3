"""The control-plane certificate authority: key encrypted at rest, signs runner and server certs."""

from __future__ import annotations

import ipaddress
import os
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tunnel.errors import TunnelError
from tunnel.pki.identity import IdentityError, RunnerIdentity, identities_in_csr

CA_LIFETIME = timedelta(days=3650)
RUNNER_CERT_LIFETIME = timedelta(days=7)
SERVER_CERT_LIFETIME = timedelta(days=90)
# Certificates start slightly in the past so a runner whose clock lags a little can still connect.
CLOCK_SKEW = timedelta(minutes=5)


class CaError(TunnelError):
    """The CA cannot be loaded (wrong passphrase, corrupt files) or refuses to sign."""


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only, created 0600 (never readable by others)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


class CertificateAuthority:
    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        self._key = key
        self.cert = cert

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def fingerprint(self) -> str:
        """sha256 of the CA certificate (DER), hex: what a registering runner pins."""
        return self.cert.fingerprint(hashes.SHA256()).hex()

    @classmethod
    def create(cls, org: str, now: datetime) -> CertificateAuthority:
        key = ec.generate_private_key(ec.SECP384R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                x509.NameAttribute(NameOID.COMMON_NAME, "camelops tunnel CA"),
            ]
        )
        cert = (
            _builder(name, name, key.public_key(), now - CLOCK_SKEW, now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA384())
        )
        return cls(key, cert)

    def save(self, directory: Path, passphrase: bytes) -> None:
        if len(passphrase) < 12:
            raise CaError("the CA passphrase must be at least 12 bytes")
        key_pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase),
        )
        write_private(directory / "ca.key.pem", key_pem)
        (directory / "ca.crt.pem").write_bytes(self.cert_pem)

    @classmethod
    def load(cls, directory: Path, passphrase: bytes) -> CertificateAuthority:
        try:
            key = serialization.load_pem_private_key(
                (directory / "ca.key.pem").read_bytes(), password=passphrase
            )
            cert = x509.load_pem_x509_certificate((directory / "ca.crt.pem").read_bytes())
        except (OSError, ValueError, TypeError) as exc:
            # The message never includes the passphrase; the cause says which file or check failed.
            raise CaError(f"cannot load the CA from {directory}: {type(exc).__name__}") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CaError("the CA key is not an EC key")
        return cls(key, cert)

    def sign_runner(
        self,
        csr_pem: bytes,
        identity: RunnerIdentity,
        now: datetime,
        lifetime: timedelta = RUNNER_CERT_LIFETIME,
    ) -> x509.Certificate:
        """Sign a client certificate for `identity`; the CSR only contributes its public key."""
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
        except ValueError as exc:
            raise IdentityError("the CSR is not valid PEM") from exc
        if not csr.is_signature_valid:
            raise IdentityError("the CSR signature does not verify")
        foreign = [c for c in identities_in_csr(csr) if c not in (identity.name, identity.uri)]
        if foreign:
            raise IdentityError(f"the CSR claims another identity than {identity}")
        public_key = csr.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise IdentityError("runner keys must be EC keys")
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, identity.org),
                x509.NameAttribute(NameOID.COMMON_NAME, identity.name),
            ]
        )
        builder = _builder(subject, self.cert.subject, public_key, now - CLOCK_SKEW, now + lifetime)
        return (
            self._finish(builder, public_key, ExtendedKeyUsageOID.CLIENT_AUTH)
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity.uri)]),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )

    def issue_server(
        self, hosts: list[str], now: datetime, lifetime: timedelta = SERVER_CERT_LIFETIME
    ) -> tuple[bytes, bytes]:
        """A server certificate and key (PEM) for the tunnel and registration endpoints."""
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
        builder = _builder(
            subject, self.cert.subject, key.public_key(), now - CLOCK_SKEW, now + lifetime
        )
        cert = (
            self._finish(builder, key.public_key(), ExtendedKeyUsageOID.SERVER_AUTH)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cert.public_bytes(serialization.Encoding.PEM), key_pem

    def _finish(
        self,
        builder: x509.CertificateBuilder,
        public_key: ec.EllipticCurvePublicKey,
        usage: x509.ObjectIdentifier,
    ) -> x509.CertificateBuilder:
        ca_ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return (
            builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                critical=False,
            )
        )


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    not_before: datetime,
    not_after: datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
