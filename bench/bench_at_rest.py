"""What sealing queued bundles at rest costs: the tunnel outbox's checkpoint and the runner's
bundle store, sealed (AES-256-GCM: the KEK envelope on the control plane, the local key on the
runner) against the same code with a pass-through sealer (the plain-text baseline), interleaved
in one run."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.results import figure
from bench.timing import compare
from contract.bundles import Bundle
from contract.envelopes import Channel
from reconciler.secrets.envelope import Envelope
from runner.store import RunnerStore
from tunnel.at_rest import KeySealer, RecordSealer
from tunnel.session import PeerState
from tunnel.store import SessionStore

BUNDLES = 200
OBJECTS_PER_BUNDLE = 40  # about 100 KB of JSON per bundle


class PlainText:
    """The baseline: what the stores did before (no sealing)."""

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        del context
        return plaintext

    def open(self, sealed: bytes, context: bytes) -> bytes:
        del context
        return sealed


def bundle(n: int) -> Bundle:
    manifests = tuple(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{n}-{i}", "namespace": "bench"},
            "data": {"application.properties": "x=" + "y" * 2400},
        }
        for i in range(OBJECTS_PER_BUNDLE)
    )
    return Bundle.of(
        project="bench", environment=f"env-{n % 20}", revision=f"{n:040d}", manifests=manifests
    )


def outbox_checkpoint(root: Path, sealer: RecordSealer, name: str) -> Callable[[], object]:
    """A fresh store each time: every message is sealed once (the first checkpoint)."""
    state = PeerState()
    for n in range(BUNDLES):
        state.enqueue(Channel.CONTROL, "bundle", bundle(n).model_dump(mode="json"))
    counter = iter(range(1_000_000))

    def run() -> object:
        store = SessionStore(root / f"{name}-{next(counter)}.sqlite", sealer)
        store.save_state("runner", state)
        store.save_state("runner", state)  # a second checkpoint: sealed bodies are reused
        store.close()
        return None

    return run


def runner_store(root: Path, sealer: RecordSealer, name: str) -> Callable[[], object]:
    bundles = [bundle(n) for n in range(BUNDLES)]
    counter = iter(range(1_000_000))

    def run() -> object:
        store = RunnerStore(root / f"{name}-{next(counter)}" / "runner.sqlite", sealer=sealer)
        for b in bundles:
            store.save_bundle(b)
        latest = store.latest()
        store.close()
        return latest

    return run


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        kek, local = Envelope(secrets.token_bytes(32)), KeySealer(secrets.token_bytes(32))
        size = len(bundle(0).model_dump_json())
        print(f"{BUNDLES} bundles of {size / 1024:.0f} KiB")
        for label, make, sealer in (
            ("tunnel outbox, 2 checkpoints", outbox_checkpoint, kek),
            ("runner store, save + latest", runner_store, local),
        ):
            timings = compare(
                {
                    "plain": make(root, PlainText(), "plain"),
                    "sealed": make(root, sealer, "sealed"),
                },
                repeats=5,
            )
            plain, sealed = timings["plain"], timings["sealed"]
            print(
                f"{label}: plain {plain.cpu * 1000:.0f} ms cpu ({plain.wall * 1000:.0f} wall), "
                f"sealed {sealed.cpu * 1000:.0f} ms cpu ({sealed.wall * 1000:.0f} wall), "
                f"ratio {sealed.cpu / plain.cpu:.2f}x cpu"
            )
            figure(
                f"{label}, {BUNDLES} bundles sealed (CPU)",
                sealed.cpu * 1000,
                "ms",
                baseline=plain.cpu * 1000,
                baseline_name="no encryption",
            )


if __name__ == "__main__":
    main()
