"""Commands on the control channel: certificate renewal (the tunnel itself handles it) and
rollback. The sync command is a Bundle (contract.bundles), replay is in contract.replay."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from contract.message_types import (
    BUNDLE,
    CERTIFICATE,
    RENEW_CERTIFICATE,
    ROLLBACK,
    ROTATE_CERTIFICATE,
)
from contract.names import NAME

__all__ = [
    "BUNDLE",
    "CERTIFICATE",
    "RENEW_CERTIFICATE",
    "ROLLBACK",
    "ROTATE_CERTIFICATE",
    "RUNNER_CONTROL_TYPES",
    "CertificateIssued",
    "RenewCertificate",
    "RollbackCommand",
]


class RenewCertificate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    csr: str = Field(max_length=16_384, description="PEM certificate signing request")


class CertificateIssued(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    certificate: str = Field(max_length=16_384, description="PEM client certificate")
    ca: str = Field(max_length=16_384, description="PEM CA certificate")


# The only control message a runner may send; the server closes a connection that sends another.
RUNNER_CONTROL_TYPES = frozenset({RENEW_CERTIFICATE})


class RollbackCommand(BaseModel):
    """Re-apply the bundle of `revision` the runner still holds (its last N per environment)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project: str = Field(min_length=1, max_length=63, pattern=NAME)
    environment: str = Field(min_length=1, max_length=63, pattern=NAME)
    revision: str = Field(min_length=1, max_length=64)
