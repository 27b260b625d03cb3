"""`camelops render` / `camelops diff` on real files and real git repositories, and the
revision export behind them (reconciler.git), including hostile trees."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from camelops.cli import main
from reconciler.git import ExportLimits, GitExportError, export_revision
from tests.unit.renderers.repos import CIPHER_A, CIPHER_B, ROUTE, sealed, simple_files, write_repo

REPO_ROOT = Path(__file__).resolve().parents[3]


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    )
    return done.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    return root


# --- export_revision -----------------------------------------------------------------------


def test_export_writes_the_tree_and_returns_the_commit(repo: Path, tmp_path: Path) -> None:
    (repo / "dir").mkdir()
    (repo / "dir" / "a.txt").write_text("one")
    (repo / "run.sh").write_text("#!/bin/sh\n")
    (repo / "run.sh").chmod(0o755)
    os.symlink("dir/a.txt", repo / "link")
    first = commit_all(repo, "one")
    (repo / "dir" / "a.txt").write_text("two")
    commit_all(repo, "two")
    dest = tmp_path / "out"
    assert export_revision(repo, "HEAD~1", dest) == first
    assert (dest / "dir" / "a.txt").read_text() == "one"
    assert os.readlink(dest / "link") == "dir/a.txt"
    assert os.access(dest / "run.sh", os.X_OK)
    assert not (dest / ".git").exists()


@pytest.mark.parametrize(
    "target", ["/etc/passwd", "../outside", "dir/../../outside", "dir/x/../../../y", ".git/config"]
)
def test_export_refuses_links_that_leave_the_tree(repo: Path, tmp_path: Path, target: str) -> None:
    (repo / "dir").mkdir()
    (repo / "dir" / "keep").write_text("k")
    os.symlink(target, repo / "evil")
    commit_all(repo, "evil link")
    with pytest.raises(GitExportError, match="leaves the repository"):
        export_revision(repo, "HEAD", tmp_path / "out")


def test_export_allows_links_climbing_real_directories(repo: Path, tmp_path: Path) -> None:
    (repo / "a" / "b").mkdir(parents=True)
    (repo / "top.txt").write_text("t")
    os.symlink("../../top.txt", repo / "a" / "b" / "up")
    commit_all(repo, "ok link")
    export_revision(repo, "HEAD", tmp_path / "out")
    assert (tmp_path / "out" / "a" / "b" / "up").read_text() == "t"


def test_export_caps_file_sizes(repo: Path, tmp_path: Path) -> None:
    (repo / "big.bin").write_bytes(b"x" * 2048)
    commit_all(repo, "big")
    with pytest.raises(GitExportError, match="the limit is 1024"):
        export_revision(repo, "HEAD", tmp_path / "out", ExportLimits(max_file_bytes=1024))
    with pytest.raises(GitExportError, match="more than 100 bytes"):
        export_revision(repo, "HEAD", tmp_path / "o2", ExportLimits(max_total_bytes=100))


@pytest.mark.parametrize("name", ["..", ".git", "a\\b"])
def test_export_refuses_hostile_tree_entries(repo: Path, tmp_path: Path, name: str) -> None:
    """git itself never writes such trees, but `git mktree` (or a hostile server) can."""
    blob = subprocess.run(
        ["git", "-C", str(repo), "hash-object", "-w", "--stdin"],
        input="x",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tree = subprocess.run(
        ["git", "-C", str(repo), "mktree"],
        input=f"100644 blob {blob}\t{name}\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    commit = git(repo, "commit-tree", tree, "-m", "evil")
    with pytest.raises(GitExportError, match="refusing"):
        export_revision(repo, commit, tmp_path / "out")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("ref", ["nope", "HEAD~5", "", "-rf", "main..HEAD"])
def test_export_unknown_revisions(repo: Path, tmp_path: Path, ref: str) -> None:
    (repo / "a").write_text("a")
    commit_all(repo, "a")
    with pytest.raises(GitExportError):
        export_revision(repo, ref, tmp_path / "out")


def test_export_needs_a_repository_and_an_empty_destination(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(GitExportError, match="not a git repository"):
        export_revision(tmp_path / "missing", "HEAD", tmp_path / "out")
    (repo / "a").write_text("a")
    commit_all(repo, "a")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    with pytest.raises(GitExportError, match="not empty"):
        export_revision(repo, "HEAD", busy)


# --- camelops render -------------------------------------------------------------------------


def test_render_streams_valid_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_repo(tmp_path, simple_files())
    assert main(["render", str(tmp_path), "--env", "prod", "--strict"]) == 0
    docs = list(yaml.safe_load_all(capsys.readouterr().out))
    assert docs[0]["kind"] == "Namespace"
    assert {d["metadata"].get("namespace", "shop-prod") for d in docs} == {"shop-prod"}


def test_render_writes_files_as_json(tmp_path: Path) -> None:
    write_repo(tmp_path / "repo", simple_files())
    out = tmp_path / "out"
    code = main(
        ["render", str(tmp_path / "repo"), "--env", "dev", "-o", str(out), "--format", "json"]
    )
    assert code == 0
    assert json.loads((out / "deployment-hello.json").read_text())["kind"] == "Deployment"
    assert main(["render", str(tmp_path / "repo"), "--env", "dev", "-o", str(out)]) == 2


def test_render_invalid_repository_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = simple_files()
    files["integrations/hello/integration.yaml"] += "  bogus: 1\n"
    write_repo(tmp_path, files)
    assert main(["render", str(tmp_path), "--env", "dev"]) == 1
    err = capsys.readouterr().err
    assert "integrations/hello/integration.yaml" in err
    assert "nothing rendered" in err


def test_render_unknown_environment_and_missing_path(tmp_path: Path) -> None:
    write_repo(tmp_path, simple_files())
    assert main(["render", str(tmp_path), "--env", "qa"]) == 1
    assert main(["render", str(tmp_path / "nope"), "--env", "dev"]) == 2


def test_render_never_prints_ciphertext(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = {
        **simple_files("app", "secrets: [{name: db}]"),
        "secrets/db.sealed.yaml": sealed("db", {"password": CIPHER_A}),
    }
    write_repo(tmp_path, files)
    assert main(["render", str(tmp_path), "--env", "dev"]) == 0
    assert CIPHER_A not in capsys.readouterr().out


# --- camelops diff ---------------------------------------------------------------------------


def test_diff_exit_codes_and_camel_summary(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = {
        **simple_files("app", "secrets: [{name: db}]"),
        "secrets/db.sealed.yaml": sealed("db", {"password": CIPHER_A}),
    }
    write_repo(repo, files)
    commit_all(repo, "base")
    assert main(["diff", str(repo), "--base", "HEAD", "--head", "HEAD"]) == 0
    capsys.readouterr()
    (repo / "integrations/app/routes/app.camel.yaml").write_text(
        ROUTE.format(route_id="app") + ROUTE.format(route_id="second")
    )
    (repo / "secrets/db.sealed.yaml").write_text(sealed("db", {"password": CIPHER_B}))
    commit_all(repo, "head")
    assert main(["diff", str(repo), "--base", "HEAD~1", "--head", "main", "--env", "dev"]) == 1
    out = capsys.readouterr().out
    assert "routes added: second" in out
    assert "endpoints added: log:second, timer:second" in out
    assert "changed  /Secret:shop-dev/db" in out
    assert CIPHER_A not in out
    assert CIPHER_B not in out
    assert "Environment prod" not in out


def test_diff_json(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_repo(repo, {**simple_files("a"), **simple_files("b")})
    commit_all(repo, "base")
    git(repo, "rm", "-q", "-r", "integrations/b")
    commit_all(repo, "drop b")
    assert main(["diff", str(repo), "--base", "HEAD~1", "--head", "HEAD", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["camel"][0]["routes"]["removed"] == ["b"]
    removed = {c["object"] for c in data["environments"]["prod"] if c["change"] == "removed"}
    assert "apps/Deployment:shop-prod/b" in removed


def test_diff_errors_exit_2(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_repo(repo, simple_files())
    commit_all(repo, "base")
    (repo / "camelops.yaml").write_text("kind: Project\n")
    commit_all(repo, "broken")
    assert main(["diff", str(repo), "--base", "HEAD~1", "--head", "HEAD"]) == 2
    assert "revision HEAD is invalid" in capsys.readouterr().err
    assert main(["diff", str(repo), "--base", "nope", "--head", "HEAD"]) == 2
    assert main(["diff", str(tmp_path / "none"), "--base", "a", "--head", "b"]) == 2


def test_docs_example_on_the_example_repository(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The `camelops diff` example in docs/render-and-diff.md."""
    shutil.copytree(REPO_ROOT / "examples" / "repo-layout", repo, dirs_exist_ok=True)
    commit_all(repo, "base")
    routes = repo / "integrations/orders-api/routes/orders-api.camel.yaml"
    text = routes.read_text()
    anchor = "        - to: direct:create-order\n"
    assert anchor in text
    routes.write_text(
        text.replace(
            anchor, anchor + "        - wireTap:\n            uri: kafka:orders-audit\n", 1
        )
    )
    git(repo, "rm", "-q", "-r", "integrations/nightly-report")
    commit_all(repo, "audit orders, drop nightly report")
    assert main(["diff", str(repo), "--base", "HEAD~1", "--head", "HEAD", "--env", "prod"]) == 1
    out = capsys.readouterr().out
    summary = out.split("\n\n# ")[0]
    for line in (
        "    routes removed: nightly-report",
        "    routes changed: orders-http",
        "    endpoints added: kafka:orders-audit",
        "      + wireTap",
        "Environment prod: 2 changed, 4 removed",
    ):
        assert line in summary
    docs = (REPO_ROOT / "docs" / "render-and-diff.md").read_text()
    camel_block = summary[summary.index("Camel routes:") :]
    assert camel_block in docs


