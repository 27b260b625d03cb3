"""Git credentials stay with their host, URLs never carry them, local paths stay in their roots.

Real HTTP servers stand in for Git hosts: one answers 401 with `WWW-Authenticate: Basic` (enough
to be handed a token), one redirects to another host. libgit2 (the real client) does the rest.
"""

from __future__ import annotations

import base64
import http.server
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.dispatch import InProcessSink
from reconciler.git import (
    GitCredentials,
    GitMirror,
    GitUnreachableError,
    SourceLimits,
    SourceRefusedError,
)
from reconciler.server import build_control_plane
from reconciler.sources import LOCAL_REFUSED, HostToken, SourcePolicy
from tests.integration.reconciler.apiclient import Api

TOKEN = "tok-scope-3c1f"  # the value an attacker must never see


class GitHost:
    """An HTTP server on 127.0.0.1 that records the Authorization header of every request and
    either asks for Basic credentials or redirects elsewhere."""

    def __init__(self, redirect_to: str | None = None) -> None:
        self.seen: list[str | None] = []
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.seen.append(self.headers.get("Authorization"))
                if redirect_to is not None:
                    self.send_response(302)
                    self.send_header("Location", redirect_to + self.path)
                else:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                del args

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/shop.git"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def tokens_seen(self) -> list[str]:
        return [base64.b64decode(h.split()[1]).decode() for h in self.seen if h]


@pytest.fixture
def hosts() -> Iterator[list[GitHost]]:
    made: list[GitHost] = []
    yield made
    for host in made:
        host.close()


def fetch(tmp_path: Path, url: str, token: HostToken) -> str:
    mirror = GitMirror(
        tmp_path / "mirrors",
        "shop",
        url,
        credentials=GitCredentials(https=(token,)),
        limits=SourceLimits(fetch_timeout_s=10),
    )
    with pytest.raises(GitUnreachableError) as failed:
        mirror.fetch()
    return str(failed.value)


def test_the_token_goes_to_its_own_host(tmp_path: Path, hosts: list[GitHost]) -> None:
    own = GitHost()
    hosts.append(own)
    fetch(tmp_path, own.url, HostToken((f"127.0.0.1:{own.port}",), "ci", TOKEN))
    assert f"ci:{TOKEN}" in own.tokens_seen()  # the positive control: the attack tests can fail


def test_a_tenant_chosen_host_asking_for_credentials_gets_none(
    tmp_path: Path, hosts: list[GitHost]
) -> None:
    attacker = GitHost()
    hosts.append(attacker)
    message = fetch(tmp_path, attacker.url, HostToken(("git.example.com",), "ci", TOKEN))
    assert attacker.seen, "the attacker's host was asked"
    assert attacker.tokens_seen() == []
    assert "none are configured" in message
    assert TOKEN not in message


def test_a_redirect_to_another_host_never_carries_the_token(
    tmp_path: Path, hosts: list[GitHost]
) -> None:
    attacker = GitHost()
    # same machine, another host name: the redirect leaves the host the token is bound to
    trusted = GitHost(redirect_to=f"http://localhost:{attacker.port}")
    hosts.extend([attacker, trusted])
    fetch(tmp_path, trusted.url, HostToken((f"127.0.0.1:{trusted.port}",), "ci", TOKEN))
    assert trusted.seen, "the trusted host was asked"
    assert attacker.seen, "the redirect was followed"
    assert attacker.tokens_seen() == []


def test_a_project_credential_is_sealed_and_bound_to_its_url_host(
    tmp_path: Path, hosts: list[GitHost], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    own, other = GitHost(), GitHost()
    hosts.extend([own, other])
    plane = build_control_plane(tmp_path / "data", dispatcher=InProcessSink())
    org = plane.store.accounts.ensure_org("acme")
    bound = HostToken((f"127.0.0.1:{own.port}",), "ci", TOKEN)
    mine = plane.store.projects.create(org, "mine", url=own.url, credential=bound)
    theirs = plane.store.projects.create(org, "theirs", url=other.url)
    assert plane.store.projects.credential(mine) == bound
    assert plane.store.projects.credential(theirs) is None
    for project in (mine, theirs):
        mirror = plane.controller.pipeline.mirrors(project)
        with pytest.raises(GitUnreachableError):
            mirror.fetch()
    plane.store.close()
    assert own.tokens_seen() == [f"ci:{TOKEN}"] * len(own.tokens_seen()) != []
    assert other.tokens_seen() == []
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("state.db*"))
    assert TOKEN.encode() not in stored
    assert TOKEN not in caplog.text


