"""Camel's verdict combined with the runner's report in the state the control plane records,
over the real state store: also after a control-plane restart (a fresh process that has seen
no report yet builds on the recorded state). The Camel JVM side: tests/e2e/camel."""

from __future__ import annotations

import uuid

from contract.envelopes import Channel, Envelope
from contract.message_types import STATUS
from contract.status import Health, Phase, StatusReport
from reconciler.tunnel_callbacks import ReconcilerCallbacks
from tests.integration.reconciler.harness import Core
from tunnel.pki.identity import RunnerIdentity

RUNNER = RunnerIdentity("acme", "prod-runner")
STOPPED = ("route stock is Stopped",)


async def callbacks_of(core: Core) -> ReconcilerCallbacks:
    callbacks = ReconcilerCallbacks()
    callbacks.bind(core.store)
    assert "prod" in await callbacks.refresh(RUNNER)
    return callbacks


async def report(core: Core, callbacks: ReconcilerCallbacks, health: Health, detail: str) -> None:
    env = core.store.desired.environment(core.project.id, "prod")
    assert env is not None
    assert env.latest_bundle_id is not None
    bundle = core.store.desired.load_bundle(env.latest_bundle_id)
    assert bundle is not None
    sent = StatusReport(
        project="shop", environment="prod", revision=bundle.revision, digest=bundle.digest,
        phase=Phase.SYNCED, health=health, message=detail,
    )  # fmt: skip
    envelope = Envelope(id=uuid.uuid4().hex, seq=1, channel=Channel.STATUS, type=STATUS,
                        payload=sent.model_dump(mode="json"))  # fmt: skip
    await callbacks.message_received(RUNNER, envelope)


def shown(core: Core) -> tuple[str, str]:
    latest = core.store.desired.deployments(core.project.id, "prod", limit=1)[0]
    return str(latest["state"]), str(latest["detail"])


async def test_camel_problems_degrade_what_the_runner_reports_and_clear_with_it(
    core: Core,
) -> None:
    core.controller.request(core.project.id)
    await core.controller.wait_idle()
    callbacks = await callbacks_of(core)
    await report(core, callbacks, Health.PROGRESSING, "1 of 2 replicas available")
    await callbacks.camel_health(RUNNER, "prod", "orders", "orders-0", STOPPED)
    await callbacks.camel_writes_done()
    assert shown(core) == (
        "Synced/Degraded",
        "Camel: orders: route stock is Stopped; 1 of 2 replicas available",
    )
    await report(core, callbacks, Health.HEALTHY, "")
    assert shown(core) == ("Synced/Degraded", "Camel: orders: route stock is Stopped")
    await callbacks.camel_health(RUNNER, "prod", "orders", "orders-0", ())
    await callbacks.camel_writes_done()
    assert shown(core) == ("Synced/Healthy", "")
    # an environment the runner does not serve is not touched
    await callbacks.camel_health(RUNNER, "dev", "orders", "orders-0", STOPPED)
    await callbacks.camel_writes_done()
    assert shown(core) == ("Synced/Healthy", "")


async def test_after_a_restart_problems_build_on_the_recorded_state(core: Core) -> None:
    core.controller.request(core.project.id)
    await core.controller.wait_idle()
    await report(core, await callbacks_of(core), Health.HEALTHY, "")
    restarted = await callbacks_of(core)  # no report seen by this process
    await restarted.camel_health(RUNNER, "prod", "orders", "orders-0", STOPPED)
    await restarted.camel_writes_done()
    assert shown(core) == ("Synced/Degraded", "Camel: orders: route stock is Stopped")
    # clearing needs the runner's own health: its next report
    await restarted.camel_health(RUNNER, "prod", "orders", "orders-0", ())
    await restarted.camel_writes_done()
    assert shown(core)[0] == "Synced/Degraded"
    await report(core, restarted, Health.HEALTHY, "")
    assert shown(core) == ("Synced/Healthy", "")
