"""The one module that talks to pygit2: read a revision of a repository into a plain directory.

Nothing from a repository is trusted: symlinks that leave the tree, odd entry names and
oversized files are refused before anything lands outside `dest`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2
from pygit2.enums import CredentialType, FetchPrune, Option, ReferenceType

from reconciler.sources import (
    LOCAL_UNREADABLE,
    HostToken,
    RepositoryRefused,
    SourcePolicy,
    host_of,
    is_local,
    redact_url,
)

_BLOB = pygit2.enums.FileMode.BLOB
_EXECUTABLE = pygit2.enums.FileMode.BLOB_EXECUTABLE
_LINK = pygit2.enums.FileMode.LINK
_TREE = pygit2.enums.FileMode.TREE
_SUBMODULE = pygit2.enums.FileMode.COMMIT


class GitExportError(Exception):
    """The revision cannot be read or holds something we refuse to write."""


@dataclass(frozen=True, slots=True)
class ExportLimits:
    max_file_bytes: int = 8 * 1024 * 1024
    """Largest single blob written."""
    max_total_bytes: int = 256 * 1024 * 1024
    """Largest sum of blob sizes in the revision."""
    max_entries: int = 50_000
    """Most files, links and directories in the revision."""


@dataclass
class _Budget:
    limits: ExportLimits
    entries: int = 0
    total: int = 0

    def take(self, path: str, size: int) -> None:
        self.entries += 1
        self.total += size
        if size > self.limits.max_file_bytes:
            raise GitExportError(f"{path}: {size} bytes; the limit is {self.limits.max_file_bytes}")
        if self.total > self.limits.max_total_bytes:
            raise GitExportError(f"revision holds more than {self.limits.max_total_bytes} bytes")
        if self.entries > self.limits.max_entries:
            raise GitExportError(f"revision holds more than {self.limits.max_entries} entries")


def export_revision(
    repo_path: Path, ref: str, dest: Path, limits: ExportLimits | None = None
) -> str:
    """Write the tree of `ref` (a branch, tag, commit id or `HEAD~1`) into `dest`, which must be
    absent or empty; returns the commit id."""
    try:
        repo = pygit2.Repository(str(repo_path))
    except pygit2.GitError as exc:
        raise GitExportError(f"{repo_path}: not a git repository ({exc})") from exc
    try:
        commit = repo.revparse_single(ref).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError) as exc:
        raise GitExportError(f"{ref!r}: no such revision in {repo_path}") from exc
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise GitExportError(f"{dest}: destination is not empty")
    _write_tree(repo, commit.tree, dest, "", _Budget(limits or ExportLimits()))
    return str(commit.id)


def _write_tree(
    repo: pygit2.Repository, tree: pygit2.Tree, dest: Path, prefix: str, budget: _Budget
) -> None:
    for entry in tree:
        name = entry.name or ""
        if name in ("", ".", "..", ".git") or "/" in name or "\\" in name or "\0" in name:
            raise GitExportError(f"{prefix}{name!r}: refusing this tree entry name")
        rel = f"{prefix}{name}"
        target = dest / name
        mode = entry.filemode
        if mode == _TREE:
            budget.take(rel, 0)
            target.mkdir()
            _write_tree(repo, repo[entry.id].peel(pygit2.Tree), target, rel + "/", budget)
        elif mode in (_BLOB, _EXECUTABLE):
            blob = repo[entry.id].peel(pygit2.Blob)
            budget.take(rel, blob.size)
            target.write_bytes(blob.data)
            if mode == _EXECUTABLE:
                target.chmod(0o755)
        elif mode == _LINK:
            link = repo[entry.id].peel(pygit2.Blob).data.decode("utf-8", "replace")
            budget.take(rel, len(link))
            _check_link(rel, link)
            os.symlink(link, target)
        elif mode != _SUBMODULE:  # submodules are other repositories: not part of this tree
            raise GitExportError(f"{rel}: unknown file mode {mode:o}")


def _check_link(rel: str, link: str) -> None:
    """Only relative links that stay inside the tree. `..` may only lead the target: our
    parents are real directories, but a `..` after a component could climb out of wherever a
    symlinked component really points."""
    if not link or link.startswith("/") or "\\" in link or "\0" in link:
        raise GitExportError(f"{rel}: symlink to {link!r} leaves the repository")
    parts = [p for p in link.split("/") if p not in ("", ".")]
    climbs = len(parts) - len([p for p in parts if p != ".."])
    leading = next((i for i, p in enumerate(parts) if p != ".."), len(parts))
    depth = rel.count("/")
    if climbs != leading or climbs > depth or parts[leading : leading + 1] == [".git"]:
        raise GitExportError(f"{rel}: symlink to {link!r} leaves the repository")


# --- the reconciler's git source: mirrors, fetch with limits, safe checkouts -------------------

FETCH_REFSPECS = (
    "+refs/heads/*:refs/heads/*",
    "+refs/pull/*/head:refs/pull/*/head",
    "+refs/merge-requests/*/head:refs/merge-requests/*/head",
)
_TREE_DIR_PREFIX = "tree-"


class GitSourceError(Exception):
    """A Git source problem the pipeline turns into a condition; never a pygit2 exception."""


class GitUnreachableError(GitSourceError):
    """The remote could not be fetched: network, credentials, missing repository, timeout."""


class RefNotFoundError(GitSourceError):
    """The branch or ref the project follows does not exist (any more)."""


class SourceTooLargeError(GitSourceError):
    """The fetch or a checked-out file passed a size cap."""


class SourceRejectedError(GitSourceError):
    """The revision holds something a checkout refuses: an escaping symlink, a huge file."""


class SourceRefusedError(GitSourceError):
    """The URL itself is not allowed (credentials in it, a local path outside the roots)."""


@dataclass(frozen=True, slots=True)
class GitCredentials:
    """How to authenticate to a remote: HTTPS tokens bound to hosts, or an SSH key pair."""

    https: tuple[HostToken, ...] = ()
    """Each token is offered only to its hosts: the URL libgit2 asks for, after redirects."""
    ssh_private_key: Path | None = None
    ssh_public_key: Path | None = None
    ssh_passphrase: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class SourceLimits:
    fetch_timeout_s: float = 60.0
    """Whole-fetch deadline; the transport also gets a socket timeout of the same length."""
    max_fetch_bytes: int = 256 * 1024 * 1024
    """Cap on the bytes received by one fetch (a runaway or hostile remote stops here)."""
    export: ExportLimits = field(default_factory=ExportLimits)
    """Caps on what one checkout writes (file size, total size, entries)."""


@dataclass(frozen=True, slots=True)
class CommitInfo:
    id: str
    author: str
    message: str
    time: int


class _Callbacks(pygit2.RemoteCallbacks):
    """Credentials, plus the fetch deadline and byte cap checked on every progress report."""

    def __init__(self, credentials: GitCredentials, limits: SourceLimits) -> None:
        super().__init__()
        self._creds = credentials
        self._limits = limits
        self._deadline = time.monotonic() + limits.fetch_timeout_s
        self._attempts = 0

    def credentials(self, url: str, username_from_url: str | None, allowed_types: Any) -> Any:
        self._attempts += 1
        if self._attempts > 3:  # libgit2 asks again after a refusal; stop instead of looping
            raise GitUnreachableError("authentication failed for the remote")
        creds = self._creds
        if creds.ssh_private_key is not None and allowed_types & CredentialType.SSH_KEY:
            public = str(creds.ssh_public_key) if creds.ssh_public_key else ""
            user = username_from_url or "git"
            return pygit2.Keypair(user, public, str(creds.ssh_private_key), creds.ssh_passphrase)
        # `url` is where libgit2 is now: a redirect to another host must not get our token
        token = next((t for t in creds.https if t.allows(url)), None)
        if token is not None and allowed_types & CredentialType.USERPASS_PLAINTEXT:
            return pygit2.UserPass(token.username, token.token)
        host = host_of(url) or "the remote"
        raise GitUnreachableError(f"{host} asks for credentials and none are configured for it")

    def transfer_progress(self, stats: Any) -> None:
        if stats.received_bytes > self._limits.max_fetch_bytes:
            raise SourceTooLargeError(
                f"fetch passed the cap of {self._limits.max_fetch_bytes} bytes"
            )
        if time.monotonic() > self._deadline:
            raise GitUnreachableError(f"fetch took longer than {self._limits.fetch_timeout_s:g} s")


def _set_transport_timeouts(seconds: float) -> None:
    millis = max(1, int(seconds * 1000))
    pygit2.option(Option.SET_SERVER_CONNECT_TIMEOUT, millis)
    pygit2.option(Option.SET_SERVER_TIMEOUT, millis)


def mirror_path(cache_dir: Path, name: str, url: str) -> Path:
    """One bare mirror per (name, url): changing a project's URL starts a fresh mirror."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60]
    return cache_dir / f"{safe}-{digest}.git"


