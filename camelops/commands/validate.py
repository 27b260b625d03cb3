"""`camelops validate`: check a config repository like a compiler, all errors at once."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from camelops.cli_support import EXIT_ERROR, EXIT_INVALID, EXIT_OK, Subparsers
from schema.camel.catalog import CatalogMissingError
from schema.repository import ValidationReport, load_repository


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="validate a config repository (exit 0 valid, 1 invalid, 2 could not run)",
        description="Validate camelops.yaml, integrations, routes (Camel YAML/XML DSL against the "
        "pinned Camel catalog), environments and sealed secrets.",
    )
    parser.add_argument("path", nargs="?", default=".", type=Path, help="repository root")
    parser.add_argument("--env", help="check only what this environment needs")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    root: Path = args.path
    if not root.is_dir():
        print(f"camelops validate: {root}: not a directory", file=sys.stderr)
        return EXIT_ERROR
    try:
        report = load_repository(root, environment=args.env)
    except CatalogMissingError as exc:
        print(f"camelops validate: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.format == "json":
        print(json.dumps(as_json(root, report), indent=2, sort_keys=True))
    else:
        for diagnostic in report.diagnostics:
            print(diagnostic.format_text())
        print(summary(root, report))
    return EXIT_OK if report.ok else EXIT_INVALID


def summary(root: Path, report: ValidationReport) -> str:
    errors, warnings = len(report.errors), len(report.warnings)
    counts = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
    if report.project is None:
        return f"{root}: invalid ({counts} in {report.files_checked} files)"
    project = report.project
    routes = sum(len(i.routes) for i in project.integrations)
    envs = ", ".join(e.name for e in project.project.spec.environments)
    return (
        f"{root}: valid — project {project.name}, {len(project.integrations)} integrations, "
        f"{routes} route files, environments {envs}, Camel {project.catalog_version} ({counts})"
    )


def as_json(root: Path, report: ValidationReport) -> dict[str, object]:
    return {
        "path": str(root),
        "valid": report.ok,
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "filesChecked": report.files_checked,
        "diagnostics": [d.as_json() for d in report.diagnostics],
    }
