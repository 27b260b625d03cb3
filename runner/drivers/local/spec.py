"""The CamelProcess objects of a local bundle, read into typed values."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from runner.errors import RunnerError
from runner.objects import Manifest, ObjectRef

PROCESS_KIND = "CamelProcess"
SECRET_KIND = "Secret"  # noqa: S105 - a kind name, not a value


class SpecError(RunnerError, ValueError):
    """A bundle object the local driver cannot run; the message says which field."""


@dataclass(frozen=True, slots=True)
class SecretEnv:
    name: str
    secret: str
    key: str


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    ref: ObjectRef
    integration: str
    environment: str
    replicas: int
    port: int | None
    command: tuple[str, ...]
    routes: tuple[tuple[str, str], ...]
    properties: str
    env: tuple[tuple[str, str], ...]
    secret_env: tuple[SecretEnv, ...]
    secret_env_from: tuple[str, ...]
    checksum: str
    sidecar: tuple[str, ...] | None = None
    """`camelops sidecar` arguments from the repository, None when the sidecar is off."""

    @property
    def key(self) -> str:
        """The integration's directory name under the driver's state: environment + name."""
        return f"{self.ref.namespace}/{self.integration}"

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": [self.ref.group, self.ref.version, self.ref.kind, self.ref.namespace],
            "integration": self.integration,
            "environment": self.environment,
            "replicas": self.replicas,
            "port": self.port,
            "command": list(self.command),
            "routes": dict(self.routes),
            "properties": self.properties,
            "env": dict(self.env),
            "secretEnv": [
                {"name": s.name, "secret": s.secret, "key": s.key} for s in self.secret_env
            ],
            "secretEnvFrom": list(self.secret_env_from),
            "checksum": self.checksum,
            "sidecar": None if self.sidecar is None else list(self.sidecar),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProcessSpec:
        group, version, kind, namespace = data["ref"]
        manifest = {
            "apiVersion": f"{group}/{version}" if group else version,
            "kind": kind,
            "metadata": {"name": data["integration"], "namespace": namespace},
            "spec": {k: v for k, v in data.items() if k != "ref"},
        }
        return process_spec(manifest)


def process_spec(obj: Manifest) -> ProcessSpec:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        raise SpecError(f"{obj.get('kind')} {obj.get('metadata', {}).get('name')}: no spec")
    try:
        return ProcessSpec(
            ref=ObjectRef.of(obj),
            integration=str(spec["integration"]),
            environment=str(spec["environment"]),
            replicas=int(spec["replicas"]),
            port=None if spec.get("port") is None else int(spec["port"]),
            command=tuple(str(a) for a in spec["command"]),
            routes=tuple(sorted((str(k), str(v)) for k, v in spec["routes"].items())),
            properties=str(spec["properties"]),
            env=tuple(sorted((str(k), str(v)) for k, v in spec.get("env", {}).items())),
            secret_env=tuple(
                SecretEnv(str(s["name"]), str(s["secret"]), str(s["key"]))
                for s in spec.get("secretEnv", [])
            ),
            secret_env_from=tuple(str(s) for s in spec.get("secretEnvFrom", [])),
            checksum=str(spec["checksum"]),
            sidecar=None if spec.get("sidecar") is None else tuple(str(a) for a in spec["sidecar"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError(f"CamelProcess {obj.get('metadata', {}).get('name')}: {exc}") from exc


def secret_data(obj: Manifest) -> dict[str, bytes]:
    """A Secret's values; a masked one (a rendering without the decryption key) is refused."""
    annotations = obj.get("metadata", {}).get("annotations", {})
    if annotations.get("camelops.io/masked") == "true" or "data" not in obj:
        raise SpecError(f"Secret {obj['metadata']['name']}: masked, the bundle has no values")
    return {str(k): base64.b64decode(str(v)) for k, v in obj["data"].items()}