async def test_registration_refuses_credentials_in_urls_and_redacts_old_ones(api: Api) -> None:
    for url in (
        f"https://ci:{TOKEN}@git.example.com/shop.git",
        f"https://ci:p@ss{TOKEN}@git.example.com/shop.git",
        f"https://git.example.com/shop.git?access_token={TOKEN}",
    ):
        response = await api.client.post(
            "/api/v1/projects", json={"name": "leaky", "url": url}, headers=api.auth()
        )
        text = await response.text()
        assert response.status == 400, text
        assert "`credentials`" in text
        assert TOKEN not in text
    # a URL stored before the rule (or by hand) is never printed with its secrets
    legacy = f"https://ci:{TOKEN}@git.example.com/old.git?access_token={TOKEN}"
    api.core.store.projects.create(api.core.org_id, "legacy", url=legacy)
    shown = await api.client.get("/api/v1/projects/legacy", headers=api.auth())
    body = await shown.json()
    assert body["repository"]["url"] == "https://***@git.example.com/old.git?***"
    listed = await api.client.get("/api/v1/projects", headers=api.auth())
    assert TOKEN not in await listed.text()


async def test_registration_takes_a_credential_and_never_shows_it(api: Api) -> None:
    body = {
        "name": "private",
        "url": "https://git.example.com:8443/private.git",
        "pollIntervalSeconds": 0,
        "credentials": {"username": "ci", "token": TOKEN},
    }
    response = await api.client.post("/api/v1/projects", json=body, headers=api.auth())
    assert response.status == 201, await response.text()
    assert TOKEN not in await response.text()
    project = api.core.store.projects.by_name(api.core.org_id, "private")
    assert project is not None
    bound = api.core.store.projects.credential(project)
    assert bound == HostToken(("git.example.com:8443",), "ci", TOKEN)
    ssh = {**body, "name": "ssh", "url": "ssh://git@git.example.com/x.git"}
    refused = await api.client.post("/api/v1/projects", json=ssh, headers=api.auth())
    assert refused.status == 400
    assert "https://" in await refused.text()


async def test_local_repositories_outside_the_roots_are_refused_neutrally(
    api: Api, tmp_path: Path
) -> None:
    answers = set()
    for url in ("/etc", "/nonexistent/x.git", "file:///root", f"{tmp_path}/../../etc"):
        response = await api.client.post(
            "/api/v1/projects", json={"name": "probe", "url": url}, headers=api.auth()
        )
        assert response.status == 400
        answers.add(await response.text())
    assert len(answers) == 1, answers  # nothing tells an existing path from a missing one
    assert LOCAL_REFUSED in answers.pop()
    assert api.core.store.projects.by_name(api.core.org_id, "probe") is None


def test_a_local_repository_outside_the_roots_is_not_fetched(tmp_path: Path) -> None:
    """A project registered before the roots changed: refused at fetch, neutral message."""
    inside = SourcePolicy((tmp_path / "repos",))
    mirror = GitMirror(tmp_path / "mirrors", "shop", str(tmp_path / "elsewhere.git"), policy=inside)
    with pytest.raises(SourceRefusedError) as refused:
        mirror.fetch()
    assert str(refused.value) == LOCAL_REFUSED
    unreadable = GitMirror(tmp_path / "mirrors", "x", str(tmp_path / "repos" / "missing.git"))
    with pytest.raises(GitUnreachableError) as caught:
        unreadable.fetch()
    assert str(tmp_path) not in str(caught.value)
