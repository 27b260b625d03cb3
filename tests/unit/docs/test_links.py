"""README.md and docs/*.md link only to files inside the repository that exist, at headings
that exist, name no path that leaves the repository, and every source file or directory they
name in a code span (`reconciler/pipeline.py`, `runner/drivers/local/`) exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"\]\(([^)\s]+)\)")
# a code span that is only an upward path names a file (inside a command it is relative to
# wherever that command runs)
UPWARD = re.compile(r"`((?:\.\./)+[\w./-]+)`")


# a code span naming a repository path: a top-level directory, then a .py/.md/.sh file or a
# directory (trailing slash); data-dir paths (`tunnel/key.pem`) have other suffixes
CODE_PATH = re.compile(r"`([a-z_]+/[\w./-]*(?:\.py|\.md|\.sh|/))`")


def anchors(document: Path) -> set[str]:
    """GitHub's heading ids: lower case, punctuation but '-' and '_' dropped, spaces to '-'."""
    found = set()
    for heading in re.findall(r"^#+\s+(.+)$", document.read_text(), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def inside_repository(path: Path) -> bool:
    return path.resolve().is_relative_to(ROOT)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_in_the_repository_and_resolve(document: Path) -> None:
    text = document.read_text()
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path_part, _, anchor = target.partition("#")
        linked = (document.parent / path_part) if path_part else document
        assert inside_repository(linked), f"{document.name}: {target} leaves the repository"
        assert linked.exists(), f"{document.name}: {target} does not exist"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{document.name}: no heading #{anchor} in {target}"
    for upward in UPWARD.findall(text):
        # relative to the document or to the repository's root: both must stay inside
        for base in (document.parent, ROOT):
            assert inside_repository(base / upward), (
                f"{document.name}: `{upward}` names a path outside the repository"
            )


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_source_paths_named_in_the_docs_exist(document: Path) -> None:
    top_level = {p.name for p in ROOT.iterdir() if p.is_dir()}
    for named in CODE_PATH.findall(document.read_text()):
        if named.split("/", 1)[0] in top_level:
            assert (ROOT / named).exists(), f"{document.name}: `{named}` does not exist"


def test_the_checks_can_fail() -> None:
    assert not inside_repository(ROOT / "../shared/ARCHITECTURE.md")
    assert "a-runner-without-kubernetes-camelops-runner---driver-local" in anchors(
        ROOT / "docs" / "operations.md"
    )
    assert CODE_PATH.findall("`reconciler/gone.py` `tunnel/key.pem` `runner/drivers/`") == [
        "reconciler/gone.py",
        "runner/drivers/",
    ]
    assert UPWARD.findall("see `../shared/X.md` and `cd a && ../y`") == ["../shared/X.md"]
