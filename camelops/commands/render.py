"""`camelops render` and `camelops diff`: the manifests an environment gets, and what a change
does to them (Kubernetes objects and Camel routes). Neither ever shows a secret value."""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from camelops.cli_support import EXIT_ERROR, EXIT_INVALID, EXIT_OK, Subparsers
from camelops.commands.validate import add_limit_arguments, limits_from
from renderers import (
    OutputFormat,
    RenderError,
    UnknownEnvironmentError,
    render_files,
    to_stream,
)
from renderers.kubernetes import KUBERNETES_MINOR
from renderers.kubernetes.environment import PREVIEW_NAME
from renderers.targets import environment_target, render_target
from schema.camel.catalog import CatalogMissingError
from schema.diagnostics import printable
from schema.limits import LoadLimits
from schema.loaded import LoadedProject
from schema.model_rules import Target
from schema.repository import load_repository

if TYPE_CHECKING:  # the diff modules load only when `diff` runs, not for every `render`
    from renderers.diff import ObjectChange
    from renderers.report import DiffReport


class CommandError(Exception):
    """Could not run (exit 2): the message says why."""


class InvalidInputError(Exception):
    """The input is wrong (exit 1): the message says what to fix."""


def register(subparsers: Subparsers) -> None:
    render = subparsers.add_parser(
        "render",
        help="render an environment's manifests for its target (Secret values masked)",
        description="Render the objects of one environment (or a preview pr-<n>) for its "
        "`target`: Kubernetes objects, or CamelProcess objects for the local target.",
    )
    render.add_argument("path", nargs="?", default=".", type=Path, help="repository root")
    render.add_argument("--env", required=True, help="environment name, or pr-<n> for a preview")
    render.add_argument(
        "-o",
        "--output",
        type=Path,
        help="write <kind>-<name> files here "
        "(an empty or absent directory); default: one stream on stdout",
    )
    render.add_argument("--format", choices=[f.value for f in OutputFormat], default="yaml")
    render.add_argument(
        "--strict",
        action="store_true",
        help=f"also check every object against the Kubernetes {KUBERNETES_MINOR} OpenAPI schema",
    )
    render.add_argument(
        "--local-runner",
        action="append",
        default=[],
        metavar="RUNNER",
        help="as `serve --local-runner`: an environment of this runner that declares no "
        "`target` renders for the local target",
    )
    add_limit_arguments(render)
    render.set_defaults(func=run_render)

    diff = subparsers.add_parser(
        "diff",
        help="diff two git revisions: objects and Camel routes (exit 0 same, 1 differ, 2 error)",
        description="Render both revisions of the repository at PATH and show what changes: a "
        "Camel-level summary per integration, then a unified diff per object.",
    )
    diff.add_argument("path", nargs="?", default=".", type=Path, help="git repository")
    diff.add_argument("--base", required=True, help="base revision (branch, tag, commit)")
    diff.add_argument("--head", required=True, help="head revision")
    diff.add_argument("--env", help="only this environment (default: every environment)")
    diff.add_argument("--format", choices=("text", "json"), default="text")
    add_limit_arguments(diff)
    diff.set_defaults(func=run_diff)


