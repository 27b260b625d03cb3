"""Load one integration directory: integration.yaml, its route files and its properties file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from schema.camel.catalog import load_catalog
from schema.camel.explain import suggest
from schema.camel.kamelets import project_kamelets
from schema.camel.route_ids import IdIndex
from schema.camel.yaml_routes import check_yaml_routes
from schema.diagnostics import Diagnostic, InvalidFileError, Severity
from schema.documents import validate_document
from schema.loaded import LoadedIntegration, RouteDsl, RouteFile
from schema.properties_file import parse_properties
from schema.repo_files import RepoFiles
from schema.yaml_loader import YamlDocument, load_yaml

if TYPE_CHECKING:  # records serve when the caller asks (schema/records.py): no pydantic import
    from schema.models import Integration, SealedSecret
    from schema.models.integration import IntegrationSpec

INTEGRATION_FILE = "integration.yaml"
YAML_SUFFIXES = (".yaml", ".yml")
XML_SUFFIXES = (".xml",)


def _err(rel: str, message: str, pointer: str, code: str, doc: YamlDocument | None) -> Diagnostic:
    parts = [p for p in pointer.split("/") if p]
    line, col = doc.locate([int(p) if p.isdigit() else p for p in parts]) if doc else (0, 0)
    return Diagnostic(rel, line, col, Severity.ERROR, message, pointer, code)


@dataclass(frozen=True, slots=True)
class RepoContext:
    """What an integration may refer to: the project's environments and the sealed secrets."""

    catalog_version: str
    environments: frozenset[str] | None
    """None when camelops.yaml itself is invalid (references are then not checked)."""
    secrets: dict[str, SealedSecret]
    secret_files: frozenset[str] = frozenset()
    """Names of every secrets/*.sealed.yaml file, valid or not (broken ones are reported there)."""
    records: bool = False
    """Build records instead of models (see schema.documents)."""


def load_integration(
    files: RepoFiles, directory: str, context: RepoContext
) -> tuple[LoadedIntegration | None, list[Diagnostic], int]:
    rel = f"{directory}/{INTEGRATION_FILE}"
    dir_name = directory.rsplit("/", 1)[-1]
    if not files.exists(rel):
        message = f"missing {INTEGRATION_FILE} (kind: Integration) in {directory}"
        return None, [Diagnostic(rel, 0, 0, Severity.ERROR, message, code="repo-missing")], 0
    problems: list[Diagnostic] = []
    doc: YamlDocument | None = None
    model: Integration | None = None
    try:
        doc = load_yaml(files.read_text(rel), rel, files.limits)
        model, found = validate_document(doc, "Integration", records=context.records)
        problems += found
    except InvalidFileError as exc:
        problems += exc.diagnostics
    if model is not None and model.metadata.name != dir_name:
        problems.append(
            _err(
                rel,
                f"metadata.name '{model.metadata.name}' must match the directory name '{dir_name}'",
                "/metadata/name",
                "name-mismatch",
                doc,
            )
        )
    spec = model.spec if model is not None else _default_spec()
    routes, consumed, route_problems = _load_routes(
        files, directory, spec, context.catalog_version, doc
    )
    problems += route_problems
    routes_complete = not any(
        p.severity is Severity.ERROR and p.path != rel for p in route_problems
    )
    properties_text = _load_properties(files, directory, spec, doc, problems)
    problems += _check_build(files, directory, spec, doc)
    if routes and routes_complete:
        problems += _check_replay(rel, spec, consumed, doc)
    problems += _check_references(rel, spec, context, doc)
    if model is None or any(p.severity is Severity.ERROR for p in problems):
        return None, problems, 1 + len(routes)
    loaded = LoadedIntegration(
        model, directory, tuple(routes), properties_text, frozenset(consumed)
    )
    return loaded, problems, 1 + len(routes)


def _default_spec() -> IntegrationSpec:
    """The spec of an integration.yaml that is invalid: its files are still checked with it."""
    from schema.models.integration import IntegrationSpec  # noqa: PLC0415 (only when invalid)

    return IntegrationSpec()


