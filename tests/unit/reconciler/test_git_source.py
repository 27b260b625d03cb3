"""The git source boundary: credentials never echoed, unreachable remotes fail fast."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from pygit2.enums import CredentialType

from reconciler.git import (
    GitCredentials,
    GitMirror,
    GitUnreachableError,
    RefNotFoundError,
    SourceLimits,
    _Callbacks,
    mirror_path,
)
from reconciler.sources import HostToken


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_https_remote_fails_without_leaking_the_token(tmp_path: Path) -> None:
    url = f"https://ci:tok-abc123@127.0.0.1:{closed_port()}/shop.git"
    mirror = GitMirror(tmp_path, "shop", url, limits=SourceLimits(fetch_timeout_s=5))
    with pytest.raises(GitUnreachableError) as caught:
        mirror.fetch()
    assert "tok-abc123" not in str(caught.value)
    assert "***@127.0.0.1" in str(caught.value)


def test_missing_local_repository_is_unreachable(tmp_path: Path) -> None:
    with pytest.raises(GitUnreachableError):
        GitMirror(tmp_path, "shop", str(tmp_path / "nope.git")).fetch()


def test_resolving_in_an_empty_mirror_is_ref_not_found(tmp_path: Path) -> None:
    mirror = GitMirror(tmp_path, "shop", str(tmp_path / "nope.git"))
    for ref in ("main", "refs/pull/1/head", "0" * 40, "../../etc"):
        with pytest.raises(RefNotFoundError):
            mirror.resolve(ref)


def test_mirror_paths_are_per_url_and_safe(tmp_path: Path) -> None:
    a = mirror_path(tmp_path, "../../evil name", "https://a/x.git")
    b = mirror_path(tmp_path, "../../evil name", "https://b/x.git")
    assert a != b
    assert a.parent == tmp_path
    assert "/" not in a.name


def test_credentials_are_offered_once_per_kind_and_never_loop(tmp_path: Path) -> None:
    bound = GitCredentials(https=(HostToken(("h",), "git", "t0k"),))
    token = _Callbacks(bound, SourceLimits())
    offered = token.credentials("https://h/x.git", None, CredentialType.USERPASS_PLAINTEXT)
    assert type(offered).__name__ == "UserPass"
    assert "t0k" not in repr(bound)
    key = tmp_path / "id_ed25519"
    ssh = _Callbacks(GitCredentials(ssh_private_key=key), SourceLimits())
    assert type(ssh.credentials("ssh://h/x", "git", CredentialType.SSH_KEY)).__name__ == "Keypair"
    none = _Callbacks(GitCredentials(), SourceLimits())
    with pytest.raises(GitUnreachableError, match="none are configured"):
        none.credentials("https://h/x.git", None, CredentialType.USERPASS_PLAINTEXT)
    with pytest.raises(GitUnreachableError, match=r"other\.example asks for credentials"):
        token.credentials("https://other.example/x.git", None, CredentialType.USERPASS_PLAINTEXT)
    for _ in range(1):  # three offers in all, then libgit2's retry loop is cut
        token.credentials("https://h/x.git", None, CredentialType.USERPASS_PLAINTEXT)
    with pytest.raises(GitUnreachableError, match="authentication failed"):
        token.credentials("https://h/x.git", None, CredentialType.USERPASS_PLAINTEXT)
