"""Desired-state bundles: what the control plane sends a runner for one environment."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class InventoryEntry(BaseModel):
    """One object the bundle owns, keyed like Argo CD's tracking id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    group: str = Field(description="API group, empty for the core group")
    version: str
    kind: str
    namespace: str = Field(description="empty for cluster-scoped objects")
    name: str

    @property
    def key(self) -> str:
        return f"{self.group}/{self.kind}:{self.namespace}/{self.name}"


class Bundle(BaseModel):
    """The full desired state of one environment at one Git revision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project: str
    environment: str
    revision: str = Field(description="Git commit id the manifests were rendered from")
    manifests: tuple[dict[str, Any], ...] = Field(description="Kubernetes objects, apply order")
    inventory: tuple[InventoryEntry, ...]
    digest: str = Field(description="sha256 over the canonical JSON of the manifests")
    commit_author: str = ""
    commit_message: str = ""
    target: str = Field(
        default="kubernetes",
        pattern="^(kubernetes|local)$",
        description="which driver the manifests are rendered for: kubernetes objects, or "
        "CamelProcess objects for the local driver",
    )


def manifests_digest(manifests: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> str:
    """A stable digest: the same objects in the same order always hash the same."""
    canonical = json.dumps(list(manifests), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def inventory_of(
    manifests: tuple[dict[str, Any], ...] | list[dict[str, Any]],
) -> tuple[InventoryEntry, ...]:
    entries = []
    for obj in manifests:
        group, _, version = str(obj["apiVersion"]).rpartition("/")
        meta = obj.get("metadata", {})
        entries.append(
            InventoryEntry(
                group=group,
                version=version,
                kind=obj["kind"],
                namespace=meta.get("namespace", ""),
                name=meta["name"],
            )
        )
    return tuple(entries)
