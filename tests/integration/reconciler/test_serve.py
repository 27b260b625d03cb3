"""`camelops serve` end to end: first start writes an admin token; the API answers."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.integration.reconciler.gitrepo import GitRepo
from tests.integration.reconciler.served import camelops_serve


def call(url: str, token: str, body: dict[str, object] | None = None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method="POST" if body is not None else "GET",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_serve_bootstraps_an_admin_and_reconciles(tmp_path: Path, git_repo: GitRepo) -> None:
    data_dir = tmp_path / "data"
    with camelops_serve(data_dir) as served:
        mode = stat.S_IMODE((data_dir / "admin-token").stat().st_mode)
        assert mode == 0o600
        assert stat.S_IMODE((data_dir / "kek").stat().st_mode) == 0o600
        body = {"name": "shop", "url": str(git_repo.bare), "pollIntervalSeconds": 1}
        status, _ = call(served.base_url + "/api/v1/projects", served.token, body)
        assert status == 201
        for _ in range(600):
            _, project = call(served.base_url + "/api/v1/projects/shop", served.token)
            if project["status"]["conditions"][0]["status"] == "True":  # type: ignore[index]
                break
            time.sleep(0.05)  # polling a separate process: nothing to await on
        assert project["environments"] == ["dev", "prod"]  # type: ignore[index]
    # a second start keeps the same state and does not mint another admin token
    token_before = (data_dir / "admin-token").read_text()
    with camelops_serve(data_dir) as served:
        _, projects = call(served.base_url + "/api/v1/projects", served.token)
        assert [p["name"] for p in projects["projects"]] == ["shop"]  # type: ignore[index]
    assert (data_dir / "admin-token").read_text() == token_before


class Receiver(BaseHTTPRequestHandler):
    """The notification endpoint (a CI system or chat bridge): records what it is sent."""

    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/camelops"
    server.shutdown()
    server.server_close()


def test_serve_notifies_signed_revision_events(
    tmp_path: Path, git_repo: GitRepo, receiver: str
) -> None:
    secret = "notify-secret-value"
    data_dir = tmp_path / "data"
    serve = camelops_serve(
        data_dir, args=("--notify-url", receiver), env={"CAMELOPS_NOTIFY_SECRET": secret}
    )
    with serve as served:
        body = {"name": "shop", "url": str(git_repo.bare), "pollIntervalSeconds": 0}
        assert call(served.base_url + "/api/v1/projects", served.token, body)[0] == 201
        for _ in range(600):
            if Receiver.received:
                break
            time.sleep(0.05)  # a separate process posts to a thread: nothing to await on
    assert Receiver.received, (tmp_path / "serve.log").read_text()
    headers, raw = Receiver.received[0]
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["X-Camelops-Signature-256"] == f"sha256={expected}"
    assert headers["X-Camelops-Event"] == "revision"
    assert headers["Content-Type"] == "application/json"
    event = json.loads(raw)
    assert event == {
        "kind": "revision",
        "project": "shop",
        "commit": git_repo.head(),
        "state": "success",
        "reason": "ReconciliationSucceeded",
    }
    assert secret not in raw.decode()
