"""Load and validate a whole config repository: every file, every error at once, nothing partial.

`load_repository` is the one entry point: the CLI, the renderers' callers and the reconciler use it.
A repository with any error yields no project, so nothing half-valid can be rendered or shipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schema.camel.catalog import resolve_version
from schema.crossref import check_ingress_clashes, check_named_files, check_project
from schema.diagnostics import Diagnostic, InvalidFileError, Severity
from schema.documents import Kind, validate_document
from schema.integrations import RepoContext, load_integration
from schema.limits import DEFAULT_LIMITS, LoadLimits
from schema.loaded import LoadedIntegration, LoadedProject
from schema.model_rules import CAMEL_VERSION_PATTERN
from schema.repo_files import RepoFiles
from schema.yaml_loader import YamlDocument, load_yaml

if TYPE_CHECKING:
    from schema.models import EnvironmentFile, Project, SealedSecret

PROJECT_FILE = "camelops.yaml"
DEFAULT_CAMEL_VERSION = "4.18.4"


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """What loading found: every diagnostic, and the project only when no error."""

    project: LoadedProject | None
    diagnostics: tuple[Diagnostic, ...]
    files_checked: int = 0

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Collector:
    """The diagnostics and file count of one repository load, as it goes."""

    files: RepoFiles
    records: bool
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files_checked: int = 0

    def load_model(self, rel: str, kind: Kind) -> tuple[Any, YamlDocument | None]:
        self.files_checked += 1
        try:
            doc = load_yaml(self.files.read_text(rel), rel, self.files.limits)
        except InvalidFileError as exc:
            self.diagnostics += exc.diagnostics
            return None, None
        loaded, problems = validate_document(doc, kind, records=self.records)
        self.diagnostics += problems
        return loaded, doc

    def load_named(self, folder: str, suffix: str, kind: Kind) -> dict[str, Any]:
        """Files whose name must equal metadata.name (`environments/dev.yaml` holds `name: dev`)."""
        found: dict[str, Any] = {}
        for rel in self.files.list_dir(folder):
            if not rel.endswith(suffix):
                continue
            loaded, doc = self.load_model(rel, kind)
            if loaded is None:
                continue
            name = loaded.metadata.name
            expected = rel.rsplit("/", 1)[-1].removesuffix(suffix)
            if name != expected:
                line, col = doc.locate(("metadata", "name")) if doc else (0, 0)
                message = f"metadata.name '{name}' must match the file name '{expected}'"
                self.diagnostics.append(
                    Diagnostic(rel, line, col, Severity.ERROR, message, "/metadata/name", "name")
                )
                continue
            found[name] = loaded
        return found


def load_repository(
    root: Path,
    *,
    limits: LoadLimits = DEFAULT_LIMITS,
    environment: str | None = None,
    records: bool = False,
) -> ValidationReport:
    """`records`: build records, not pydantic models (same attributes; a one-shot reader's
    choice, see schema/records.py); a refused document is explained by pydantic either way."""
    files = RepoFiles(Path(root), limits)
    collector = _Collector(files, records)
    collector.diagnostics += files.survey()
    if any(d.code in ("repo-too-many-files", "repo-too-large") for d in collector.diagnostics):
        return ValidationReport(None, tuple(sorted(collector.diagnostics, key=_order)))
    project, project_doc = _load_project(collector)
    catalog_version = _catalog_version(project, collector)
    env_files: dict[str, EnvironmentFile] = collector.load_named(
        "environments", ".yaml", "Environment"
    )
    secrets: dict[str, SealedSecret] = collector.load_named(
        "secrets", ".sealed.yaml", "SealedSecret"
    )
    env_names = frozenset(e.name for e in project.spec.environments) if project else None
    secret_files = frozenset(
        rel.rsplit("/", 1)[-1].removesuffix(".sealed.yaml") for rel in files.list_dir("secrets")
    )
    context = RepoContext(catalog_version, env_names, secrets, secret_files, records)
    integrations = _load_integrations(collector, context)
    if project is not None:
        collector.diagnostics += check_project(project, project_doc, environment)
        collector.diagnostics += check_named_files(project, env_files, secrets)
    loaded = None
    if project is not None and not _has_errors(collector.diagnostics):
        loaded = LoadedProject(
            Path(root), project, tuple(integrations), env_files, secrets, catalog_version
        )
        collector.diagnostics += check_ingress_clashes(loaded, environment)
    diagnostics = tuple(sorted(set(collector.diagnostics), key=_order))
    if _has_errors(diagnostics):
        loaded = None
    return ValidationReport(loaded, diagnostics, collector.files_checked)


def _has_errors(diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


def _order(d: Diagnostic) -> tuple[str, int, int, str]:
    return (d.path, d.line, d.col, d.message)


def _load_project(collector: _Collector) -> tuple[Project | None, YamlDocument | None]:
    if collector.files.exists(PROJECT_FILE):
        return collector.load_model(PROJECT_FILE, "Project")
    message = "missing: a config repository has a camelops.yaml (kind: Project) at its root"
    collector.diagnostics.append(
        Diagnostic(PROJECT_FILE, 0, 0, Severity.ERROR, message, code="repo-missing")
    )
    return None, None


def _catalog_version(project: Project | None, collector: _Collector) -> str:
    requested = project.spec.camel.version if project else DEFAULT_CAMEL_VERSION
    if not re.fullmatch(CAMEL_VERSION_PATTERN, requested):
        requested = DEFAULT_CAMEL_VERSION
    version, warning = resolve_version(requested)
    if warning and project is not None:
        collector.diagnostics.append(
            Diagnostic(
                PROJECT_FILE, 0, 0, Severity.WARNING, warning, "/spec/camel/version", "camel"
            )
        )
    return version


def _load_integrations(collector: _Collector, context: RepoContext) -> list[LoadedIntegration]:
    integrations: list[LoadedIntegration] = []
    for directory in collector.files.list_dir("integrations"):
        if not collector.files.is_dir(directory):
            continue
        loaded, problems, checked = load_integration(collector.files, directory, context)
        collector.diagnostics += problems
        collector.files_checked += checked
        if loaded is not None:
            integrations.append(loaded)
    return integrations
