"""The portal mounted at `/` beside the JSON API (as `camelops serve` does), and
`camelops user login`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from camelops.cli import main
from camelops.wiring.portal_mount import mount_portal
from reconciler.api.app import build_services, make_app
from reconciler.server import ControlPlane, load_kek
from reconciler.service.accounts import LoginRefused, NewSession, PortalAccounts
from reconciler.store import StateStore
from tests.integration.portal.harness import PortalWorld


async def test_portal_and_api_share_one_app_without_shadowing(world: PortalWorld) -> None:
    core = world.core
    api = make_app(build_services(core.store, core.controller, core.controller.metrics),
                   run_controller=False)  # fmt: skip
    mount_portal(ControlPlane(core.store, core.controller, api), traces=None, replays=None)
    async with TestClient(TestServer(api, host="127.0.0.1")) as client:
        health = await client.get("/api/v1/healthz")
        assert health.status == 200
        assert await health.json() == {"ok": True}
        refused = await client.get("/api/v1/projects")
        assert refused.status == 401  # the API's own auth, not the portal's login redirect
        assert refused.content_type == "application/problem+json"
        assert (await refused.json())["detail"] == "missing bearer token"
        assert (await client.get("/metrics")).status == 200
        home = await client.get("/", allow_redirects=False)
        assert home.status == 303
        assert home.headers["Location"] == "/login"
        login = await client.get("/login")
        assert login.status == 200
        assert "Content-Security-Policy" in login.headers


def _store(data_dir: Path) -> StateStore:
    data_dir.mkdir(parents=True, exist_ok=True)
    return StateStore(data_dir / "state.db", load_kek(data_dir))


async def test_user_create_makes_a_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _store(tmp_path).close()
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    argv = ["user", "login", "--data-dir", str(tmp_path), "--org", "acme", "--name", "ops"]
    assert main([*argv, "--role", "operator"]) == 0
    store = _store(tmp_path)
    try:
        accounts = PortalAccounts(store)
        assert isinstance(await accounts.login("ops", "a long enough secret", "t"), NewSession)
        assert isinstance(await accounts.login("ops", "a long enough secreT", "t"), LoginRefused)
        row = store.state.one("SELECT password_hash FROM users WHERE name = 'ops'")
        assert row is not None
        assert str(row["password_hash"]).startswith("$argon2id$")
    finally:
        store.close()


def test_user_create_refuses_bad_input_without_partial_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _store(tmp_path).close()
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "login", "--data-dir", str(tmp_path), "--name", "ops"]) == 2
    assert "12 to 1024 characters" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    assert main(["user", "login", "--data-dir", str(tmp_path), "--name", "Bad Name"]) == 2
    assert "invalid user name" in capsys.readouterr().err
    store = _store(tmp_path)
    try:
        assert store.state.one("SELECT id FROM users") is None
    finally:
        store.close()
    empty = tmp_path / "nothing-here"
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    assert main(["user", "login", "--data-dir", str(empty), "--name", "ops"]) == 2
    assert "run `camelops serve` first" in capsys.readouterr().err
