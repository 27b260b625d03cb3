"""Repository URLs a tenant may register, credentials bound to hosts, URLs fit to print."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.sources import (
    LOCAL_REFUSED,
    HostToken,
    RepositoryRefused,
    SourcePolicy,
    host_of,
    policy_for,
    redact_url,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://ci:tok-abc@git.example.com/shop.git",
        "https://user:p@ss@git.example.com/shop.git",
        "https://tok-abc@git.example.com/shop.git",
        "https://git.example.com/shop.git?access_token=tok-abc",
        "https://git.example.com/shop.git#tok-abc",
        "ssh://git:tok-abc@git.example.com/shop.git",
    ],
)
def test_urls_with_credentials_are_refused_with_where_they_go(url: str) -> None:
    with pytest.raises(RepositoryRefused) as refused:
        SourcePolicy().check(url)
    assert "`credentials`" in str(refused.value)
    assert "tok-abc" not in str(refused.value)


@pytest.mark.parametrize(
    "url",
    ["https://git.example.com/shop.git", "ssh://git@git.example.com/shop.git", "git@h:o/r.git"],
)
def test_plain_remote_urls_pass(url: str) -> None:
    SourcePolicy().check(url)


def test_local_repositories_only_under_the_roots(tmp_path: Path) -> None:
    root = tmp_path / "repos"
    (root / "shop.git").mkdir(parents=True)
    (root / "escape").symlink_to(tmp_path)
    policy = SourcePolicy((root,))
    policy.check(str(root / "shop.git"))
    policy.check(f"file://{root}/shop.git")
    refused = []
    for url in (
        "/etc",
        "/does/not/exist.git",
        f"{root}/../other.git",
        f"{root}/escape/other.git",
        f"file://{tmp_path}/other.git",
        str(root),
    ):
        with pytest.raises(RepositoryRefused) as caught:
            policy.check(url)
        refused.append(str(caught.value))
    # one neutral message: existing, missing and escaping paths cannot be told apart
    assert set(refused) == {LOCAL_REFUSED}
    with pytest.raises(RepositoryRefused):
        SourcePolicy().check(str(root / "shop.git"))  # no roots: no local repositories


def test_the_default_local_root_is_under_the_data_dir(tmp_path: Path) -> None:
    assert policy_for(tmp_path, None).local_roots == (tmp_path / "repos",)
    assert policy_for(tmp_path, f"/a{os.pathsep}/b").local_roots == (Path("/a"), Path("/b"))


def test_tokens_go_to_their_hosts_only() -> None:
    token = HostToken(("git.example.com", "*.corp.example"), "ci", "tok")
    assert token.allows("https://git.example.com/shop.git")
    assert token.allows("https://GIT.example.com:443/shop.git")
    assert token.allows("https://a.corp.example/x.git")
    assert not token.allows("https://git.example.com:8443/shop.git")
    assert not token.allows("https://git.example.com.evil.test/shop.git")
    assert not token.allows("https://corp.example/x.git")
    assert not token.allows("ssh://git.example.com/shop.git")
    assert not token.allows("https://git.example.com:bad/x")
    assert "tok" not in repr(token)
    assert host_of("http://127.0.0.1:8080/x") == "127.0.0.1:8080"


def test_urls_are_redacted_for_printing() -> None:
    assert redact_url("https://ci:tok@h/r.git?access_token=t2") == "https://***@h/r.git?***"
    assert redact_url("https://tok@h/r.git") == "https://***@h/r.git"
    assert redact_url("ssh://git@h/r.git") == "ssh://git@h/r.git"
    assert redact_url("ssh://git:pw@h/r.git") == "ssh://***@h/r.git"
    assert redact_url("/srv/git/r.git") == "/srv/git/r.git"