def run_render(args: argparse.Namespace) -> int:
    try:
        with collector_paused():
            return _render(args)
    except CommandError as exc:
        print(f"camelops render: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except InvalidInputError as exc:
        print(f"camelops render: {exc}", file=sys.stderr)
        return EXIT_INVALID


def _render(args: argparse.Namespace) -> int:
    project = load_valid(args.path, args.env, limits_from(args))
    target = environment_target(project, args.env, args.local_runner)
    try:
        objects = render_target(project, args.env, target)
    except UnknownEnvironmentError as exc:
        raise InvalidInputError(exc.args[0]) from None
    except RenderError as exc:
        raise InvalidInputError(str(exc)) from None
    if args.strict and target is not Target.KUBERNETES:
        raise InvalidInputError(f"--strict checks Kubernetes objects; {args.env} is for {target}")
    if args.strict:
        # imported here: the Kubernetes schema check (jsonschema) is only for --strict
        from renderers.kubernetes.kube_schema import check_objects  # noqa: PLC0415

        problems = check_objects(objects)
        for problem in problems:
            print(f"schema: {problem.format_text()}", file=sys.stderr)
        if problems:
            raise InvalidInputError(f"{len(problems)} object(s) fail the Kubernetes schema")
    fmt = OutputFormat(args.format)
    if args.output is None:
        sys.stdout.write(to_stream(objects, fmt))
        return EXIT_OK
    write_files(args.output, render_files(objects, fmt))
    print(f"{len(objects)} objects written to {args.output}", file=sys.stderr)
    return EXIT_OK


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Rendering builds plain trees (dicts, lists, strings) that reference counting frees; the
    cyclic collector would only rescan them as they pile up: ~20% of render + YAML at 12,000
    objects. Paused for the whole command (the load below freezes what it loaded as well)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def loaded_graph_frozen() -> Iterator[None]:
    """Load with the cyclic collector paused, then freeze what was loaded: the project keeps
    ~7 YAML nodes per rendered object for error locations, and every collection the render
    triggers would rescan them all (cost per object growing with the repository). Frozen, they
    are never scanned again; this process ends after one command."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def load_valid(path: Path, env: str | None, limits: LoadLimits) -> LoadedProject:
    if not path.is_dir():
        raise CommandError(f"{printable(str(path))}: not a directory")
    # previews are not declared environments: validate the repository as a whole
    check_env = None if env is None or PREVIEW_NAME.match(env) else env
    try:
        with loaded_graph_frozen():
            report = load_repository(path, limits=limits, environment=check_env, records=True)
    except CatalogMissingError as exc:
        raise CommandError(str(exc)) from None
    if report.project is None:
        for diagnostic in report.errors:
            print(diagnostic.format_text(), file=sys.stderr)
        shown = printable(str(path))
        raise InvalidInputError(f"{shown}: invalid ({len(report.errors)} errors); nothing rendered")
    return report.project


def write_files(directory: Path, files: dict[str, str]) -> None:
    """Only into an empty directory: stale files from another rendering would read as objects."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise CommandError(f"{directory}: not an empty directory")
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")


def run_diff(args: argparse.Namespace) -> int:
    try:
        report = build_diff(args.path, args.base, args.head, args.env, limits_from(args))
    except (CommandError, InvalidInputError, RenderError) as exc:
        print(f"camelops diff: {exc}", file=sys.stderr)
        return EXIT_ERROR
    text = report.format_json() if args.format == "json" else report.format_text()
    sys.stdout.write(text)
    return EXIT_INVALID if report.has_changes else EXIT_OK


def build_diff(
    path: Path, base_ref: str, head_ref: str, env: str | None, limits: LoadLimits
) -> DiffReport:
    import tempfile  # noqa: PLC0415 (`diff` only)

    from renderers.camel_diff import camel_diff  # noqa: PLC0415 (`diff` only)
    from renderers.diff import diff_objects  # noqa: PLC0415
    from renderers.report import DiffReport  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="camelops-diff-") as tmp:
        base, base_id = _load_revision(path, base_ref, Path(tmp) / "base", limits)
        head, head_id = _load_revision(path, head_ref, Path(tmp) / "head", limits)
    envs = [env] if env else sorted(_environments(base) | _environments(head))
    objects: dict[str, list[ObjectChange]] = {
        name: diff_objects(_render_or_empty(base, name), _render_or_empty(head, name))
        for name in envs
    }
    label = f"{base_ref} ({base_id[:12]})", f"{head_ref} ({head_id[:12]})"
    return DiffReport(label[0], label[1], camel_diff(base, head), objects)


def _load_revision(
    path: Path, ref: str, dest: Path, limits: LoadLimits
) -> tuple[LoadedProject, str]:
    # imported here: git (pygit2) is only for `diff`, not for every `render`
    from reconciler.git import GitExportError, export_revision  # noqa: PLC0415

    try:
        commit = export_revision(path, ref, dest)
    except GitExportError as exc:
        raise CommandError(str(exc)) from None
    try:
        project = load_valid(dest, None, limits)
    except InvalidInputError as exc:
        raise InvalidInputError(f"revision {ref} is invalid: {exc}") from None
    return project, commit


def _environments(project: LoadedProject) -> set[str]:
    return {e.name for e in project.project.spec.environments}


def _render_or_empty(project: LoadedProject, env: str) -> list[dict[str, object]]:
    """An environment absent from one revision renders as nothing there."""
    try:
        return render_target(project, env, environment_target(project, env))
    except UnknownEnvironmentError:
        return []
