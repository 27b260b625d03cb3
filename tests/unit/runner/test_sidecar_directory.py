"""What the sidecar directory remembers from relayed batches, and for how long."""

from __future__ import annotations

from contract.replay import ReplayCommand
from contract.telemetry import TelemetryBatch
from runner.sidecar_directory import MAX_PODS, SidecarDirectory

ASK = ReplayCommand(request_id="0" * 32, project="shop", environment="prod",
                    integration="orders", exchange_id="EX-1")  # fmt: skip


def batch(pod: str, integration: str = "orders") -> TelemetryBatch:
    return TelemetryBatch(batch_id=pod, integration=integration, environment="prod", pod=pod,
                          sent_at_ms=0)  # fmt: skip


def test_pods_newest_first_forgotten_after_the_ttl_and_per_integration() -> None:
    now = [0.0]
    directory = SidecarDirectory(ttl_seconds=600, clock=lambda: now[0])
    directory.seen(batch("a"), "10.1.0.7")
    now[0] = 10
    directory.seen(batch("b"), "fd00::9")
    directory.seen(batch("c", integration="billing"), "10.1.0.8")
    directory.seen(batch("d"), None)  # no address (a unix socket): nothing to call
    directory.seen(batch("e"), "not-an-address")
    assert directory.urls(ASK) == ["http://[fd00::9]:9464", "http://10.1.0.7:9464"]
    now[0] = 605
    assert directory.urls(ASK) == ["http://[fd00::9]:9464"]
    directory.seen(batch("b"), "10.1.0.9")  # the pod restarted with a new address
    assert directory.urls(ASK) == ["http://10.1.0.9:9464"]


def test_a_sender_cannot_make_it_remember_without_bound() -> None:
    directory = SidecarDirectory()
    for n in range(MAX_PODS + 20):
        directory.seen(batch(f"pod-{n}"), f"10.2.{n // 256}.{n % 256}")
    assert len(directory.urls(ASK)) == MAX_PODS
