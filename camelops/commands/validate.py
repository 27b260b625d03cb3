"""`camelops validate`: check a config repository like a compiler, all errors at once."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from camelops.cli_support import EXIT_ERROR, EXIT_INVALID, EXIT_OK, Subparsers
from schema.camel.catalog import CatalogMissingError
from schema.diagnostics import printable
from schema.limits import LoadLimits
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
    parser.add_argument(
        "--camel",
        action="store_true",
        help="also load every YAML route file with Camel's own YAML DSL loader (needs Java 17+ "
        "and `make camel-oracle`); its refusals are reported as errors",
    )
    add_limit_arguments(parser)
    parser.set_defaults(func=run)


def add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """Caps against hostile repositories; the defaults suit any real config repository."""
    defaults = LoadLimits()
    for flag, field, help_text in (
        ("--max-file-bytes", "max_file_bytes", "largest file read"),
        ("--max-repo-files", "max_repo_files", "most files in the repository"),
        ("--max-repo-bytes", "max_repo_bytes", "largest total repository size"),
        ("--max-yaml-nodes", "max_yaml_nodes", "most YAML nodes after alias expansion"),
    ):
        parser.add_argument(
            flag,
            dest=field,
            type=positive_int,
            default=getattr(defaults, field),
            help=f"{help_text} (default {getattr(defaults, field)})",
        )


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, found {value}")
    return value


def limits_from(args: argparse.Namespace) -> LoadLimits:
    return replace(
        LoadLimits(),
        max_file_bytes=args.max_file_bytes,
        max_repo_files=args.max_repo_files,
        max_repo_bytes=args.max_repo_bytes,
        max_yaml_nodes=args.max_yaml_nodes,
    )


def run(args: argparse.Namespace) -> int:
    root: Path = args.path
    if not root.is_dir():
        print(f"camelops validate: {printable(str(root))}: not a directory", file=sys.stderr)
        return EXIT_ERROR
    try:
        report = load_repository(root, limits=limits_from(args), environment=args.env, records=True)
    except CatalogMissingError as exc:
        print(f"camelops validate: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.camel:
        # only here: the JVM harness's module pulls in subprocess and threading
        from schema.camel.oracle import OracleUnavailableError  # noqa: PLC0415
        from schema.camel_check import with_camel_verdicts  # noqa: PLC0415

        try:
            report = with_camel_verdicts(root, report, limits_from(args))
        except OracleUnavailableError as exc:
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
        return f"{printable(str(root))}: invalid ({counts} in {report.files_checked} files)"
    project = report.project
    routes = sum(len(i.routes) for i in project.integrations)
    envs = ", ".join(e.name for e in project.project.spec.environments)
    return (
        f"{printable(str(root))}: valid — project {project.name}, "
        f"{len(project.integrations)} integrations, {routes} route files, "
        f"environments {envs}, Camel {project.catalog_version} ({counts})"
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
