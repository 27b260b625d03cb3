"""`camelops validate --camel`: Camel's own YAML DSL loader judges every YAML route file too.

The route files of each integration go to the loader together (one CamelContext, as at run time);
each file Camel refuses becomes an error at the line Camel names.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from schema.camel.oracle import judge
from schema.diagnostics import Diagnostic, InvalidFileError, Severity, hostile_char
from schema.integrations import INTEGRATION_FILE, YAML_SUFFIXES
from schema.limits import LoadLimits
from schema.repo_files import RepoFiles
from schema.repository import ValidationReport
from schema.yaml_loader import load_yaml

DEFAULT_ROUTES = ("routes/*.camel.yaml",)


def route_groups(files: RepoFiles) -> list[list[str]]:
    """Repository-relative YAML route files, one list per integration."""
    groups = []
    for directory in files.list_dir("integrations"):
        if not files.is_dir(directory):
            continue
        patterns = _route_patterns(files, f"{directory}/{INTEGRATION_FILE}")
        found: list[str] = []
        for pattern in patterns:
            if files.check_relative(pattern, directory) is None:
                found += [m for m in files.glob(directory, pattern) if m not in found]
        # names with control characters are refused by the survey and never reach the JVM
        group = [
            f
            for f in found
            if f.endswith(YAML_SUFFIXES) and files.exists(f) and hostile_char(f) is None
        ]
        if group:
            groups.append(group)
    return groups


def _route_patterns(files: RepoFiles, rel: str) -> tuple[str, ...]:
    try:
        data = load_yaml(files.read_text(rel), rel, files.limits).data
    except InvalidFileError:
        return DEFAULT_ROUTES
    spec = data.get("spec") if isinstance(data, dict) else None
    routes = spec.get("routes") if isinstance(spec, dict) else None
    if isinstance(routes, list) and all(isinstance(r, str) for r in routes):
        return tuple(routes)
    return DEFAULT_ROUTES


def with_camel_verdicts(
    root: Path, report: ValidationReport, limits: LoadLimits
) -> ValidationReport:
    files = RepoFiles(root, limits)
    groups = route_groups(files)
    absolute = {str((root / rel).resolve()): rel for group in groups for rel in group}
    verdicts = judge([[root / rel for rel in group] for group in groups])
    found: list[Diagnostic] = []
    for verdict in verdicts.values():
        rel = absolute.get(str(Path(verdict.path).resolve()), verdict.path)
        if verdict.accepted:
            continue
        message = verdict.message.replace(f"file:{verdict.path}", rel).replace(verdict.path, rel)
        message = re.sub(r"\s+", " ", message).strip()
        found.append(
            Diagnostic(
                rel,
                verdict.line,
                verdict.col,
                Severity.ERROR,
                f"Camel's YAML loader refuses this file: {message}",
                code="camel-loader",
            )
        )
    diagnostics = tuple(sorted({*report.diagnostics, *found}, key=lambda d: (d.path, d.line)))
    project = report.project if not found else None
    return replace(report, project=project, diagnostics=diagnostics)
