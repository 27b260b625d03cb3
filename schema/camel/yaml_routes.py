"""Validate a Camel YAML DSL route file against the catalog's YAML DSL schema and components."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

from yaml.nodes import SequenceNode

from schema.camel.catalog import CamelCatalog, KameletInfo, load_catalog, materialized
from schema.camel.endpoints import Endpoint, check_endpoint, find_yaml_endpoints
from schema.camel.explain import describe, leaf_errors
from schema.camel.fast_check import FastChecker
from schema.diagnostics import Diagnostic, Severity, json_pointer
from schema.yaml_loader import YamlDocument

if TYPE_CHECKING:  # jsonschema loads only when a route is invalid and must be explained
    from jsonschema import Draft7Validator

PROCESSOR_DEFINITION = "org.apache.camel.model.ProcessorDefinition"


@cache
def _fast(version: str) -> FastChecker:
    return FastChecker(load_catalog(version).yaml_dsl_schema)


@cache
def _precise(version: str) -> Draft7Validator:
    from jsonschema import Draft7Validator  # noqa: PLC0415 (lazy: see TYPE_CHECKING above)

    return Draft7Validator(materialized(load_catalog(version).yaml_dsl_schema))


def validate_yaml_routes(doc: YamlDocument, catalog: CamelCatalog) -> list[Diagnostic]:
    return check_yaml_routes(doc, catalog)[0]


def check_yaml_routes(
    doc: YamlDocument, catalog: CamelCatalog, kamelets: Mapping[str, KameletInfo] | None = None
) -> tuple[list[Diagnostic], list[Endpoint]]:
    """(diagnostics, the file's endpoints): one walk serves the checks and the callers."""
    if isinstance(doc.data, dict) and doc.data and doc.root is not None:
        # Camel's loader takes a single mapping (`route: ...` at the top) as a one-item list.
        root = SequenceNode("tag:yaml.org,2002:seq", [doc.root], doc.root.start_mark)
        doc = YamlDocument(doc.path, [doc.data], root)
    if not isinstance(doc.data, list) or not doc.data:
        line, col = doc.locate(())
        return [
            Diagnostic(
                doc.path,
                line,
                col,
                Severity.ERROR,
                "a Camel YAML DSL file is a non-empty list (e.g. '- route: ...' or '- from: ...')",
                code="camel-dsl",
            )
        ], []
    diagnostics: list[Diagnostic] = []
    if not _fast(catalog.version).is_valid(doc.data):
        diagnostics += _explain(doc, catalog)
    endpoints = find_yaml_endpoints(doc.data, catalog)
    for endpoint in endpoints:
        for severity, message, key in check_endpoint(
            endpoint.uri, endpoint.parameters, catalog, kamelets
        ):
            path = (*endpoint.path[:-1], "parameters", key) if key else endpoint.path
            line, col = doc.locate(path, at_key=key is not None)
            diagnostics.append(
                Diagnostic(
                    doc.path,
                    line,
                    col,
                    severity,
                    message,
                    pointer=json_pointer(path),
                    code="camel-endpoint",
                )
            )
    return diagnostics, endpoints


def _explain(doc: YamlDocument, catalog: CamelCatalog) -> list[Diagnostic]:
    processors = catalog.processor_names
    found: dict[tuple[int, int, str], Diagnostic] = {}
    for error in _precise(catalog.version).iter_errors(doc.data):
        for leaf in leaf_errors(error):
            schema = leaf.schema if isinstance(leaf.schema, dict) else {}
            is_step = frozenset(schema.get("properties", {})) == processors
            message, key = describe(leaf, "EIP step" if is_step else "option")
            path = list(leaf.absolute_path)
            line, col = doc.locate([*path, key] if key else path, at_key=key is not None)
            diag = Diagnostic(
                doc.path,
                line,
                col,
                Severity.ERROR,
                message,
                pointer=json_pointer([*path, key] if key else path),
                code="camel-dsl",
            )
            found.setdefault((line, col, message), diag)
    return sorted(found.values())
