"""The Camel catalog extracted at set-up from the pinned @kaoto/camel-catalog npm package.

Lives in schema/catalog/data/<camel version>/ (shipped in the wheel, so validation works offline).
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Generic, TypeVar

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
    """Rewritten to judge as Camel's loader does (schema/camel/leniency.py); its
    `items.definitions` loads each definition on first lookup (`materialized` loads them all)."""
    components: Mapping[str, ComponentInfo]
    xsd_path: Path
    kamelets: Mapping[str, KameletInfo]

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


_Packed = TypeVar("_Packed")
_Built = TypeVar("_Built")


class LazyMapping(Mapping[str, _Built], Generic[_Packed, _Built]):
    """A catalog table whose entries are each built on first use: a repository names a handful of
    ~400 components, and its routes reach a few dozen of the YAML DSL's ~260 definitions."""

    def __init__(self, packed: dict[str, _Packed], build: Callable[[_Packed], _Built]) -> None:
        self._packed = packed
        self._build = build
        self._built: dict[str, _Built] = {}

    def __getitem__(self, name: str) -> _Built:
        built = self._built.get(name)
        if built is None:
            # setdefault: two threads building the same entry both get the one kept (callers
            # key what they derive from a definition by its identity)
            built = self._built.setdefault(name, self._build(self._packed[name]))
        return built

    def __iter__(self) -> Iterator[str]:
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)


@cache
def load_catalog(version: str) -> CamelCatalog:
    folder = DATA_DIR / version
    if not folder.is_dir():
        raise CatalogMissingError(f"no Camel catalog for {version} under {DATA_DIR}")
    components = LazyMapping(_component_texts(folder / "components.json"), _component_from_text)
    kamelets = LazyMapping(_kamelet_entries(folder / "kamelets.json"), _kamelet)
    return CamelCatalog(
        version=version,
        yaml_dsl_schema=_lenient_yaml_dsl_schema(folder / "camelYamlDsl.json"),
        components=components,
        xsd_path=folder / "camel-xml-io.xsd",
        kamelets=kamelets,
    )


def _published(path: Path) -> str | bytes:
    """What names an entry derived from a published file: the SHA-256 of it that `make setup`
    recorded in catalog.json (reading and hashing the two files, 1.3 MB, was ~2.5 ms of every
    run), else the file's bytes (hashed as they are: decoding costs more than the hash)."""
    if path.parent.parent == DATA_DIR:
        recorded = _manifest().get("sha256", {}).get(path.parent.name, {}).get(path.name)
        if isinstance(recorded, str):
            return recorded
    return path.read_bytes()


def _lenient_yaml_dsl_schema(path: Path) -> dict[str, Any]:
    """The rewrite costs more than reading its result back: kept, named by both inputs. Each
    definition is kept as its own marshalled bytes under `items.definitions`, unmarshalled on
    first lookup (all of them at once were ~4 ms of every run)."""
    name = digest("lenient-by-definition", _published(path), Path(leniency.__file__).read_bytes())
    stored = load_value(name)
    if not isinstance(stored, dict):
        stored = _by_definition(lenient_schema(json.loads(path.read_bytes())))
        store_value(name, stored)
    schema: dict[str, Any] = stored["schema"]
    schema["items"]["definitions"] = LazyMapping(stored["definitions"], _unmarshal)
    return schema


def _by_definition(lenient: dict[str, Any]) -> dict[str, Any]:
    """The schema without its definitions, and each definition marshalled on its own (the
    rewrite shares a subschema only within one definition, so none is copied apart)."""
    definitions = lenient["items"].pop("definitions")
    packed = {name: marshal.dumps(definition) for name, definition in definitions.items()}
    return {"schema": lenient, "definitions": packed}


def _unmarshal(data: bytes) -> Any:
    return marshal.loads(data)  # noqa: S302 (part of a value read from the private cache dir)


def materialized(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every definition loaded, in a plain dict: for jsonschema, on the path that
    explains an invalid route (it may look at any definition)."""
    items = schema["items"]
    return {**schema, "items": {**items, "definitions": dict(items["definitions"])}}


def _component_texts(path: Path) -> dict[str, str]:
    """Parsing all ~400 components costs more than the rest of a small repository's check, and
    a repository names a handful: each one's entry is kept as its own JSON text, named by the
    published file."""
    name = digest("components", _published(path))
    stored = load_value(name)
    if isinstance(stored, dict):
        return stored
    texts = {scheme: json.dumps(info) for scheme, info in json.loads(path.read_bytes()).items()}
    store_value(name, texts)
    return texts


_KameletEntry = tuple[tuple[str, ...], tuple[str, ...]]


def _kamelet_entries(path: Path) -> dict[str, _KameletEntry]:
    """(properties, required) of each of the catalog's ~250 Kamelets, kept by name: a route uses
    a few, and parsing the published JSON was ~1 ms of every run."""
    name = digest("kamelets", _published(path))
    stored = load_value(name)
    if isinstance(stored, dict):
        return stored
    published = json.loads(path.read_bytes())
    entries = {
        kamelet: (tuple(info["properties"]), tuple(info["required"]))
        for kamelet, info in published.items()
    }
    store_value(name, entries)
    return entries


def _kamelet(entry: _KameletEntry) -> KameletInfo:
    properties, required = entry
    return KameletInfo(frozenset(properties), required)


def _option(name: str, raw: dict[str, Any]) -> OptionInfo:
    enum = tuple(raw.get("enum", ()))
    return OptionInfo(name, raw["type"], enum, bool(raw.get("javaString")))


def _component_from_text(text: str) -> ComponentInfo:
    return _component(json.loads(text))


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
