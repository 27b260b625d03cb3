"""Which repository URLs a tenant may register, and which Git credential may go to which host.

A credential is bound to a host: the project's own (stored encrypted with it, bound to its
URL's host at registration) or the operator's by host pattern from settings. It is handed out
only when the host asking for it (after any redirect) is that host. URLs never carry
credentials; local repositories (paths, file://) are allowed only under the operator's roots.
Every refusal says what to do without saying anything about the server's filesystem.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from reconciler.errors import ReconcilerError

LOCAL_ROOTS_ENV = "CAMELOPS_LOCAL_REPO_ROOTS"
TOKEN_HOSTS_ENV = "CAMELOPS_GIT_TOKEN_HOSTS"  # noqa: S105 (a variable's name)
DEFAULT_LOCAL_ROOT = "repos"
"""Under the data dir: where the demo (and an operator) keeps local repositories."""
CREDENTIALS_HELP = (
    "register the URL without credentials and send them in the request's `credentials` "
    '({"username": ..., "token": ...}: stored encrypted, sent only to the URL\'s host), or ask '
    f"the operator for a token bound to the host (CAMELOPS_GIT_TOKEN with {TOKEN_HOSTS_ENV})"
)
LOCAL_REFUSED = (
    "local repositories are allowed only under the directories the operator lists in "
    f"{LOCAL_ROOTS_ENV}; use an https:// or ssh:// URL"
)
LOCAL_UNREADABLE = "the local repository cannot be read"


class RepositoryRefused(ReconcilerError, ValueError):
    """The URL may not be registered or fetched; the message is safe to show a tenant."""


@dataclass(frozen=True, slots=True)
class HostToken:
    """An HTTPS username and token, and the hosts (patterns, `*.example.com`) it may go to."""

    hosts: tuple[str, ...]
    username: str = "git"
    token: str = field(default="", repr=False)

    def allows(self, url: str) -> bool:
        host = host_of(url)
        return bool(host) and any(fnmatch.fnmatchcase(host, p.lower()) for p in self.hosts)


def host_of(url: str) -> str:
    """`host` or `host:port` of an http(s) URL, lower-case; "" for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    default = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port or default
    except ValueError:
        return ""
    return parts.hostname if port == default else f"{parts.hostname}:{port}"


def is_local(url: str) -> bool:
    return url.startswith(("/", "file://"))


def local_path(url: str) -> Path:
    return Path(unquote(urlsplit(url).path) if url.startswith("file://") else url)


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    local_roots: tuple[Path, ...] = ()
    """Directories under which local repositories may be registered (none: no local ones)."""

    def check(self, url: str) -> None:
        """Raise `RepositoryRefused` for embedded credentials or a local path outside the roots."""
        if is_local(url):
            self._check_local(url)
            return
        parts = urlsplit(url) if "://" in url else None
        if parts is None:
            return  # scp-like `git@host:org/repo.git`: a user name, never a secret
        if parts.query or parts.fragment:
            raise RepositoryRefused(
                f"a repository URL has no query or fragment: {CREDENTIALS_HELP}"
            )
        if parts.password is not None or (parts.username and parts.scheme != "ssh"):
            raise RepositoryRefused(f"the URL holds credentials: {CREDENTIALS_HELP}")

    def _check_local(self, url: str) -> None:
        path = os.path.realpath(local_path(url))
        for root in self.local_roots:
            real_root = os.path.realpath(root)
            if os.path.commonpath([path, real_root]) == real_root and path != real_root:
                return
        raise RepositoryRefused(LOCAL_REFUSED)


def default_policy(data_dir: Path) -> SourcePolicy:
    """Without `CAMELOPS_LOCAL_REPO_ROOTS`: local repositories only under `<data-dir>/repos`."""
    return SourcePolicy((data_dir / DEFAULT_LOCAL_ROOT,))


def policy_for(data_dir: Path, listed: str | None) -> SourcePolicy:
    """`listed`: CAMELOPS_LOCAL_REPO_ROOTS as set (os.pathsep-separated), or None if unset."""
    if listed is None:
        return default_policy(data_dir)
    return SourcePolicy(tuple(Path(p) for p in listed.split(os.pathsep) if p.strip()))


def redact_url(url: str) -> str:
    """A URL fit to print: no user info, no query, no fragment."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc and not (parts.scheme == "ssh" and ":" not in netloc.rsplit("@", 1)[0]):
        netloc = "***@" + netloc.rsplit("@", 1)[1]  # ssh://git@host keeps its login name
    redacted = f"{parts.scheme}://{netloc}{parts.path}"
    return redacted + ("?***" if parts.query else "")
