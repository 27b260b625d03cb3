"""Checks that span files: environment names, per-environment files, ingress clashes."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from schema.camel.explain import suggest
from schema.diagnostics import Diagnostic, Severity
from schema.effective import effective_integration
from schema.loaded import LoadedIntegration, LoadedProject
from schema.yaml_loader import YamlDocument

if TYPE_CHECKING:
    from schema.models import EnvironmentFile, Project, SealedSecret

PROJECT_FILE = "camelops.yaml"


def _at(doc: YamlDocument | None, path: tuple[str | int, ...]) -> tuple[int, int]:
    return doc.locate(path) if doc else (0, 0)


def check_project(
    project: Project, doc: YamlDocument | None, environment: str | None
) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    seen_names: dict[str, int] = {}
    seen_targets: dict[tuple[str, str], str] = {}
    for index, env in enumerate(project.spec.environments):
        if env.name in seen_names:
            line, col = _at(doc, ("spec", "environments", index, "name"))
            problems.append(
                Diagnostic(
                    PROJECT_FILE,
                    line,
                    col,
                    Severity.ERROR,
                    f"environment '{env.name}' is defined twice",
                    f"/spec/environments/{index}/name",
                    "env-duplicate",
                )
            )
        seen_names[env.name] = index
        target = (env.runner, env.namespace)
        if target in seen_targets:
            line, col = _at(doc, ("spec", "environments", index, "namespace"))
            message = (
                f"environments '{seen_targets[target]}' and '{env.name}' both deploy to "
                f"namespace '{env.namespace}' on runner '{env.runner}'"
            )
            problems.append(
                Diagnostic(
                    PROJECT_FILE,
                    line,
                    col,
                    Severity.ERROR,
                    message,
                    f"/spec/environments/{index}/namespace",
                    "env-clash",
                )
            )
        seen_targets[target] = env.name
    if project.spec.previews.label:
        line, col = _at(doc, ("spec", "previews", "label"))
        message = (
            "previews.label is not evaluated yet (labels live in the Git host's API, which "
            "camelops does not call); every pull request matching the refs is previewed"
        )
        problems.append(
            Diagnostic(
                PROJECT_FILE,
                line,
                col,
                Severity.WARNING,
                message,
                "/spec/previews/label",
                "previews-label",
            )
        )
    if environment is not None and environment not in seen_names:
        hint = suggest(environment, list(seen_names)) or f" (known: {', '.join(seen_names)})"
        problems.append(
            Diagnostic(
                PROJECT_FILE,
                0,
                0,
                Severity.ERROR,
                f"--env {environment}: no such environment{hint}",
                "/spec/environments",
                "env-unknown",
            )
        )
    return problems


def check_named_files(
    project: Project,
    env_files: dict[str, EnvironmentFile],
    secrets: dict[str, SealedSecret],
) -> list[Diagnostic]:
    known = [env.name for env in project.spec.environments]
    problems = []
    for name in sorted(env_files):
        if name not in known:
            problems.append(
                Diagnostic(
                    f"environments/{name}.yaml",
                    0,
                    0,
                    Severity.ERROR,
                    f"no environment '{name}' in camelops.yaml{suggest(name, known)}",
                    "",
                    "env-unknown",
                )
            )
    for name, secret in sorted(secrets.items()):
        for env in secret.spec.environments:
            if env not in known:
                problems.append(
                    Diagnostic(
                        f"secrets/{name}.sealed.yaml",
                        0,
                        0,
                        Severity.ERROR,
                        f"no environment '{env}' in camelops.yaml{suggest(env, known)}",
                        "/spec/environments",
                        "env-unknown",
                    )
                )
    return problems


def check_ingress_clashes(project: LoadedProject, environment: str | None) -> list[Diagnostic]:
    """Two integrations may not claim the same host and path in one environment."""
    problems = []
    for env in project.project.spec.environments:
        if environment is not None and env.name != environment:
            continue
        claims: dict[tuple[str, str], list[LoadedIntegration]] = defaultdict(list)
        for integration in project.integrations:
            ingress = effective_integration(project, integration, env.name).ingress
            if ingress is not None and integration.model.spec.expose is not None:
                claims[(ingress.host, ingress.path)].append(integration)
        for (host, path), owners in sorted(claims.items()):
            if len(owners) > 1:
                names = ", ".join(o.name for o in owners)
                rel = f"{owners[-1].directory}/integration.yaml"
                problems.append(
                    Diagnostic(
                        rel,
                        0,
                        0,
                        Severity.ERROR,
                        f"environment '{env.name}': {names} all claim ingress {host}{path}",
                        "/spec/expose/ingress",
                        "ingress-clash",
                    )
                )
    return problems
