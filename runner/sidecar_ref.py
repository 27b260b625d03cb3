"""What a sidecar lookup needs to know: which integration in which environment. A replay
command has both, and so has a console request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class IntegrationRef(Protocol):
    @property
    def environment(self) -> str: ...

    @property
    def integration(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Integration:
    environment: str
    integration: str
