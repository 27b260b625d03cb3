"""Repository file access: globbing, caps, escapes and encodings, on real files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from schema.diagnostics import InvalidFileError
from schema.limits import LoadLimits
from schema.repo_files import RepoFiles


def make(root: Path, files: dict[str, str]) -> RepoFiles:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return RepoFiles(root, LoadLimits())


def test_glob_simple_and_recursive(tmp_path: Path) -> None:
    repo = make(
        tmp_path,
        {"i/routes/a.camel.yaml": "", "i/routes/b.camel.xml": "", "i/routes/sub/c.camel.yaml": ""},
    )
    assert repo.glob("i", "routes/*.camel.yaml") == ["i/routes/a.camel.yaml"]
    assert repo.glob("i", "routes/**/*.camel.yaml") == [
        "i/routes/a.camel.yaml",
        "i/routes/sub/c.camel.yaml",
    ]
    assert repo.glob("i", "missing/*.yaml") == []


@pytest.mark.parametrize("pattern", ["**/*.kamelet.yaml", "**/*", "**/[ab]?.yaml", "**/.h*"])
def test_any_depth_glob_finds_what_pathlib_finds(tmp_path: Path, pattern: str) -> None:
    """`**/<name>` is walked without pathlib: pathlib's glob (less its directories) is the
    oracle, on hidden files and folders, symlinked files and folders, dangling links and
    folders named like the files sought."""
    repo = make(
        tmp_path,
        {
            "i/a.kamelet.yaml": "",
            "i/ab.yaml": "",
            "i/.hidden.kamelet.yaml": "",
            "i/.h/deep/b1.yaml": "",
            "i/x/y/z/c.kamelet.yaml": "",
            "i/x/notes.txt": "",
            "i/dir.kamelet.yaml/inside.kamelet.yaml": "",
            "elsewhere/e.kamelet.yaml": "",
        },
    )
    os.symlink(tmp_path / "elsewhere", tmp_path / "i" / "linked")
    os.symlink(tmp_path / "i" / "ab.yaml", tmp_path / "i" / "x" / "ac.yaml")
    os.symlink(tmp_path / "missing", tmp_path / "i" / "x" / "dangling.kamelet.yaml")
    base = tmp_path / "i"
    found = (p for p in base.glob(pattern) if not p.is_dir())
    expected = sorted("i/" + p.relative_to(base).as_posix() for p in found)
    assert expected  # the tree holds matches for every pattern
    assert repo.glob("i", pattern) == expected
    assert repo.glob("absent", pattern) == []


def test_symlink_inside_is_fine_outside_is_refused(tmp_path: Path) -> None:
    repo_root = tmp_path / "repo"
    repo = make(repo_root, {"a.yaml": "x: 1\n"})
    os.symlink(repo_root / "a.yaml", repo_root / "inside.yaml")
    os.symlink(tmp_path, repo_root / "outside")
    problems = repo.survey()
    assert [p.format_text() for p in problems] == [
        "outside: error: symlink points outside the repository"
    ]
    assert repo.read_text("inside.yaml") == "x: 1\n"
    (tmp_path / "secret.txt").write_text("token")
    with pytest.raises(InvalidFileError, match="outside the repository"):
        repo.read_text("outside/secret.txt")


def test_bom_is_dropped_and_bad_bytes_are_located(tmp_path: Path) -> None:
    repo = make(tmp_path, {})
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbfa: 1\n")
    (tmp_path / "latin1.yaml").write_bytes(b"a: 1\nb: caf\xe9\n")
    assert repo.read_text("bom.yaml") == "a: 1\n"
    with pytest.raises(InvalidFileError) as caught:
        repo.read_text("latin1.yaml")
    assert caught.value.diagnostics[0].format_text().startswith("latin1.yaml:2:7: error: not valid")


def test_relative_paths_from_repo_files(tmp_path: Path) -> None:
    repo = make(tmp_path, {})
    assert repo.check_relative("routes/*.yaml", "i") is None
    assert repo.check_relative("../x", "i") == "path '../x' must not contain '..'"
    assert repo.check_relative("/etc/passwd", "i") == "path '/etc/passwd' must be relative to i"
    assert repo.check_relative("a\\b", "i") == "path 'a\\b' must be relative to i"
