"""A one-shot command in a process of its own ends without tearing down what it loaded; what it
printed and its exit code are exactly those of the same command run in this process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from camelops.cli import COMMANDS, main
from tests.unit.renderers.repos import simple_files, write_repo

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "repo-layout"
# an atexit handler shows whether the process went through Python's ordinary exit
WITH_EXIT_HANDLER = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('ordinary exit', file=sys.stderr))\n"
    "{before}"
    "from camelops.cli import main\n"
    "sys.exit(main())\n"
)


def run_own_process(*args: str, before: str = "") -> subprocess.CompletedProcess[str]:
    script = WITH_EXIT_HANDLER.format(before=before)
    command = [sys.executable, "-c", script, *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)


def test_only_the_reading_commands_are_one_shot() -> None:
    """Daemons and commands that change state keep Python's exit (atexit, finalizers)."""
    assert sorted(name for name, c in COMMANDS.items() if c.one_shot) == [
        "diff",
        "render",
        "validate",
    ]


def test_render_prints_all_of_it_and_skips_the_teardown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ("render", str(EXAMPLE), "--env", "dev")
    assert main(list(args)) == 0
    in_process = capsys.readouterr().out
    assert len(in_process) > 16_384  # more than one buffer of a pipe's writer
    done = run_own_process(*args)
    assert (done.returncode, done.stdout, done.stderr) == (0, in_process, "")


def test_an_invalid_repository_keeps_its_exit_code_and_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = simple_files(spec="{replicas: many}")
    repo = write_repo(tmp_path, files)
    assert main(["validate", str(repo)]) == 1
    in_process = capsys.readouterr()
    assert "replicas" in in_process.out + in_process.err
    done = run_own_process("validate", str(repo))
    assert (done.returncode, done.stdout, done.stderr) == (1, in_process.out, in_process.err)


def test_under_a_tracer_or_a_profiler_the_process_exits_as_usual() -> None:
    """coverage and cProfile write their report at exit."""
    for hook in ("sys.settrace(lambda *a: None)\n", "sys.setprofile(lambda *a: None)\n"):
        done = run_own_process("validate", str(EXAMPLE), before=hook)
        assert done.returncode == 0, done.stderr
        assert done.stderr == "ordinary exit\n"


def test_other_commands_exit_as_usual() -> None:
    done = run_own_process("secret", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "ordinary exit\n"
