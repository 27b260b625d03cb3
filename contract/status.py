"""The status report: what a runner says about one environment's bundle, on the status channel
(type `contract.message_types.STATUS`). One typed model from the runner's sync to the store."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from contract.names import NAME


class Phase(StrEnum):
    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"  # drift found and not healed (selfHeal off)
    FAILED = "Failed"  # the target refused objects; see `objects`
    UNREACHABLE = "ApiServerUnreachable"  # retried with backoff


class Health(StrEnum):
    """gitops-engine's health states, best first (aggregation takes the worst of the parts)."""

    HEALTHY = "Healthy"
    SUSPENDED = "Suspended"
    PROGRESSING = "Progressing"
    MISSING = "Missing"
    DEGRADED = "Degraded"
    UNKNOWN = "Unknown"


class Outcome(StrEnum):
    """What a sync did to one object."""

    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"
    FAILED = "failed"  # this object's apply or dry-run was refused; the message says why
    SKIPPED = "skipped"  # not applied because another object failed first
    PRUNED = "pruned"
    PRUNE_SKIPPED = "prune-skipped"  # carries camelops.io/prune: "false" or is not ours any more
    DELETE_FAILED = "delete-failed"  # stays in the inventory, retried next sync


class ObjectStatus(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(max_length=512)
    outcome: Outcome
    message: str = Field(default="", max_length=4000)


class CamelHealth(BaseModel):
    """What the sidecar of one integration says about its Camel context."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    integration: str = Field(min_length=1, max_length=63, pattern=NAME)
    routes_total: int = Field(ge=0)
    routes_started: int = Field(ge=0)
    health_up: bool


class StatusReport(BaseModel):
    """What a runner says about one environment's bundle (matched by digest)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project: str = Field(min_length=1, max_length=63, pattern=NAME)
    environment: str = Field(min_length=1, max_length=63, pattern=NAME)
    revision: str = Field(max_length=64)
    digest: str = Field(min_length=1, max_length=128)
    phase: Phase
    health: Health
    message: str = Field(default="", max_length=8000)
    health_detail: str = Field(default="", max_length=2000)
    """Why the health is not Healthy, one line naming the objects: `Ingress shop-dev/orders-api
    has no load-balancer address yet`."""
    objects: list[ObjectStatus] = Field(default_factory=list, max_length=5000)
    drifted: list[str] = Field(default_factory=list, max_length=5000)
    camel: list[CamelHealth] = Field(default_factory=list, max_length=5000)
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
            if o.message and o.outcome is not Outcome.SKIPPED
        ]
        drifted = [f"drifted: {key}" for key in self.drifted]
        parts = (self.message, *failed, *drifted, self.health_detail)
        return "; ".join(part for part in parts if part)[:2000]
