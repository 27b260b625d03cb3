"""The `camelops validate` command as a user runs it: a real process, exit codes, both formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "repo-layout"


def camelops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "camelops", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_example_repository_is_valid_with_a_one_line_summary() -> None:
    result = camelops("validate", str(EXAMPLE))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert "valid — project shop, 3 integrations, 4 route files" in lines[0]


def test_json_output_for_ci(tmp_path: Path) -> None:
    broken = tmp_path / "repo"
    broken.mkdir()
    (broken / "camelops.yaml").write_text("kind: Project\nkind: Project\n")
    result = camelops("validate", str(broken), "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert report["errors"] == 1
    diagnostic = report["diagnostics"][0]
    assert diagnostic["path"] == "camelops.yaml"
    assert (diagnostic["line"], diagnostic["column"]) == (2, 1)
    assert diagnostic["message"].startswith("duplicate key 'kind'")


def test_env_filter_and_could_not_run(tmp_path: Path) -> None:
    assert camelops("validate", str(EXAMPLE), "--env", "prod").returncode == 0
    missing = camelops("validate", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert "not a directory" in missing.stderr
    bad_flag = camelops("validate", str(EXAMPLE), "--format", "xml")
    assert bad_flag.returncode == 2
    assert "invalid choice" in bad_flag.stderr
    assert "Traceback" not in missing.stderr + bad_flag.stderr
