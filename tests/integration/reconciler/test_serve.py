"""`camelops serve` end to end: first start writes an admin token; the API answers."""

from __future__ import annotations

import json
import stat
import time
import urllib.request
from pathlib import Path

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