def _load_routes(
    files: RepoFiles, directory: str, spec: IntegrationSpec, version: str, doc: YamlDocument | None
) -> tuple[list[RouteFile], set[str], list[Diagnostic]]:
    rel = f"{directory}/{INTEGRATION_FILE}"
    problems: list[Diagnostic] = []
    matched: list[str] = []
    for index, pattern in enumerate(spec.routes):
        bad = files.check_relative(pattern, directory)
        if bad:
            problems.append(_err(rel, bad, f"/spec/routes/{index}", "path", doc))
            continue
        matched += [m for m in files.glob(directory, pattern) if m not in matched]
    if not matched and not problems:
        globs = ", ".join(spec.routes)
        problems.append(
            _err(rel, f"no route files match {globs}", "/spec/routes", "routes-missing", doc)
        )
    catalog = load_catalog(version)
    kamelets, kamelet_problems = project_kamelets(files, directory)
    problems += kamelet_problems
    routes: list[RouteFile] = []
    consumed: set[str] = set()
    ids = IdIndex()
    for path in matched:
        bad_name = route_file_name_problem(path)
        if bad_name:
            problems.append(Diagnostic(path, 0, 0, Severity.ERROR, bad_name, code="routes-name"))
            continue
        try:
            text = files.read_text(path)
        except InvalidFileError as exc:
            problems += exc.diagnostics
            continue
        if path.endswith(XML_SUFFIXES):
            # imported here: lxml costs ~6 ms of start-up, and most repositories are all YAML
            from schema.camel.xml_routes import parse_xml, validate_xml_routes  # noqa: PLC0415

            found, from_uris = validate_xml_routes(path, text, catalog)
            problems += found
            consumed |= from_uris
            root, _ = parse_xml(path, text)
            if root is not None:
                ids.add_xml(path, root)
            routes.append(RouteFile(path, text, RouteDsl.XML))
        elif path.endswith(YAML_SUFFIXES):
            try:
                route_doc = load_yaml(text, path, files.limits)
            except InvalidFileError as exc:
                problems += exc.diagnostics
                continue
            found_problems, endpoints = check_yaml_routes(route_doc, catalog, kamelets)
            problems += found_problems
            consumed |= {e.uri for e in endpoints if e.consumer}
            ids.add_yaml(route_doc)
            routes.append(RouteFile(path, text, RouteDsl.YAML))
        else:
            problems.append(
                Diagnostic(
                    path,
                    0,
                    0,
                    Severity.ERROR,
                    "route files are YAML (.camel.yaml) or XML (.camel.xml)",
                    code="routes-type",
                )
            )
    problems += ids.check()
    return routes, consumed, problems


# Camel picks a route file's loader by everything after the FIRST dot of its name.
CAMEL_ROUTE_EXTENSIONS = ("yaml", "camel.yaml", "xml", "camel.xml")


