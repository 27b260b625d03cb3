"""Replay of a captured exchange: the command the control plane sends a runner (control channel,
type `REPLAY`) and the result the runner answers (status channel, type `REPLAY_RESULT`)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from contract.names import NAME

REQUEST_ID = r"^[0-9a-f]{32}$"


class ReplayOutcome(StrEnum):
    """The one outcome of a replay, from the sidecar through the runner to the API."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the route ran and threw again
    EXPIRED = "expired"  # the sidecar no longer holds the original message
    UNAVAILABLE = "unavailable"  # sidecar, Jolokia or Camel not reachable
    REJECTED = "rejected"  # the runner refused the command (e.g. an integration it does not know)


class ReplayCommand(BaseModel):
    """Replay exchange `exchange_id` of one integration; `request_id` matches the answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str = Field(pattern=REQUEST_ID)
    project: str = Field(max_length=63, pattern=NAME)
    environment: str = Field(max_length=63, pattern=NAME)
    integration: str = Field(max_length=63, pattern=NAME)
    exchange_id: str = Field(min_length=1, max_length=200)


class ReplayResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str = Field(pattern=REQUEST_ID)
    environment: str = Field(max_length=63, pattern=NAME)  # checked by the tunnel server
    outcome: ReplayOutcome
    reason: str = Field(default="", max_length=2_000)
    endpoint: str = Field(default="", max_length=1_000)
