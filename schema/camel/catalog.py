"""The Camel catalog extracted at set-up from the pinned @kaoto/camel-catalog npm package.

Lives in schema/catalog/data/<camel version>/ (shipped in the wheel, so validation works offline).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from schema.camel import leniency
from schema.camel.leniency import lenient_schema
from schema.derived_cache import digest, load_value, store_value

DATA_DIR = Path(__file__).resolve().parent.parent / "catalog" / "data"


class CatalogMissingError(RuntimeError):
    """The set-up step that extracts the catalog has not run."""


@dataclass(frozen=True, slots=True)
class OptionInfo:
    """One endpoint option or path parameter: its catalog type and allowed values."""

    name: str
    type: str
    enum: tuple[str, ...] = ()
    java_string: bool = False
    """Java holds the value as a String: Camel itself never enforces the enum."""


@dataclass(frozen=True, slots=True)
class ComponentInfo:
    """One Camel component's endpoint options, path parameters and URI syntax."""

    options: dict[str, OptionInfo]
    """Endpoint options (query parameters), API-method options included."""
    path: tuple[OptionInfo, ...]
    """Path parameters in the order of the component's syntax."""
    required_path: frozenset[str]
    prefixes: tuple[str, ...]
    lenient: bool
    syntax: str
    api: bool = False


@dataclass(frozen=True, slots=True)
class KameletInfo:
    """A Kamelet's properties, and those a route must set."""

    properties: frozenset[str]
    required: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CamelCatalog:
    """One Camel version's catalog: YAML DSL schema, components, XML schema, Kamelets."""

    version: str
    yaml_dsl_schema: dict[str, Any]
    components: Mapping[str, ComponentInfo]
    xsd_path: Path
    kamelets: dict[str, KameletInfo]

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


class LazyComponents(Mapping[str, ComponentInfo]):
    """Components by scheme, each built on first use: a repository names a handful of ~400."""

    def __init__(self, texts: dict[str, str]) -> None:
        self._texts = texts
        """Each component's catalog entry as JSON text: parsed only when that scheme is used."""
        self._built: dict[str, ComponentInfo] = {}

    def __getitem__(self, scheme: str) -> ComponentInfo:
        built = self._built.get(scheme)
        if built is None:
            built = self._built[scheme] = _component(json.loads(self._texts[scheme]))
        return built

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


@cache
def load_catalog(version: str) -> CamelCatalog:
    folder = DATA_DIR / version
    if not folder.is_dir():
        raise CatalogMissingError(f"no Camel catalog for {version} under {DATA_DIR}")
    components = LazyComponents(_component_texts(folder / "components.json"))
    raw_kamelets = json.loads((folder / "kamelets.json").read_text())
    kamelets = {
        name: KameletInfo(frozenset(info["properties"]), tuple(info["required"]))
        for name, info in raw_kamelets.items()
    }
    return CamelCatalog(
        version=version,
        yaml_dsl_schema=_lenient_yaml_dsl_schema(folder / "camelYamlDsl.json"),
        components=components,
        xsd_path=folder / "camel-xml-io.xsd",
        kamelets=kamelets,
    )


def _lenient_yaml_dsl_schema(path: Path) -> dict[str, Any]:
    """The rewrite costs more than reading its result back: kept, named by both inputs."""
    published = path.read_bytes()  # hashed as it is: decoding 800 KB costs more than the hash
    name = digest("lenient", published, Path(leniency.__file__).read_bytes())
    stored = load_value(name)
    if isinstance(stored, dict):
        return stored
    lenient = lenient_schema(json.loads(published))
    store_value(name, lenient)
    return lenient


def _component_texts(path: Path) -> dict[str, str]:
    """Parsing all ~400 components costs more than the rest of a small repository's check, and
    a repository names a handful: each one's entry is kept as its own JSON text, named by the
    published file."""
    published = path.read_bytes()
    name = digest("components", published)
    stored = load_value(name)
    if isinstance(stored, dict):
        return stored
    texts = {scheme: json.dumps(info) for scheme, info in json.loads(published).items()}
    store_value(name, texts)
    return texts


def _option(name: str, raw: dict[str, Any]) -> OptionInfo:
    enum = tuple(raw.get("enum", ()))
    return OptionInfo(name, raw["type"], enum, bool(raw.get("javaString")))


def _component(info: dict[str, Any]) -> ComponentInfo:
    return ComponentInfo(
        options={name: _option(name, raw) for name, raw in info["options"].items()},
        path=tuple(_option(raw["name"], raw) for raw in info["path"]),
        required_path=frozenset(info["requiredPath"]),
        prefixes=tuple(info["prefixes"]),
        lenient=info["lenient"],
        syntax=info["syntax"],
        api=info["api"],
    )
