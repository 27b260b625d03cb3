"""At a rollout, move the retiring sidecars' held replay originals to the new instance's sidecar,
so a replay after a fixing push still finds the failed message (telemetry.sidecar.handover).

Why a loopback handover rather than a file the successor reads: the originals are unredacted
messages; in transit they stay in the memory of three processes of this runner and never touch
a disk, and each sidecar only answers its own token, which lives in the runner's memory and in
the sidecar's environment. The cost: after a runner restart the adopted sidecars' tokens are
gone, so a rollout right after it cannot hand over (it says so in the log).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request

from runner.errors import RunnerError

log = logging.getLogger(__name__)
_TIMEOUT = 30.0


class HandoverFailed(RunnerError):
    """One side of the handover did not answer as expected (the rollout goes on)."""


class SidecarUnreachable(HandoverFailed):
    """Nothing listens (yet) on the sidecar's port."""


def _call(port: int, token: str, data: bytes | None) -> bytes:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/originals",
        data=data,
        method="GET" if data is None else "POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:  # noqa: S310
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        raise HandoverFailed(f"sidecar on port {port} answered {exc.code}") from None
    except OSError as exc:
        raise SidecarUnreachable(f"sidecar on port {port} unreachable: {exc}") from None


def export_from(port: int, token: str) -> bytes:
    return _call(port, token, None)


def import_into(port: int, token: str, payload: bytes, *, wait: float = 10.0) -> int:
    """POST to the new sidecar; it may still be starting (a Python process next to a JVM that
    is already ready), so connection failures are retried until ``wait`` has passed."""
    deadline = time.monotonic() + wait
    while True:
        try:
            answer = json.loads(_call(port, token, payload))
            return int(answer.get("taken", 0))
        except SidecarUnreachable:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)  # the successor's API is not listening yet


def hand_over(retiring: list[tuple[int, str]], successor: tuple[int, str]) -> int:
    """Originals of every retiring sidecar ((port, token) each) into ``successor``; returns how
    many were taken. A sidecar without a token (adopted after a runner restart) is skipped."""
    taken = 0
    for port, token in retiring:
        if not token:
            log.warning("sidecar on port %d was adopted: its replay originals stay behind", port)
            continue
        try:
            taken += import_into(*successor, export_from(port, token))
        except HandoverFailed as exc:
            log.warning("replay originals not handed over: %s", exc)
    return taken
