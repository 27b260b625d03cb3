"""What a runner (or a user) can get wrong: status reports about things the runner does not
serve, broken reports, bad passphrases and ports. Nothing is recorded, nothing crashes."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError

from contract.envelopes import Channel
from contract.message_types import STATUS
from contract.status import Health, Outcome, Phase, StatusReport
from runner.driver import ObjectResult
from runner.objects import ObjectRef
from runner.sync_steps import SyncStatus
from tests.integration.wiring.stack import Api, Served, clean_env, cli, eventually, free_port
from tests.integration.wiring.test_serve_runner import PROJECT, RUNNER, setup_project
from tunnel.client import TunnelClient
from tunnel.registration import register_runner

pytestmark = pytest.mark.timeout(180)
GOOD: dict[str, Any] = {
    "project": "shop", "environment": "dev", "revision": "abc", "digest": "sha256:00",
    "phase": "Synced", "health": "Healthy",
}  # fmt: skip


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {**GOOD, "extra": 1},
        {**GOOD, "project": "../other"},
        {**GOOD, "environment": "Dev"},
        {**GOOD, "digest": ""},
        {**GOOD, "message": "x" * 9000},
        {**GOOD, "objects": [{"key": "k", "outcome": "created", "secret": "v"}]},
        {**GOOD, "drifted": "not-a-list"},
        {**GOOD, "phase": None},
    ],
)
def test_status_reports_are_strict(broken: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        StatusReport.model_validate(broken)


def test_status_report_detail_is_bounded() -> None:
    objects = [{"key": f"k{i}", "outcome": "failed", "message": "m" * 3000} for i in range(50)]
    report = StatusReport.model_validate({**GOOD, "objects": objects})
    assert len(report.detail()) == 2000
    assert report.state == "Synced/Healthy"


async def runner_deployments(api: Api) -> list[dict[str, Any]]:
    _, env = await api.call("GET", f"/api/v1/projects/{PROJECT}/environments/dev")
    return [d for d in env["deployments"] if d["actor"] == "runner"]


async def dev_digest(api: Api) -> str | None:
    _, env = await api.call("GET", f"/api/v1/projects/{PROJECT}/environments/dev")
    history = env.get("history") or []
    return str(history[0]["digest"]) if history else None


async def test_reports_about_foreign_or_unknown_bundles_are_not_recorded(
    served: Served, tmp_path: Path
) -> None:
    async with aiohttp.ClientSession() as session:
        api = Api(served, session)
        await setup_project(api, tmp_path)
        await api.call("POST", f"/api/v1/projects/{PROJECT}/reconcile")
        digest = await eventually(lambda: dev_digest(api), "the dev bundle", 60)
        code, token, _ = await cli(
            "token", "create", "--runner", RUNNER, "--data-dir", str(served.data_dir)
        )
        assert code == 0
        await register_runner(served.base_url, token.strip(), tmp_path / "runner")
        client = TunnelClient(tmp_path / "runner")
        await client.start()
        try:
            for payload in (
                {**GOOD, "project": "not-shop", "digest": digest},  # another project's dev
                {**GOOD, "digest": "sha256:unknown"},  # a bundle never built
                {"environment": "dev", "phase": "Synced"},  # malformed
                {**GOOD, "digest": digest, "phase": "Failed", "health": "Unknown", "x": 1},
                {**GOOD, "digest": digest},  # the only one to record
            ):
                await client.send(Channel.STATUS, STATUS, payload)
            await client.send(Channel.STATUS, "unheard_of", {"environment": "dev"})
            found = await eventually(lambda: _nonempty(runner_deployments(api)), "a report", 30)
        finally:
            await client.stop()
    # handled in order: once the good one is recorded the others were seen and ignored
    assert [d["state"] for d in found] == ["Synced/Healthy"]


async def _nonempty(pending: Any) -> list[dict[str, Any]] | None:
    found: list[dict[str, Any]] = await pending
    return found or None


async def test_metrics_show_the_tunnel_server_beside_the_reconciler(served: Served) -> None:
    async with aiohttp.ClientSession() as session:
        status, text = await Api(served, session).call("GET", "/metrics")
    assert status == 200
    assert "# TYPE camelops_reconciles_total counter" in text
    assert "# TYPE camelops_tunnel_server_connected_runners gauge" in text


async def test_token_create_with_a_wrong_passphrase_fails_cleanly(served: Served) -> None:
    env = clean_env(CAMELOPS_CA_PASSPHRASE="not the generated passphrase")
    code, out, err = await cli(
        "token", "create", "--runner", "r1", "--data-dir", str(served.data_dir), env=env
    )
    assert code == 2
    assert out == ""
    assert "not the generated passphrase" not in err


async def test_serve_refuses_bad_tunnel_ports(tmp_path: Path) -> None:
    args = ["serve", "--data-dir", str(tmp_path / "d1"), "--port", str(free_port())]
    code, _, err = await cli(*args, "--tunnel-port", "70000")
    assert code == 2
    assert "--tunnel-port" in err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        args = ["serve", "--data-dir", str(tmp_path / "d2"), "--port", str(free_port())]
        code, _, err = await cli(*args, "--tunnel-port", port)
    assert code == 2
    assert "cannot serve" in err


def test_the_runners_own_status_payload_is_a_valid_report() -> None:
    """The contract between `runner.sync_steps.SyncStatus.payload` and the control plane: a
    field added on one side and not the other fails here, not silently in production."""
    ref = ObjectRef("apps", "v1", "Deployment", "shop-dev", "orders")
    status = SyncStatus(
        "shop", "dev", "abc123", "sha256:ff", Phase.FAILED, Health.UNKNOWN, "dry-run failed",
        objects=(ObjectResult(ref, Outcome.FAILED, "403 Forbidden"),), drifted=(ref.key,),
        at=1.5,
    )  # fmt: skip
    report = StatusReport.model_validate(json.loads(json.dumps(status.payload())))
    assert report.state == "Failed/Unknown"
    assert "403 Forbidden" in report.detail()
