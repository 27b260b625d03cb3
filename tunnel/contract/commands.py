"""Payloads of the control and status messages the tunnel itself understands."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Message types on the control channel handled by the tunnel endpoints themselves.
RENEW_CERTIFICATE = "renew_certificate"  # runner -> server: a CSR for the same identity
CERTIFICATE = "certificate"  # server -> runner: the signed certificate
ROTATE_CERTIFICATE = "rotate_certificate"  # server -> runner: renew now (e.g. after a CA change)
BUNDLE = "bundle"  # server -> runner: a Bundle (tunnel.contract.bundles) for one environment


class RenewCertificate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    csr: str = Field(max_length=16_384, description="PEM certificate signing request")


class CertificateIssued(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    certificate: str = Field(max_length=16_384, description="PEM client certificate")
    ca: str = Field(max_length=16_384, description="PEM CA certificate")


# The only control message a runner may send; the server closes a connection that sends another.
RUNNER_CONTROL_TYPES = frozenset({RENEW_CERTIFICATE})