class GitMirror:
    """A bare mirror of one remote in the cache directory. Blocking: call it off the event loop."""

    def __init__(
        self,
        cache_dir: Path,
        name: str,
        url: str,
        *,
        credentials: GitCredentials | None = None,
        limits: SourceLimits | None = None,
        policy: SourcePolicy | None = None,
    ) -> None:
        self.path = mirror_path(cache_dir, name, url)
        self.url = url  # libgit2 takes file://, local paths, https:// and ssh:// alike
        self.credentials = credentials or GitCredentials()
        self.limits = limits or SourceLimits()
        self.policy = policy
        """Checked before every fetch: a URL registered before the policy changed is refused."""

    def _open(self) -> pygit2.Repository:
        if (self.path / "HEAD").exists():
            return pygit2.Repository(str(self.path))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repo = pygit2.init_repository(str(self.path), bare=True)
        repo.remotes.create_anonymous(self.url)  # validates the URL early
        return repo

    def fetch(self) -> dict[str, str]:
        """Fetch every branch and PR head (force-pushes overwrite, deleted refs are pruned)."""
        if self.policy is not None:
            try:
                self.policy.check(self.url)
            except RepositoryRefused as exc:
                raise SourceRefusedError(str(exc)) from None
        repo = self._open()
        _set_transport_timeouts(self.limits.fetch_timeout_s)
        remote = repo.remotes.create_anonymous(self.url)
        try:
            remote.fetch(
                list(FETCH_REFSPECS),
                callbacks=_Callbacks(self.credentials, self.limits),
                prune=FetchPrune.PRUNE,
            )
        except GitSourceError:
            raise
        except (pygit2.GitError, KeyError, ValueError, OSError) as exc:
            if is_local(self.url):  # libgit2's words would map the server's filesystem
                raise GitUnreachableError(LOCAL_UNREADABLE) from None
            raise GitUnreachableError(
                _short(f"fetch from {redact_url(self.url)} failed: {exc}")
            ) from exc
        return self.refs()

    def refs(self) -> dict[str, str]:
        repo = self._open()
        found: dict[str, str] = {}
        for name in repo.references:
            ref = repo.references[name]
            if ref.type == ReferenceType.DIRECT:
                found[name] = str(ref.target)
        return found

    def resolve(self, ref: str) -> CommitInfo:
        """A branch name (`main`), a full ref (`refs/pull/7/head`) or a commit id."""
        repo = self._open()
        name = ref if ref.startswith("refs/") else f"refs/heads/{ref}"
        try:
            target = repo.references[name].target if name in repo.references else ref
            commit = repo[target].peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError) as exc:
            raise RefNotFoundError(f"'{ref}' does not exist in {redact_url(self.url)}") from exc
        author = f"{commit.author.name} <{commit.author.email}>"
        return CommitInfo(str(commit.id), author, commit.message[:2000], int(commit.commit_time))

    def on_a_branch(self, commit_id: str) -> bool:
        """Whether a branch of the repository holds the commit: someone allowed to push put it
        there. A pull request from a fork (or an outside contributor) exists only under
        `refs/pull/*` / `refs/merge-requests/*`."""
        repo = self._open()
        try:
            wanted = pygit2.Oid(hex=commit_id)
            branches = [
                repo.references[name].target
                for name in repo.references
                if name.startswith("refs/heads/")
            ]
            return any(
                isinstance(tip, pygit2.Oid) and (tip == wanted or repo.descendant_of(tip, wanted))
                for tip in branches
            )
        except (ValueError, KeyError, pygit2.GitError):
            return False

    def merge_base(self, a: str, b: str) -> str | None:
        base = self._open().merge_base(a, b)
        return None if base is None else str(base)

    def checkout(self, commit_id: str, dest: Path) -> None:
        """Write the commit's tree into `dest` (absent or empty), enforcing the export limits."""
        try:
            export_revision(self.path, commit_id, dest, self.limits.export)
        except GitExportError as exc:
            if "no such revision" in str(exc):
                raise RefNotFoundError(f"commit {commit_id} is not in the mirror") from exc
            raise SourceRejectedError(str(exc)) from exc


@contextmanager
def checked_out(mirror: GitMirror, commit_id: str, work_dir: Path) -> Iterator[Path]:
    """A temporary checkout of one commit, removed when the block ends (even on error)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    parent = Path(tempfile.mkdtemp(prefix=_TREE_DIR_PREFIX, dir=work_dir))
    try:
        tree = parent / "tree"
        mirror.checkout(commit_id, tree)
        yield tree
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def cleanup_stale_trees(work_dir: Path, max_age_s: float) -> int:
    """Remove checkouts left behind by a crash; returns how many were removed."""
    if not work_dir.is_dir():
        return 0
    cutoff, removed = time.time() - max_age_s, 0
    for path in work_dir.glob(_TREE_DIR_PREFIX + "*"):
        if path.is_dir() and path.stat().st_mtime < cutoff:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def _short(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
