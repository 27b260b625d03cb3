"""The Camel catalog extracted at set-up from the pinned @kaoto/camel-catalog npm package.

Lives in schema/catalog/data/<camel version>/ (shipped in the wheel, so validation works offline).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from schema.camel.leniency import lenient_schema

DATA_DIR = Path(__file__).resolve().parent.parent / "catalog" / "data"


class CatalogMissingError(RuntimeError):
    """The set-up step that extracts the catalog has not run."""


@dataclass(frozen=True, slots=True)
class ComponentInfo:
    options: frozenset[str]
    prefixes: tuple[str, ...]
    lenient: bool
    syntax: str


@dataclass(frozen=True, slots=True)
class CamelCatalog:
    version: str
    yaml_dsl_schema: dict[str, Any]
    components: dict[str, ComponentInfo]
    xsd_path: Path

    @property
    def processor_names(self) -> frozenset[str]:
        definitions = self.yaml_dsl_schema["items"]["definitions"]
        props = definitions["org.apache.camel.model.ProcessorDefinition"]["properties"]
        return frozenset(props)


def _manifest() -> dict[str, Any]:
    path = DATA_DIR / "catalog.json"
    if not path.exists():
        raise CatalogMissingError(
            f"the Camel catalog is not installed at {DATA_DIR}; run `make setup`"
        )
    manifest: dict[str, Any] = json.loads(path.read_text())
    return manifest


def supported_versions() -> tuple[str, ...]:
    return tuple(_manifest()["camelVersions"])


def resolve_version(requested: str) -> tuple[str, str | None]:
    """(catalog version, warning). Same minor line -> nearest patch; else the newest, warned."""
    versions = supported_versions()
    if requested in versions:
        return requested, None
    minor = requested.rsplit(".", 1)[0] + "."
    same_line = [v for v in versions if v.startswith(minor)]
    chosen = same_line[-1] if same_line else versions[-1]
    return chosen, (
        f"no Camel catalog for {requested}; routes are validated with the {chosen} catalog "
        f"(available: {', '.join(versions)})"
    )


@cache
def load_catalog(version: str) -> CamelCatalog:
    folder = DATA_DIR / version
    if not folder.is_dir():
        raise CatalogMissingError(f"no Camel catalog for {version} under {DATA_DIR}")
    raw_schema = json.loads((folder / "camelYamlDsl.json").read_text())
    raw_components = json.loads((folder / "components.json").read_text())
    components = {
        scheme: ComponentInfo(
            options=frozenset(info["options"]),
            prefixes=tuple(info["prefixes"]),
            lenient=info["lenient"],
            syntax=info["syntax"],
        )
        for scheme, info in raw_components.items()
    }
    return CamelCatalog(
        version=version,
        yaml_dsl_schema=lenient_schema(raw_schema),
        components=components,
        xsd_path=folder / "camel-xml-io.xsd",
    )
