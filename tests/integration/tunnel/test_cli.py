"""`camelops token create` and `camelops runner register` as real processes against real HTTPS."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tunnel.pki.service import ControlPlanePki
from tunnel.pki.store import SqlitePkiStore
from tunnel.registration import RunnerFiles, registration_app
from tunnel.tls import registration_server_context

PASSPHRASE = "a passphrase long enough"


async def camelops(*args: str, passphrase: str | None = PASSPHRASE) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CAMELOPS_CA_PASSPHRASE"}
    if passphrase is not None:
        env["CAMELOPS_CA_PASSPHRASE"] = passphrase
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "camelops", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def registration_url(tmp_path: Path) -> AsyncIterator[str]:
    """The HTTPS registration endpoint over the PKI the CLI created in `tmp_path/cp`."""
    code, _, err = await camelops(
        "token", "create", "--runner", "warmup", "--data-dir", str(tmp_path / "cp")
    )
    assert code == 0, err
    directory = tmp_path / "cp" / "pki"
    store = SqlitePkiStore(directory / "pki.sqlite")
    pki = ControlPlanePki.open_or_create(directory, PASSPHRASE.encode(), "default", store)
    cert, key = pki.ensure_server_certificate(directory, ["127.0.0.1"])
    runner = web.AppRunner(registration_app(pki, "wss://127.0.0.1:1/v1/tunnel"), access_log=None)
    await runner.setup()
    await web.TCPSite(
        runner, "127.0.0.1", 0, ssl_context=registration_server_context(cert, key)
    ).start()
    yield f"https://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()
    store.close()


async def test_token_create_then_register_once(registration_url: str, tmp_path: Path) -> None:
    code, token, err = await camelops(
        "token", "create", "--runner", "edge-1", "--org", "acme", "--data-dir", str(tmp_path / "cp")
    )
    assert code == 0, err
    token = token.strip()
    assert token.startswith("camelops1.")
    runner_dir = tmp_path / "runner"
    args = ("runner", "register", "--server", registration_url, "--token", token)
    code, out, err = await camelops(*args, "--data-dir", str(runner_dir), passphrase=None)
    assert code == 0, err
    assert "camelops://acme/runners/edge-1" in out
    files = RunnerFiles.in_data_dir(runner_dir)
    assert stat.S_IMODE(os.stat(files.key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(files.cert).st_mode) == 0o600
    assert token not in out + err  # the token is never echoed back
    code, _, err = await camelops(*args, "--data-dir", str(tmp_path / "again"), passphrase=None)
    assert code == 1
    assert "refused" in err


async def test_cli_refuses_bad_input(tmp_path: Path) -> None:
    code, _, err = await camelops(
        "token", "create", "--runner", "Bad_Name", "--data-dir", str(tmp_path)
    )
    assert code == 1
    assert "not a valid" in err
    code, _, err = await camelops(
        "token", "create", "--runner", "r", "--data-dir", str(tmp_path), passphrase=None
    )
    assert code == 2
    assert "CAMELOPS_CA_PASSPHRASE" in err
    code, _, err = await camelops("token", "create", "--runner", "r", "--ttl", "9y")
    assert code == 2
    code, _, err = await camelops(
        "runner",
        "register",
        "--server",
        "https://127.0.0.1:9",
        "--token",
        "nope",
        "--data-dir",
        str(tmp_path),
    )
    assert code == 1
    assert "not a camelops registration token" in err
    token = "camelops1." + "A" * 43 + "." + "0" * 64
    code, _, err = await camelops(
        "runner",
        "register",
        "--server",
        "https://127.0.0.1:9",
        "--token",
        token,
        "--data-dir",
        str(tmp_path),
    )
    assert code == 2
    assert "cannot register" in err
