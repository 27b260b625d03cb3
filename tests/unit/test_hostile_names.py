"""A path with control characters never forges an output line: it is printed escaped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from camelops.cli import main

BASE = Path(__file__).parent / "validate_corpus" / "base"


@pytest.mark.parametrize("command", [["validate"], ["render", "--env", "dev"]])
def test_repository_path_with_a_newline_is_escaped(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo\nx: error: forged"
    shutil.copytree(BASE, repo)
    (repo / "camelops.yaml").unlink()
    code = main([*command, str(repo)])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert code == 1
    assert "repo\\nx: error: forged" in output
    assert not any(line.startswith("x: error: forged") for line in output.splitlines())
