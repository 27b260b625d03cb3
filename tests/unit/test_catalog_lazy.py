"""The YAML DSL schema's definitions load on first lookup: the same definitions as the rewrite of
the published schema, endpoints found exactly where a full scan of the schema puts them, and a
route file's check leaves most definitions unloaded."""

from __future__ import annotations

import json
from typing import Any

from schema.camel.catalog import (
    DATA_DIR,
    KameletInfo,
    LazyMapping,
    load_catalog,
    supported_versions,
)
from schema.camel.endpoints import EndpointFinder, assemble, check_kamelet
from schema.camel.fast_check import FastChecker
from schema.camel.leniency import lenient_schema

VERSION = supported_versions()[-1]
PROCESSOR = "org.apache.camel.model.ProcessorDefinition"


def definitions(version: str) -> Any:
    return load_catalog(version).yaml_dsl_schema["items"]["definitions"]


def test_each_definition_is_the_rewritten_published_one() -> None:
    published = json.loads((DATA_DIR / VERSION / "camelYamlDsl.json").read_bytes())
    expected = lenient_schema(published)["items"]["definitions"]
    lazy = definitions(VERSION)
    assert isinstance(lazy, LazyMapping)
    assert list(lazy) == list(expected)
    assert all(lazy[name] == expected[name] for name in expected)


def declares(definition: dict[str, Any], name: str) -> bool:
    branches = [definition, *definition.get("anyOf", ()), *definition.get("oneOf", ())]
    return any(name in b.get("properties", {}) for b in branches if isinstance(b, dict))


def test_endpoints_are_where_a_full_scan_of_the_schema_puts_them() -> None:
    schema = load_catalog(VERSION).yaml_dsl_schema
    full = {name: schema["items"]["definitions"][name] for name in schema["items"]["definitions"]}
    steps = full[PROCESSOR]["properties"]
    endpoint_steps = set()
    for step, sub in steps.items():
        target = full[sub["$ref"].rsplit("/", 1)[-1]] if "$ref" in sub else sub
        if declares(target, "uri") and declares(target, "parameters"):
            endpoint_steps.add(step)
    assert {"to", "toD", "wireTap", "poll"} <= endpoint_steps
    finder = EndpointFinder(load_catalog(VERSION).yaml_dsl_schema)
    found_steps = set()
    for step in steps:
        route = [{"from": {"uri": "timer:t", "steps": [{step: {"uri": "log:x"}}]}}]
        paths = [e.path for e in finder.find(route)]
        if (0, "from", "steps", 0, step, "uri") in paths:
            found_steps.add(step)
    assert found_steps == endpoint_steps


def test_checking_a_route_file_loads_few_definitions() -> None:
    fresh = load_catalog.__wrapped__(supported_versions()[0])  # none loaded by other tests
    routes = [
        {
            "route": {
                "from": {
                    "uri": "timer:tick",
                    "steps": [
                        {"setBody": {"simple": "hello"}},
                        {"choice": {"when": [{"simple": "${body}", "steps": [{"to": "log:y"}]}]}},
                        {"to": {"uri": "kafka:orders"}},
                    ],
                }
            }
        }
    ]
    assert FastChecker(fresh.yaml_dsl_schema).is_valid(routes)
    found = [(e.uri, e.consumer) for e in EndpointFinder(fresh.yaml_dsl_schema).find(routes)]
    assert found == [("timer:tick", True), ("log:y", False), ("kafka:orders", False)]
    lazy = fresh.yaml_dsl_schema["items"]["definitions"]
    loaded = sum(1 for name in lazy._packed if name in lazy._built)
    assert 0 < loaded < len(lazy) / 3


def test_kamelets_are_those_of_the_published_catalog() -> None:
    for version in supported_versions():
        published = json.loads((DATA_DIR / version / "kamelets.json").read_bytes())
        kamelets = load_catalog(version).kamelets
        assert list(kamelets) == list(published)
        for name, info in published.items():
            assert kamelets[name] == KameletInfo(
                frozenset(info["properties"]), tuple(info["required"])
            )


def test_a_project_kamelet_replaces_the_catalog_one_of_its_name() -> None:
    catalog = load_catalog(VERSION)
    name = next(n for n in catalog.kamelets if catalog.kamelets[n].required)
    endpoint = assemble(f"kamelet:{name}", {}, catalog.components["kamelet"])
    assert check_kamelet(endpoint, {}, catalog.kamelets)  # the catalog's needs properties
    own = {name: KameletInfo(frozenset(), ())}
    assert check_kamelet(endpoint, own, catalog.kamelets) == []
    unknown = assemble("kamelet:no-such-kamelet", {}, catalog.components["kamelet"])
    assert "unknown Kamelet" in check_kamelet(unknown, own, catalog.kamelets)[0][1]


def test_an_entry_built_twice_at_once_is_one_object() -> None:
    """Two threads may build the same entry; both must get the one kept (an EndpointFinder keys
    what it derives from a definition by the definition's identity)."""
    first: dict[str, Any] = {"kept": True}

    def build(packed: str) -> dict[str, Any]:
        lazy._built.setdefault("x", first)  # the other thread stores its object meanwhile
        return {"kept": False}

    lazy: LazyMapping[str, dict[str, Any]] = LazyMapping({"x": "packed"}, build)
    assert lazy["x"] is first
    assert lazy["x"] is first