def route_file_name_problem(path: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    stem, _, extension = name.partition(".")
    if extension in CAMEL_ROUTE_EXTENSIONS or not name.endswith(YAML_SUFFIXES + XML_SUFFIXES):
        return None
    if name.endswith(".yml"):
        fixed = name.removesuffix(".yml").removesuffix(".camel") + ".camel.yaml"
        return f"Camel loads no '.yml' route files (only .yaml): rename it to '{fixed}'"
    kind = "camel.xml" if name.endswith(".xml") else "camel.yaml"
    middle = extension.removesuffix(".xml").removesuffix(".yaml").removesuffix(".camel")
    fixed = f"{stem}-{middle.replace('.', '-')}.{kind}"
    return (
        f"Camel picks the route loader by everything after the first dot ('{extension}' here) "
        f"and finds none: rename it to '{fixed}'"
    )


def _load_properties(
    files: RepoFiles,
    directory: str,
    spec: IntegrationSpec,
    doc: YamlDocument | None,
    problems: list[Diagnostic],
) -> str | None:
    if spec.properties is None:
        return None
    rel = f"{directory}/{INTEGRATION_FILE}"
    bad = files.check_relative(spec.properties, directory)
    if bad:
        problems.append(_err(rel, bad, "/spec/properties", "path", doc))
        return None
    path = f"{directory}/{spec.properties}"
    if not files.exists(path):
        problems.append(
            _err(
                rel,
                f"properties file '{path}' not found",
                "/spec/properties",
                "properties-missing",
                doc,
            )
        )
        return None
    try:
        text = files.read_text(path)
    except InvalidFileError as exc:
        problems += exc.diagnostics
        return None
    problems += _check_server_port(path, text, spec)
    return text


# Camel Main's HTTP server port; the Service and probes target expose.port, so they must agree.
SERVER_PORT_KEYS = ("camel.server.port", "camel.main.server-port")


def _check_server_port(path: str, text: str, spec: IntegrationSpec) -> list[Diagnostic]:
    if spec.expose is None:
        return []
    properties = parse_properties(text)
    for key in SERVER_PORT_KEYS:
        value, line = properties.get(key, ("", 0))
        if value and value != str(spec.expose.port) and "{{" not in value:
            message = (
                f"{key} = {value} but expose.port is {spec.expose.port}: "
                "the Service would send traffic to a port Camel does not listen on"
            )
            return [Diagnostic(path, line, 1, Severity.ERROR, message, code="port-clash")]
    return []


def _check_build(
    files: RepoFiles, directory: str, spec: IntegrationSpec, doc: YamlDocument | None
) -> list[Diagnostic]:
    if spec.build is None:
        return []
    rel = f"{directory}/{INTEGRATION_FILE}"
    for value, pointer in (
        (spec.build.context, "/spec/build/context"),
        (spec.build.dockerfile, "/spec/build/dockerfile"),
    ):
        bad = files.check_relative(value, directory)
        if bad:
            return [_err(rel, bad, pointer, "path", doc)]
    context = f"{directory}/{spec.build.context}".rstrip("/.") or directory
    dockerfile = f"{context}/{spec.build.dockerfile}"
    if not files.exists(dockerfile):
        return [
            _err(
                rel,
                f"Dockerfile '{dockerfile}' not found",
                "/spec/build/dockerfile",
                "build-missing",
                doc,
            )
        ]
    return []


def _check_replay(
    rel: str, spec: IntegrationSpec, consumed: set[str], doc: YamlDocument | None
) -> list[Diagnostic]:
    endpoint = spec.replay.endpoint
    consumed = {_endpoint_key(u) for u in consumed}
    if endpoint is None or endpoint in consumed:
        return []
    candidates = sorted(u for u in consumed if u.startswith(("direct:", "seda:")))
    hint = suggest(endpoint, candidates) or (
        f" (consumed here: {', '.join(candidates)})" if candidates else ""
    )
    message = f"replay endpoint '{endpoint}' is not consumed by any route of this integration{hint}"
    return [_err(rel, message, "/spec/replay/endpoint", "replay-endpoint", doc)]


def _endpoint_key(uri: str) -> str:
    """'direct://orders?timeout=5' and 'direct:orders' name the same endpoint."""
    scheme, _, rest = uri.partition(":")
    return f"{scheme}:{rest.removeprefix('//').partition('?')[0]}"


def _check_references(
    rel: str, spec: IntegrationSpec, context: RepoContext, doc: YamlDocument | None
) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    if context.environments is not None:
        known = sorted(context.environments)
        for env in spec.environments:
            if env not in context.environments:
                message = f"no environment '{env}' in camelops.yaml{suggest(env, known)}"
                problems.append(_err(rel, message, f"/spec/environments/{env}", "env-unknown", doc))
    for index, ref in enumerate(spec.secrets):
        secret = context.secrets.get(ref.name)
        pointer = f"/spec/secrets/{index}/name"
        if secret is None and ref.name in context.secret_files:
            continue  # the file exists but is invalid; its own errors say why
        if secret is None:
            hint = suggest(ref.name, sorted(context.secrets))
            message = f"no sealed secret '{ref.name}' in secrets/{hint}"
            problems.append(_err(rel, message, pointer, "secret-unknown", doc))
            continue
        for variable, key in ref.env.items():
            if key not in secret.spec.encrypted_data:
                message = f"sealed secret '{ref.name}' has no key '{key}' (for {variable})"
                problems.append(
                    _err(rel, message, f"/spec/secrets/{index}/env/{variable}", "secret-key", doc)
                )
    return problems
