"""Desired-state bundles: what the control plane sends a runner for one environment."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Target(StrEnum):
    """What a bundle's manifests are for, and so which runner driver applies them."""

    KUBERNETES = "kubernetes"  # Kubernetes objects, server-side applied to a cluster
    LOCAL = "local"  # supervised Camel processes on one host, no Kubernetes


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
    manifests: tuple[dict[str, Any], ...] = Field(
        description="the target's objects, in contract.apply_order"
    )
    inventory: tuple[InventoryEntry, ...]
    digest: str = Field(description="sha256 over the canonical JSON of the manifests")
    commit_author: str = ""
    commit_message: str = ""
    target: Target = Target.KUBERNETES

    @classmethod
    def of(
        cls,
        *,
        project: str,
        environment: str,
        revision: str,
        manifests: Iterable[dict[str, Any]],
        commit_author: str = "",
        commit_message: str = "",
        target: Target | str = Target.KUBERNETES,
    ) -> Bundle:
        """A bundle of these manifests: its inventory and digest are derived from them here,
        the one way every sender builds them."""
        objects = tuple(manifests)
        return cls(
            project=project,
            environment=environment,
            revision=revision,
            manifests=objects,
            inventory=inventory_of(objects),
            digest=manifests_digest(objects),
            commit_author=commit_author,
            commit_message=commit_message,
            target=Target(target),
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
