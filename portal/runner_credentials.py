"""The narrow runner-credentials port the portal is given (the tunnel PKI behind it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RunnerCertificate:
    runner: str
    serial: str
    not_after: datetime
    revoked_at: datetime | None


class RunnerCredentials(Protocol):
    def create_token(self, org: str, runner: str) -> str:
        """A single-use registration token binding `org/runner` (shown once, never stored)."""
        ...

    def certificates(self, org: str) -> list[RunnerCertificate]:
        """Certificates issued to the org's runners, with expiry and revocation."""
        ...

    def revoke(self, org: str, runner: str) -> int:
        """Revoke every live certificate of the runner; how many were revoked."""
        ...
