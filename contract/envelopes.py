"""The tunnel's wire contract: the envelope every message rides in, its channels and handshake."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Message types are open-ended (each area adds its own) but must stay short, lowercase identifiers
# so they are safe to log and to use as metric labels.
TYPE_PATTERN = r"^[a-z][a-z0-9_.]{0,63}$"


class Channel(StrEnum):
    """Logical channels multiplexed on one connection, each with its own sequence space."""

    CONTROL = "control"  # bundles, rollback, replay, certificate rotation
    STATUS = "status"  # deployment status, health, command results (never dropped)
    TELEMETRY = "telemetry"  # trace batches (dropped oldest-first when the outbox is full)
    PROXY = "proxy"  # allow-listed request/response to runner-local targets


class Kind(StrEnum):
    """Protocol-level message types the tunnel itself handles (never given to handlers)."""

    HELLO = "hello"
    ACK = "ack"


class Envelope(BaseModel):
    """One message. `seq` > 0 is sequenced per channel and acked; `seq` == 0 is protocol-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    seq: int = Field(ge=0, lt=2**63)
    channel: Channel
    type: str = Field(pattern=TYPE_PATTERN)
    ack: int = Field(default=0, ge=0, lt=2**63, description="cumulative ack for `channel`")
    payload: dict[str, Any] = Field(default_factory=dict)


class Hello(BaseModel):
    """First message on every connection, both ways: who I am and what I already have of yours."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    session: str = Field(min_length=8, max_length=64, description="sender's durable session id")
    peer_session: str = Field(
        default="", max_length=64, description="last session seen of the peer"
    )
    received: dict[Channel, int] = Field(
        default_factory=dict, description="highest seq applied per channel of `peer_session`"
    )
    dropped: dict[Channel, int] = Field(
        default_factory=dict, description="messages the sender dropped from its outbox, ever"
    )
    digests: dict[str, str] = Field(
        default_factory=dict, description="runner only: environment -> applied bundle digest"
    )
