"""The control plane's PKI operations: tokens, registration, renewal, the per-connection check."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from tunnel.errors import TunnelError
from tunnel.pki.ca import RUNNER_CERT_LIFETIME, CertificateAuthority, write_private
from tunnel.pki.identity import IdentityError, RunnerIdentity, certificate_dates
from tunnel.pki.store import PkiStore, TokenRecord
from tunnel.pki.tokens import TokenError, format_token, new_token, parse_token

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
DEFAULT_TOKEN_TTL = timedelta(hours=24)


def utcnow() -> datetime:
    return datetime.now(UTC)


class RegistrationRefused(TunnelError):
    """Registration or renewal refused; the message is safe to return to the caller."""


@dataclass(frozen=True, slots=True)
class Issued:
    certificate: bytes
    ca: bytes
    serial: int


class ControlPlanePki:
    def __init__(
        self,
        ca: CertificateAuthority,
        store: PkiStore,
        clock: Clock = utcnow,
        cert_lifetime: timedelta = RUNNER_CERT_LIFETIME,
    ) -> None:
        self.ca = ca
        self.store = store
        self.clock = clock
        self.cert_lifetime = cert_lifetime

    @classmethod
    def open_or_create(
        cls, directory: Path, passphrase: bytes, org: str, store: PkiStore, clock: Clock = utcnow
    ) -> ControlPlanePki:
        if (directory / "ca.key.pem").exists():
            ca = CertificateAuthority.load(directory, passphrase)
        else:
            ca = CertificateAuthority.create(org, clock())
            ca.save(directory, passphrase)
        return cls(ca, store, clock)

    def ensure_server_certificate(self, directory: Path, hosts: list[str]) -> tuple[Path, Path]:
        """(cert, key) paths of the tunnel's server certificate, reissued when a third is left."""
        cert_path, key_path = directory / "server.crt.pem", directory / "server.key.pem"
        now = self.clock()
        fresh = cert_path.exists() and key_path.exists()
        if fresh and certificate_dates(cert_path.read_bytes()).renew_at > now:
            return cert_path, key_path
        cert_pem, key_pem = self.ca.issue_server(hosts, now)
        write_private(key_path, key_pem)
        cert_path.write_bytes(cert_pem)
        return cert_path, key_path

    def create_token(self, identity: RunnerIdentity, ttl: timedelta = DEFAULT_TOKEN_TTL) -> str:
        token = new_token(self.ca.fingerprint)
        self.store.add_token(TokenRecord(token.digest, identity, self.clock() + ttl, None))
        log.info("registration token created for runner %s (expires in %s)", identity, ttl)
        return format_token(token)

    def register(self, token_text: str, csr_pem: bytes) -> Issued:
        try:
            token = parse_token(token_text)
        except TokenError as exc:
            raise RegistrationRefused(str(exc)) from exc
        record = self.store.get_token(token.digest)
        now = self.clock()
        # One answer for unknown, used and expired tokens: no oracle for which tokens exist.
        if record is None or record.used_at is not None or record.expires_at <= now:
            log.warning("registration refused: unknown, used or expired token")
            raise RegistrationRefused("the token is invalid, used or expired")
        issued = self._sign(csr_pem, record.identity)
        if not self.store.consume_token(token.digest, now):
            log.warning("registration refused: token for %s used concurrently", record.identity)
            raise RegistrationRefused("the token is invalid, used or expired")
        self._record(issued, record.identity)
        log.info("runner %s registered (certificate %x)", record.identity, issued.serial)
        return issued

    def renew(self, identity: RunnerIdentity, csr_pem: bytes) -> Issued:
        """A new certificate for an already authenticated runner (over its tunnel)."""
        issued = self._sign(csr_pem, identity)
        self._record(issued, identity)
        log.info("certificate of runner %s renewed (certificate %x)", identity, issued.serial)
        return issued

    def connection_refusal(self, identity: RunnerIdentity, serial: int) -> str | None:
        """Why a verified client certificate may not open a tunnel now, or None when it may."""
        owner = self.store.certificate_owner(serial)
        if owner is None:
            return "certificate not issued by this control plane"
        if owner != identity:
            return "certificate serial belongs to another runner"
        if self.store.is_revoked(serial):
            return "certificate revoked"
        return None

    def _sign(self, csr_pem: bytes, identity: RunnerIdentity) -> Issued:
        try:
            cert = self.ca.sign_runner(csr_pem, identity, self.clock(), self.cert_lifetime)
        except IdentityError as exc:
            log.warning("CSR refused for runner %s: %s", identity, exc)
            raise RegistrationRefused(str(exc)) from exc
        return Issued(
            cert.public_bytes(serialization.Encoding.PEM), self.ca.cert_pem, cert.serial_number
        )

    def _record(self, issued: Issued, identity: RunnerIdentity) -> None:
        dates = certificate_dates(issued.certificate)
        self.store.record_certificate(issued.serial, identity, dates.not_after)
