"""Deterministic serialisation (sorted keys, `|` blocks for multi-line text) and file names."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from renderers import yaml_emit
from renderers.context import Manifest


class OutputFormat(StrEnum):
    YAML = "yaml"
    JSON = "json"


def to_yaml(obj: Any) -> str:
    return yaml_emit.dump(obj)


def to_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def file_name(obj: Manifest, fmt: OutputFormat = OutputFormat.YAML) -> str:
    """`<kind>-<name>.yaml`; names are DNS-1123, so the file name is safe on every filesystem."""
    return f"{obj['kind'].lower()}-{obj['metadata']['name']}.{fmt.value}"


def render_files(objects: list[Manifest], fmt: OutputFormat = OutputFormat.YAML) -> dict[str, str]:
    """File name -> content, in apply order. A duplicate name is our bug, never silently lost."""
    dump = to_yaml if fmt is OutputFormat.YAML else to_json
    files: dict[str, str] = {}
    for obj in objects:
        name = file_name(obj, fmt)
        if name in files:
            raise ValueError(f"two objects render to {name}")
        files[name] = dump(obj)
    return files


def to_stream(objects: list[Manifest], fmt: OutputFormat = OutputFormat.YAML) -> str:
    """All objects as one YAML stream (`---` separated) or one JSON List."""
    if fmt is OutputFormat.JSON:
        return to_json({"apiVersion": "v1", "kind": "List", "items": objects})
    return "".join("---\n" + to_yaml(obj) for obj in objects)
