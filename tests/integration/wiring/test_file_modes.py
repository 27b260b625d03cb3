"""Data dirs 0700, databases and keys 0600, whatever umask the processes inherit: `camelops
serve`, `token create`, `runner register` and the `camelops runner` daemon all run with umask
000 here, and afterwards nothing under either data dir is open to group or others."""

from __future__ import annotations

import asyncio
import signal
import stat
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.integration.wiring.stack import Api, camelops_serve, clean_env, cli, eventually
from tests.integration.wiring.test_serve_runner import RUNNER, unreachable_kubeconfig

pytestmark = pytest.mark.timeout(180)
WIDE_OPEN = 0o000


def open_to_others(root: Path) -> list[str]:
    found = [root, *root.rglob("*")]
    return [
        f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p.relative_to(root.parent)}"
        for p in found
        if not p.is_symlink() and stat.S_IMODE(p.lstat().st_mode) & 0o077
    ]


async def runner_listed(api: Api) -> bool | None:
    _, answer = await api.call("GET", "/api/v1/runners")
    return True if RUNNER in [r["name"] for r in answer["runners"]] else None


async def test_nothing_is_readable_by_others_under_a_wide_open_umask(tmp_path: Path) -> None:
    serve_root, runner_dir = tmp_path / "serve", tmp_path / "runner"
    serve_root.mkdir()
    with camelops_serve(serve_root / "data", umask=WIDE_OPEN) as served:
        code, token, err = await cli(
            "token", "create", "--runner", RUNNER, "--data-dir", str(served.data_dir),
            umask=WIDE_OPEN,
        )  # fmt: skip
        assert code == 0, err
        register = ["runner", "register", "--server", served.base_url, "--token", token.strip()]
        code, _, err = await cli(*register, "--data-dir", str(runner_dir), umask=WIDE_OPEN)
        assert code == 0, err
        kubeconfig = unreachable_kubeconfig(tmp_path / "kubeconfig.json")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "camelops", "runner", "--data-dir", str(runner_dir),
            "--kubeconfig", str(kubeconfig),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env=clean_env(), umask=WIDE_OPEN,
        )  # fmt: skip
        try:
            async with aiohttp.ClientSession() as session:
                await eventually(lambda: runner_listed(Api(served, session)), "the runner", 60)
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, output.decode()
    for name in ("state.db", "tunnel.sqlite", "kek", "admin-token", "ca-passphrase"):
        assert (served.data_dir / name).exists(), name  # the check below covers real files
    assert (runner_dir / "runner.sqlite").exists()
    assert (runner_dir / "tunnel" / "state.sqlite").exists()
    assert open_to_others(served.data_dir) == []
    assert open_to_others(runner_dir) == []
