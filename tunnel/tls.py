"""TLS contexts: TLS 1.3 only; the tunnel port demands a client certificate, registration not."""

from __future__ import annotations

import ssl
from pathlib import Path


def _base(purpose: ssl.Purpose, ca_pem: bytes | None) -> ssl.SSLContext:
    context = ssl.create_default_context(purpose, cadata=ca_pem.decode() if ca_pem else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    return context


def tunnel_server_context(cert: Path, key: Path, ca_pem: bytes) -> ssl.SSLContext:
    """mTLS: only clients with a certificate from our CA complete the handshake."""
    context = _base(ssl.Purpose.CLIENT_AUTH, ca_pem)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(cert, key)
    return context


def registration_server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """Server-auth only: a registering runner has no certificate yet, it proves itself by token."""
    context = _base(ssl.Purpose.CLIENT_AUTH, None)
    context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(cert, key)
    return context


def runner_client_context(
    ca_pem: bytes, cert: Path | None = None, key: Path | None = None
) -> ssl.SSLContext:
    """Verifies the control plane against our CA only (not the system trust store)."""
    context = _base(ssl.Purpose.SERVER_AUTH, ca_pem)
    if cert is not None and key is not None:
        context.load_cert_chain(cert, key)
    return context
