"""Check rendered objects against the OpenAPI schemas of a pinned Kubernetes minor, using the
schemas shipped by kubernetes-validate (strict: unknown fields are errors).

A compiled validator (jsonschema-rs, over the same schemas with the shared definitions bundled in)
gives the yes/no verdict per object; only an object it refuses goes through jsonschema again, for
the messages. bench/bench_render_strict.py measures it against kubeconform on the same files."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
import jsonschema_rs
from kubernetes_validate import utils as kv
from referencing import Registry, Resource

from renderers.context import Manifest
from renderers.kubernetes import KUBERNETES_MINOR

__all__ = ["KUBERNETES_MINOR", "SchemaProblem", "check_objects"]


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    kind: str
    name: str
    message: str

    def format_text(self) -> str:
        return f"{self.kind}/{self.name}: {self.message}"


@cache
def _schema_dir(minor: str) -> str:
    """kubernetes-validate's newest schema set not newer than `minor`."""
    wanted = tuple(int(p) for p in minor.split("."))
    versions = [v for v in kv.all_versions() if tuple(int(p) for p in v.split(".")[:2]) <= wanted]
    if not versions:
        raise ValueError(f"kubernetes-validate has no schemas for Kubernetes {minor}")
    return f"kubernetes-json-schema/v{versions[-1]}-local-strict"


@cache
def _definitions(minor: str) -> Registry[Any]:
    contents = kv.schema_contents(f"{_schema_dir(minor)}/_definitions.json", minor)
    return Resource.from_contents(contents) @ Registry()


@cache
def _validator(minor: str, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    try:
        schema = kv.schema_contents(
            f"{_schema_dir(minor)}/{_schema_file(api_version, kind)}", minor
        )
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(schema) @ _definitions(minor)
    validator: jsonschema.protocols.Validator = jsonschema.Draft202012Validator(
        schema, registry=registry
    )
    return validator


def _schema_file(api_version: str, kind: str) -> str:
    # the package's own file naming: `<kind>-<group without domain>-<version>.json`
    suffix = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{suffix}.json"


def bundled(minor: str, api_version: str, kind: str) -> dict[str, Any] | None:
    """The kind's schema with the shared definitions it refers to bundled in (local refs only)."""
    try:
        schema = kv.schema_contents(
            f"{_schema_dir(minor)}/{_schema_file(api_version, kind)}", minor
        )
    except FileNotFoundError:
        return None
    definitions = kv.schema_contents(f"{_schema_dir(minor)}/_definitions.json", minor)
    # `<$id of _definitions.json>#/$defs/X` and its relative spelling become local references
    text = json.dumps(schema).replace('"/api/_definitions.json#', '"#')
    text = text.replace(f'"{definitions["$id"]}#', '"#')
    result: dict[str, Any] = json.loads(text)
    result["$defs"] = {**definitions["$defs"], **result.get("$defs", {})}
    return result


@cache
def _compiled(minor: str, api_version: str, kind: str) -> jsonschema_rs.Validator | None:
    """The bundled schema compiled once. Like jsonschema (the explaining validator), it ignores
    "format": both judge alike."""
    schema = bundled(minor, api_version, kind)
    if schema is None:
        return None
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=False)


def check_objects(objects: list[Manifest], minor: str = KUBERNETES_MINOR) -> list[SchemaProblem]:
    """Every problem of every object (not just the first), with a JSON pointer to it."""
    problems = []
    for obj in objects:
        kind = str(obj.get("kind", "?"))
        name = str((obj.get("metadata") or {}).get("name", "?"))
        api_version = str(obj.get("apiVersion", ""))
        compiled = _compiled(minor, api_version, kind)
        if compiled is not None and compiled.is_valid(obj):
            continue
        validator = _validator(minor, api_version, kind)
        if validator is None:
            problems.append(
                SchemaProblem(
                    kind,
                    name,
                    f"no schema for {obj.get('apiVersion')} {kind} in Kubernetes {minor}",
                )
            )
            continue
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
            path = "/".join(str(p) for p in error.absolute_path)
            problems.append(SchemaProblem(kind, name, f"/{path}: {error.message}"))
    return problems
