"""The CLI imports only what a command runs: `--help` and `validate` stay clear of the control
plane's stack (web server, state store, telemetry engine, Kubernetes client)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from camelops.cli import build_parser, chosen_command
from camelops.cli_support import PYDANTIC_PLUGIN_FINDER
from schema.derived_cache import ENV_DIR
from tests.unit.renderers.repos import simple_files, write_repo

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "repo-layout"
HEAVY = ("aiohttp", "sqlite_utils", "pandas", "chdb", "kubernetes", "clickhouse_connect", "pygit2")


def imported_packages(*args: str, exit_code: int = 0, cache: Path | None = None) -> set[str]:
    """Top-level packages a real `python -X importtime -m camelops ARGS` process imported
    (with `cache` as its derived cache directory when given)."""
    return {
        name.split(".", 1)[0] for name in imported_modules(*args, exit_code=exit_code, cache=cache)
    }


def imported_modules(*args: str, exit_code: int = 0, cache: Path | None = None) -> set[str]:
    """Modules (full names) a real `python -X importtime -m camelops ARGS` process imported."""
    env = {**os.environ, ENV_DIR: str(cache)} if cache is not None else None
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "camelops", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert result.returncode == exit_code, result.stderr[-2000:]
    names: set[str] = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert "camelops" in names, "no import trace: is -X importtime still honoured?"
    return names


@pytest.mark.parametrize(
    "args", [("--help",), ("validate", str(EXAMPLE))], ids=["help", "validate-example"]
)
def test_command_imports_none_of_the_heavy_packages(args: tuple[str, ...]) -> None:
    heavy = imported_packages(*args) & set(HEAVY)
    assert not heavy, f"camelops {' '.join(args)} imported {sorted(heavy)}"


def test_render_leaves_git_and_the_kubernetes_schema_checker_to_diff_and_strict() -> None:
    # pygit2 serves `diff` only, jsonschema (the Kubernetes OpenAPI check) `render --strict` only
    loaded = imported_packages("render", str(EXAMPLE), "--env", "prod")
    assert not loaded & {*HEAVY, "jsonschema", "jsonschema_rs", "kubernetes_validate"}, sorted(
        loaded & {*HEAVY, "jsonschema", "jsonschema_rs", "kubernetes_validate"}
    )
    assert "renderers" in loaded


def test_render_of_yaml_routes_leaves_lxml_to_xml_routes(tmp_path: Path) -> None:
    # lxml parses XML route files only; a repository of YAML routes never pays its import
    repo = write_repo(tmp_path / "repo", simple_files())
    assert "lxml" not in imported_packages("render", str(repo), "--env", "prod")
    # the example has an XML route: there it loads, and the command still succeeds
    assert "lxml" in imported_packages("render", str(EXAMPLE), "--env", "prod")


def test_a_valid_render_leaves_error_help_and_the_local_renderer_alone(tmp_path: Path) -> None:
    # difflib suggests fixes for mistakes; the local renderer serves environments of the local
    # target: neither loads for a valid repository rendered for Kubernetes
    repo = write_repo(tmp_path / "repo", simple_files())
    loaded = imported_modules("render", str(repo), "--env", "prod")
    assert "renderers.kubernetes.environment" in loaded
    assert not loaded & {"difflib", "renderers.local"}, sorted(
        loaded & {"difflib", "renderers.local"}
    )


def test_help_does_not_load_the_config_schema() -> None:
    # `--help` only lists commands: the pydantic models and YAML wait for a command that uses them
    loaded = imported_packages("--help") & {"pydantic", "yaml", "jsonschema", "schema"}
    assert not loaded, sorted(loaded)


def test_the_command_list_matches_what_each_command_registers() -> None:
    # `--help` prints the table in camelops.cli; the full parser prints each module's own help
    # lines: both must read the same, in the same order
    assert build_parser(()).format_help() == build_parser().format_help()


def test_a_command_line_names_its_command() -> None:
    assert chosen_command(["runner", "manifests", "--image", "x"]) == "runner"
    assert chosen_command(["--help"]) is None
    assert chosen_command(["bogus", "validate"]) is None


@pytest.mark.parametrize(
    "args",
    [("validate", str(EXAMPLE)), ("render", str(EXAMPLE), "--env", "prod")],
    ids=["validate", "render"],
)
def test_a_valid_repository_is_read_without_pydantic(args: tuple[str, ...]) -> None:
    # records (schema/records.py) stand in for the models; the first run may derive their plan
    imported_packages(*args)
    loaded = imported_packages(*args)
    assert not loaded & {"pydantic", "pydantic_core"}, sorted(
        loaded & {"pydantic", "pydantic_core"}
    )
    # neither the settings (these commands take none) nor shutil (argparse's width lookup)
    modules = imported_modules(*args)
    assert not modules & {"shutil", "camelops.settings"}, sorted(
        modules & {"shutil", "camelops.settings"}
    )


def test_validate_skips_pydantic_plugin_discovery(tmp_path: Path) -> None:
    # importlib.metadata (and email, zipfile, csv with it) only served pydantic's plugin finder;
    # an invalid document is worded by pydantic, so here the models are built
    repo = write_repo(tmp_path / "repo", simple_files())
    integration = next(repo.glob("integrations/*/integration.yaml"))
    text = integration.read_text()
    bounds = "spec: {autoscaling: {minReplicas: 3, maxReplicas: 2}}"
    integration.write_text(text.replace("spec: {}", bounds))
    assert integration.read_text() != text
    loaded = imported_packages("validate", str(repo), exit_code=1)
    assert "pydantic" in loaded
    assert not loaded & {"email", "zipfile", "csv"}, sorted(loaded & {"email", "zipfile", "csv"})


def test_pydantic_asks_its_plugin_finder_for_get_plugins_alone() -> None:
    # the CLI's stand-in finder (cli_support.without_pydantic_plugins) offers only get_plugins:
    # a pydantic that takes anything else from the finder must fail here, not in a user's run
    import pydantic  # noqa: PLC0415

    uses = set()
    for path in Path(pydantic.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("_loader"):
                uses |= {alias.name for alias in node.names}
            elif isinstance(node, ast.Import) and any(
                a.name == PYDANTIC_PLUGIN_FINDER for a in node.names
            ):
                uses.add("*")
    assert uses == {"get_plugins"}


def test_the_stand_in_finder_finds_no_plugins() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from camelops.cli_support import without_pydantic_plugins as w; w(); "
            "import pydantic\n"
            "class M(pydantic.BaseModel):\n    x: int\n"
            "print(M.model_validate({'x': 1}).x, type(M.__pydantic_validator__).__name__)",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert result.stdout.split() == ["1", "SchemaValidator"]


@pytest.mark.parametrize("own_process", [True, False])
def test_imports_load_uncollected_only_in_a_process_of_their_own(own_process: bool) -> None:
    script = (
        "import gc\n"
        "from camelops.cli_support import imports_uncollected\n"
        f"with imports_uncollected(own_process={own_process}):\n"
        "    paused = not gc.isenabled()\n"
        "    import schema.models\n"
        "print(paused, gc.isenabled(), gc.get_freeze_count() > 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.split() == [str(own_process), "True", str(own_process)]


def test_render_with_a_warm_derived_cache_writes_nothing_and_skips_tempfile() -> None:
    # tempfile serves cache writes and `diff`: a render whose derived entries exist needs neither
    imported_packages("render", str(EXAMPLE), "--env", "prod")  # warms the cache if cold
    assert "tempfile" not in imported_packages("render", str(EXAMPLE), "--env", "prod")
