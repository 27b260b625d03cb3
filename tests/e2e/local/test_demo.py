"""`make run`'s demo, headless: the real control plane, Git repository with its hook, runner on
the local driver and Camel JVMs. Push a change -> new revision serving; a failing call fixed by
another push and replayed through the fix; Ctrl-C leaves no JVM behind; a second start resumes
from the saved state."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from camelops.demo.stack import camelops_env, git, orders_answer
from tests.e2e.local.conftest import camel_pids, wait_until
from tests.e2e.local.portal_browser import replay_in_browser
from tests.e2e.local.portal_client import PortalClient

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "repo-layout"
ROUTE = "integrations/orders-api/routes/orders-api.camel.yaml"
SPEC = "integrations/orders-api/integration.yaml"
START_TIMEOUT = 300.0
ROLLOUT_TIMEOUT = 180.0
TRACE_TIMEOUT = 60.0


class Demo:
    def __init__(self, root: Path, camel_home: Path) -> None:
        self.root, self.camel_home = root, camel_home
        self.process: subprocess.Popen[bytes] | None = None
        self.output = root.parent / "demo.out"
        self.offset = 0
        """Where the current run's output starts."""

    def start(self) -> None:
        self.offset = len(self.text())
        with self.output.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "camelops", "demo", "--root", str(self.root),
                 "--camel-home", str(self.camel_home), "--example", str(EXAMPLE)],
                stdout=out, stderr=subprocess.STDOUT, env=camelops_env(), cwd=ROOT,
                start_new_session=True,
            )  # fmt: skip
        wait_until(lambda: "camelops is running" in self.run_text() or self.exited(),
                   START_TIMEOUT, "the demo to serve")  # fmt: skip
        assert not self.exited(), self.text()

    def run_text(self) -> str:
        return self.text()[self.offset :]

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def text(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def saved(self) -> dict[str, object]:
        state: dict[str, object] = json.loads((self.root / "demo.json").read_text())
        return state

    @property
    def orders_url(self) -> str:
        return f"http://127.0.0.1:{self.saved()['port_base']}/orders"

    @property
    def portal_url(self) -> str:
        return f"http://127.0.0.1:{self.saved()['api_port']}/"

    def portal_password(self) -> str:
        path = self.root / "portal-password"
        assert path.stat().st_mode & 0o777 == 0o600
        return path.read_text().strip()

    def interrupt(self) -> int:
        """Ctrl-C, as a terminal sends it."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=120)


@pytest.fixture
def demo(tmp_path: Path, runtime_home: Path) -> Iterator[Demo]:
    running = Demo(tmp_path / "root", runtime_home)
    yield running
    if running.process is not None and running.process.poll() is None:
        running.interrupt()


def _synced(demo: Demo, revision: str) -> bool:
    """The runner reported `revision` Synced (the environment API, with the admin token)."""
    token = (demo.root / "control" / "admin-token").read_text().strip()
    request = urllib.request.Request(
        demo.portal_url.rstrip("/") + "/api/v1/projects/shop/environments/local",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        env = json.loads(response.read())
    bundles = {b["id"] for b in env.get("history") or [] if b.get("revision") == revision}
    return any(
        d.get("bundleId") in bundles
        and d.get("actor") == "runner"
        and str(d.get("state", "")).startswith("Synced/")
        for d in env.get("deployments") or []
    )


def _push(clone: Path, path: str, old: str, new: str, message: str) -> float:
    target = clone / path
    text = target.read_text()
    assert old in text
    target.write_text(text.replace(old, new))
    git("commit", "-qam", message, cwd=clone)
    started = time.monotonic()
    git("push", "-q", "origin", "main", cwd=clone)
    return started


_READ_FAILURES = """
import json, sys
from telemetry.store import TelemetryStore
store = TelemetryStore("chdb://" + sys.argv[1])
rows = store.failures("default", "orders-api")
print(json.dumps([[r.exchange_id, r.exception_type, r.exception_message] for r in rows]))
"""


def _stored_failures(root: Path) -> list[list[str]]:
    """The control plane's trace store, read once it has stopped (chDB: one process at a time),
    in a process of its own (one chDB path per process)."""
    done = subprocess.run(
        [sys.executable, "-c", _READ_FAILURES, str(root / "control" / "telemetry")],
        capture_output=True, text=True, check=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    rows: list[list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return rows


def _serves(url: str, items: int, status: int, needle: str = "") -> bool:
    answer = orders_answer(url, items)
    return answer is not None and answer[0] == status and needle in answer[1]


def _replay_in_portal(portal: PortalClient, password: str, revision: str) -> None:
    """In a real browser: the failed call shows on the environment's failed-messages page; its
    confirmed replay reaches Camel (portal -> tunnel -> runner -> sidecar -> Jolokia) and is
    audited. Done before the fixing push, while the process that traced it still runs."""
    links: list[str] = []

    def listed() -> bool:
        links[:] = portal.replay_links("shop", "local", "too many items")
        return bool(links)

    wait_until(listed, TRACE_TIMEOUT, "the failed exchange in the portal")
    seen = portal.replay_links("shop", "local", "too many items")
    done = replay_in_browser(
        portal.base, "admin", password, project="shop", env="local",
        needle="too many items", timeout=TRACE_TIMEOUT,
    )  # fmt: skip
    # the revision still limits orders to 50 items: the original message fails again in Camel
    assert "Result: failed" in done, done
    # Camel's root cause, not the CamelExecutionException it wraps it in (issue 14 item 7)
    assert "java.lang.IllegalArgumentException: too many items" in done, done
    assert revision in done, "the audit record names the revision that ran the replay"
    # ... and it is the same failure: the replayed exchange is traced failing on the same check
    wait_until(
        lambda: len(portal.replay_links("shop", "local", "too many items")) > len(seen),
        TRACE_TIMEOUT,
        "the replayed exchange's failure in the portal",
    )


def test_push_runs_a_failing_call_is_fixed_and_ctrl_c_leaves_nothing(
    demo: Demo, tmp_path: Path
) -> None:
    demo.start()
    password = demo.portal_password()
    assert password not in demo.text(), "the portal password is printed"
    assert demo.portal_url in demo.run_text()
    url = demo.orders_url
    assert _serves(url, 1, 200, '"status":"accepted"')
    assert _serves(url, 60, 500)  # over ORDERS_MAX_ITEMS: the route throws

    portal = PortalClient(demo.portal_url)
    portal.login("admin", password)
    revision = git("rev-parse", "main", cwd=demo.root / "git" / "shop.git")
    _replay_in_portal(portal, password, revision)

    clone = tmp_path / "clone"
    git("clone", "-q", str(demo.root / "git" / "shop.git"), str(clone))
    _push(clone, ROUTE, '"status":"accepted"', '"status":"accepted-v2"', "orders: v2")
    wait_until(lambda: _serves(url, 1, 200, "accepted-v2"), ROLLOUT_TIMEOUT, "revision v2")

    _push(clone, SPEC, 'ORDERS_MAX_ITEMS: "50"', 'ORDERS_MAX_ITEMS: "100"', "orders: allow 100")
    wait_until(lambda: _serves(url, 60, 200, "accepted-v2"), ROLLOUT_TIMEOUT, "the fix")
    # as the demo's user does: the environment shows the fix synced (the rollout finished, the
    # replaced process retired) before the replay
    fix = git("rev-parse", "main", cwd=clone)
    wait_until(lambda: _synced(demo, fix), ROLLOUT_TIMEOUT, "the fix reported synced")
    # the original was held by the sidecar of the process the fix replaced: handed over to the
    # new sidecar at the rollout, it now runs through the fixed revision
    links = portal.replay_links("shop", "local", "too many items")
    fixed = portal.replay(links[0])
    # answered within the portal's wait: the handover no longer waits for the old JVM's exit
    assert fixed.state == "succeeded", fixed.text

    assert demo.interrupt() == 0
    assert camel_pids(demo.root) == set(), "JVMs left after Ctrl-C"
    # the failed call was traced: sidecar -> runner relay -> tunnel -> control plane -> chDB
    failures = _stored_failures(demo.root)
    assert any("too many items" in message for _, _, message in failures), failures

    # a second start resumes: same repository and runner, the last revision serving again
    demo.start()
    assert "seeding" not in demo.run_text()
    assert "registering" not in demo.run_text()
    assert "portal login" not in demo.run_text()
    PortalClient(demo.portal_url).login("admin", password)  # the same login after resuming
    wait_until(lambda: _serves(url, 60, 200, "accepted-v2"), ROLLOUT_TIMEOUT, "the resumed demo")
    assert demo.interrupt() == 0
    assert camel_pids(demo.root) == set(), "JVMs left after the second Ctrl-C"