def test_render_freezes_the_loaded_graph_so_collections_skip_it() -> None:
    """The regression behind render's cost per object growing with the repository: the cyclic
    collector rescanning the loaded YAML graph. Run in a child: freezing is per process."""
    script = (
        "import gc, sys\n"
        "from pathlib import Path\n"
        "from camelops.commands.render import load_valid\n"
        "from schema.limits import LoadLimits\n"
        "before = gc.get_freeze_count()\n"
        "project = load_valid(Path(sys.argv[1]), 'prod', LoadLimits())\n"
        "assert gc.isenabled(), 'the collector runs again for what render allocates'\n"
        "print(gc.get_freeze_count() - before)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(REPO_ROOT / "examples" / "repo-layout")],
        capture_output=True, text=True, check=True, cwd=REPO_ROOT,
    )  # fmt: skip
    assert int(done.stdout) > 10_000, "the loaded project stays out of every collection"


def test_render_pauses_the_collector_and_gives_it_back() -> None:
    # the rendered trees are freed by reference counting: the collector waits for the command's
    # end; a caller running the command in its own process gets its collector back
    script = (
        "import gc, io, contextlib, sys\n"
        "import camelops.commands.render as render\n"
        "seen = []\n"
        "real = render._render\n"
        "render._render = lambda args: seen.append(gc.isenabled()) or real(args)\n"
        "from camelops.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    code = main(['render', sys.argv[1], '--env', 'prod'])\n"
        "print(code, seen, gc.isenabled())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(REPO_ROOT / "examples" / "repo-layout")],
        capture_output=True, text=True, check=True, cwd=REPO_ROOT,
    )  # fmt: skip
    assert done.stdout.split() == ["0", "[False]", "True"]
