"""`camelops ... | head`: a reader that leaves early ends the command quietly, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from camelops.cli_support import EXIT_BROKEN_PIPE

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "repo-layout"


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "--format", "json", str(EXAMPLE)],
        ["validate", str(EXAMPLE)],
        ["render", "--env", "prod", str(EXAMPLE)],
    ],
    ids=["validate-json", "validate-text", "render"],
)
def test_a_closed_pipe_ends_the_command_quietly(args: list[str]) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "camelops", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()  # the reader is gone before the first line (it is importing)
        stderr = process.stderr.read().decode()
        code = process.wait(timeout=120)
    assert "Traceback" not in stderr, stderr
    assert "BrokenPipeError" not in stderr, stderr
    assert code == EXIT_BROKEN_PIPE, stderr
