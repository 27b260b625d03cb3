"""Every code block of README.md and docs/operations.md is either run, checked or marked.

- `<!-- run -->` before a block: its commands are run for real (bash -e, in a scratch
  directory that sees the repository's `examples/`, with `.venv/bin` first on PATH) and must
  exit 0. For blocks that need nothing running.
- a `sh` block without a marker needs a running platform (serve, runner, a cluster): every
  `camelops ...` command in it is parsed by the real `camelops` parser (command, sub-command,
  flags, required options, choices) and every `make TARGET` must be a Makefile target.
- `<!-- illustrative -->` before a block: output or a sketch, not commands; skipped.
Any other block fails the test: a new block must choose.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from camelops.cli import build_parser

ROOT = Path(__file__).resolve().parents[3]
DOCUMENTS = ("README.md", "docs/operations.md")
FENCE = re.compile(r"^\s*```(\w*)\s*$")
MARKER = re.compile(r"^<!--\s*(run|illustrative)\s*-->$")
# `$(cat file)`-style substitutions that are not camelops commands stand for one value
OTHER_SUBSTITUTION = re.compile(r"\$\((?!\s*(?:\.venv/bin/)?camelops\b)[^()]*\)")
CAMELOPS = re.compile(r"(?:^|[\s(|;&])(?:\S*/)?camelops\s+([^|;&)\n]*)")
MAKE = re.compile(r"(?:^|[\s;&|])make\s+([A-Za-z0-9_.-]+)")


@dataclass(frozen=True)
class Block:
    document: str
    line: int
    language: str
    marker: str
    text: str

    def __str__(self) -> str:
        return f"{self.document}:{self.line}"


def blocks_of(document: str) -> list[Block]:
    lines = (ROOT / document).read_text().splitlines()
    found, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if FENCE.match(lines[i]))
        before = next((lines[i].strip() for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        marked = MARKER.match(before)
        body = "\n".join(lines[index + 1 : end])
        found.append(
            Block(document, index + 1, opening.group(1), marked.group(1) if marked else "", body)
        )
        index = end + 1
    return found


ALL_BLOCKS = [block for document in DOCUMENTS for block in blocks_of(document)]


def logical_lines(text: str) -> list[str]:
    """Continuation lines joined, comments (`#` at the start or after a space) dropped,
    substitutions of other commands replaced by one word."""
    joined = re.sub(r"\\\n\s*", " ", text)
    stripped = (re.sub(r"(^|\s)#.*$", "", line) for line in joined.splitlines())
    return [OTHER_SUBSTITUTION.sub("VALUE", line) for line in stripped if line.strip()]


def camelops_commands(block: Block) -> list[list[str]]:
    return [
        shlex.split(match.group(1))
        for line in logical_lines(block.text)
        for match in CAMELOPS.finditer(line)
    ]


def parse_error(words: list[str]) -> str | None:
    """What the real parser says about `camelops WORDS`, or None when it accepts them."""
    parser = build_parser()
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
        try:
            parser.parse_args(words)
        except SystemExit as exc:
            return None if exc.code == 0 else errors.getvalue().strip().splitlines()[-1]
        except argparse.ArgumentError as exc:
            return str(exc)
    return None


def make_targets() -> set[str]:
    pattern = re.compile(r"^([A-Za-z0-9_.-]+):(?!=)", re.MULTILINE)
    return set(pattern.findall((ROOT / "Makefile").read_text()))


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=str)
def test_every_block_is_run_checked_or_marked(block: Block) -> None:
    assert block.marker or block.language in ("sh", "bash"), (
        f"{block}: a ```{block.language} block must be a sh block (checked) or follow "
        "<!-- run --> or <!-- illustrative -->"
    )


CHECKED = [b for b in ALL_BLOCKS if b.marker != "illustrative"]


@pytest.mark.parametrize("block", CHECKED, ids=str)
def test_documented_commands_parse_and_make_targets_exist(block: Block) -> None:
    for words in camelops_commands(block):
        error = parse_error(words)
        assert error is None, f"{block}: `camelops {' '.join(words)}`: {error}"
    targets = make_targets()
    for line in logical_lines(block.text):
        for target in MAKE.findall(line):
            assert target in targets, f"{block}: `make {target}`: no such Makefile target"


RUN = [b for b in ALL_BLOCKS if b.marker == "run"]


@pytest.mark.parametrize("block", RUN, ids=str)
def test_runnable_blocks_run(block: Block, tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMELOPS_")}
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block.text],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, f"{block}: exit {done.returncode}\n{done.stderr[-2000:]}"


def test_the_checks_can_fail() -> None:
    """The checker itself: a wrong flag, a missing required option, an unknown target."""
    assert parse_error(["runner", "manifests", "--bogus"]) is not None
    assert parse_error(["secret", "seal", "--project", "p"]) is not None  # no key source
    assert parse_error(["validate", "examples/repo-layout"]) is None
    sample = Block("x.md", 1, "sh", "", "TOKEN=$(camelops token create --runner r)\nmake nope\n")
    assert camelops_commands(sample) == [["token", "create", "--runner", "r"]]
    assert "nope" not in make_targets()
    assert RUN, "at least one block is run for real"
    assert CHECKED, "blocks are checked"
