"""Proxy channel payloads: allow-listed requests to runner-local targets and their answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contract.message_types import PROXY_REQUEST as REQUEST
from contract.message_types import PROXY_RESPONSE as RESPONSE

__all__ = ["MAX_BODY", "REQUEST", "RESPONSE", "ProxyRequest", "ProxyResponse"]
MAX_BODY = 1024 * 1024


class ProxyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    target: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$", description="a name the runner allows")
    method: Literal["GET", "POST"] = "GET"
    path: str = Field(default="", max_length=2048, description="relative to the target's base URL")
    body: str | None = Field(default=None, max_length=MAX_BODY)


class ProxyResponse(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str = Field(min_length=8, max_length=64)
    status: int = Field(ge=0, le=599, description="0 when the request was refused or failed")
    body: str = Field(default="", max_length=MAX_BODY + 64)
    truncated: bool = False
    error: str = ""
