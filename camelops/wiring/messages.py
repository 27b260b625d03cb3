"""Messages between the control plane and the runner daemon that the tunnel itself does not
interpret: the runner's status reports (`SyncStatus.payload()`) and the rollback command."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

STATUS_TYPE = "status"  # on Channel.STATUS; also the runner outbox's `kind`
ROLLBACK_TYPE = "rollback"  # on Channel.CONTROL, control plane -> runner
NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class ObjectStatus(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(max_length=512)
    outcome: str = Field(max_length=40)
    message: str = Field(default="", max_length=4000)


class StatusReport(BaseModel):
    """What a runner says about one environment's bundle (matched by digest)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project: str = Field(min_length=1, max_length=63, pattern=NAME)
    environment: str = Field(min_length=1, max_length=63, pattern=NAME)
    revision: str = Field(max_length=64)
    digest: str = Field(min_length=1, max_length=128)
    phase: str = Field(min_length=1, max_length=40)
    health: str = Field(min_length=1, max_length=40)
    message: str = Field(default="", max_length=8000)
    objects: list[ObjectStatus] = Field(default_factory=list, max_length=5000)
    drifted: list[str] = Field(default_factory=list, max_length=5000)
    at: float = 0.0

    @property
    def state(self) -> str:
        """The deployment state the control plane records, e.g. `Synced/Healthy`."""
        return f"{self.phase}/{self.health}"[:40]

    def detail(self) -> str:
        # objects skipped because another failed only repeat the first failure
        failed = [
            f"{o.key}: {o.outcome} {o.message}".strip()
            for o in self.objects
            if o.message and o.outcome != "skipped"
        ]
        drifted = [f"drifted: {key}" for key in self.drifted]
        return "; ".join(part for part in (self.message, *failed, *drifted) if part)[:2000]


class RollbackCommand(BaseModel):
    """Re-apply the bundle of `revision` the runner still holds (its last N per environment)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project: str = Field(min_length=1, max_length=63, pattern=NAME)
    environment: str = Field(min_length=1, max_length=63, pattern=NAME)
    revision: str = Field(min_length=1, max_length=64)
