"""The Kubernetes path exactly as a user runs it, in order, with TLS on: only commands, files,
flags and identities that README.md and docs/ give, run as subprocesses.

Documented commands this suite runs (docs/operations.md quick start, docs/runner.md "Running
the runner outside the cluster", docs/api.md):
  camelops serve --data-dir .camelops --api-tls --port P --tunnel-port T
  camelops token create --runner dev-cluster --data-dir .camelops
  camelops runner register --server https://127.0.0.1:P --token TOKEN --data-dir .runner
  camelops runner manifests --manage shop-dev --previews | kubectl apply -f -   (as the admin)
  kubectl config view / config set-cluster / set-credentials / set-context / use-context,
  kubectl -n camelops-system create token camelops-runner               (the runner's identity)
  camelops runner --data-dir .runner --kubeconfig runner.kubeconfig --relay off
  camelops secret seal --project shop --public-key shop.pem
  git init --bare / clone / commit / push
  HTTPS (curl --cacert .camelops/pki/ca.crt.pem, bearer .camelops/admin-token):
    POST /api/v1/projects, GET /api/v1/projects/shop/public-key, POST .../reconcile,
    GET .../environments/dev, POST .../environments/dev/sync, PUT/DELETE .../pin,
    GET .../previews, GET .../previews/N
  kubectl get / scale / auth can-i (the admin looking at the cluster)
  SIGTERM to the runner
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.userpath.user import REPO, Api, User, doc_block, eventually
from tools.k8s.controlplane import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]
EXAMPLE = REPO / "examples" / "repo-layout"
RUNNER_SA = "system:serviceaccount:camelops-system:camelops-runner"
SYNC_TIMEOUT = 90


@dataclass
class Platform:
    user: User
    api: Api
    runner: subprocess.Popen[bytes]
    revisions: list[str]


def _healthz(api: Api) -> bool | None:
    if not api.ca_file.exists():
        return None
    try:
        status, _ = api.call("GET", "/api/v1/healthz")
    except OSError:
        return None
    return True if status == 200 else None


def _seal(user: User, sealed: Path) -> None:
    """The user seals each value with the documented command and pastes it into the file."""
    text = sealed.read_text()
    for key in re.findall(r"^\s+(\w+): cops1:", text, flags=re.M):
        value = user.sh("camelops secret seal --project shop --public-key shop.pem",
                        stdin=f"demo-{key}").strip()  # fmt: skip
        assert value.startswith("cops1:"), value
        text = re.sub(rf"^(\s+{key}): cops1:\S+$", rf"\1: {value}", text, flags=re.M)
    sealed.write_text(text)


def _push(user: User, api: Api, message: str) -> str:
    user.sh(
        f"git add -A && git commit -qm '{message}' && git push -q origin main",
        cwd=user.cwd / "shop",
    )
    status, answer = api.call("POST", "/api/v1/projects/shop/reconcile")
    assert status == 202, answer
    return user.sh("git rev-parse HEAD", cwd=user.cwd / "shop").strip()


@pytest.fixture(scope="module")
def platform(user: User) -> Platform:
    api_port, tunnel_port = free_port(), free_port()
    user.start(f"camelops serve --data-dir .camelops --api-tls --port {api_port} "
               f"--tunnel-port {tunnel_port}", "serve.log")  # fmt: skip
    api = Api(f"https://127.0.0.1:{api_port}", user.cwd / ".camelops/pki/ca.crt.pem",
              user.cwd / ".camelops/admin-token")  # fmt: skip
    eventually(lambda: _healthz(api), "camelops serve over HTTPS", 60)
    token = user.sh("camelops token create --runner dev-cluster --data-dir .camelops").strip()
    user.sh(f"camelops runner register --server https://127.0.0.1:{api_port} "
            f'--token "{token}" --data-dir .runner')  # fmt: skip
    *install, run = doc_block(REPO / "docs" / "runner.md", "camelops runner manifests --manage")
    for command in install:
        user.sh(command)
    assert run.startswith("camelops runner --data-dir .runner --kubeconfig runner.kubeconfig")
    runner = user.start(run, "runner.log")
    # the project: a bare repository under serve's default local root, the example pushed to it
    user.sh("mkdir -p .camelops/repos && git init -q --bare -b main .camelops/repos/shop.git")
    body = {"name": "shop", "url": str(user.cwd / ".camelops/repos/shop.git"),
            "webhookSecret": "w" * 32}  # fmt: skip
    status, answer = api.call("POST", "/api/v1/projects", body)
    assert status == 201, answer
    (user.cwd / "shop.pem").write_text(str(api.get("/api/v1/projects/shop/public-key")))
    user.sh("git clone -q .camelops/repos/shop.git shop && git -C shop checkout -q -b main")
    user.sh(f"cp -r {EXAMPLE}/. shop/")
    _seal(user, user.cwd / "shop/secrets/db-credentials.sealed.yaml")
    # a sync that does not come carries runner.log in its failure (see `synced`)
    return Platform(user, api, runner, [_push(user, api, "the example as it is")])


def _deployment_of(api: Api, revision: str) -> dict[str, Any] | None:
    status, env = api.call("GET", "/api/v1/projects/shop/environments/dev")
    if status == 404:
        return None  # not reconciled yet
    assert status == 200, env
    ids = {h["id"] for h in env["history"] if h["revision"] == revision}
    for deployment in env["deployments"]:
        if deployment["actor"] == "runner" and deployment["bundleId"] in ids:
            return dict(deployment)
    return None


def synced(p: Platform, revision: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        assert p.runner.poll() is None, f"the runner exited\n{p.user.log('runner.log')}"
        found = _deployment_of(p.api, revision)
        if found is not None and found["state"].startswith("Failed"):
            raise AssertionError(f"sync of {revision[:12]} failed: {found}")
        return found if found is not None and found["state"].startswith("Synced/") else None

    try:
        return eventually(probe, f"revision {revision[:12]} Synced", SYNC_TIMEOUT)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- runner.log\n{p.user.log('runner.log')}") from None


def kubectl(p: Platform, args: str, ok: bool = True) -> str:
    return p.user.sh(f"kubectl {args}", ok=ok)


def test_first_sync_of_the_example_as_the_installed_identity(platform: Platform) -> None:
    p = platform
    # the identity the docs install really is least privileged: no LIST of namespaces
    assert kubectl(p, f"auth can-i list namespaces --as {RUNNER_SA}", ok=False).strip() == "no"
    deployment = synced(p, p.revisions[0])
    names = kubectl(p, "-n shop-dev get deployments -o name").split()
    assert sorted(names) == [f"deployment.apps/{n}" for n in
                             ("nightly-report", "orders-api", "payments-consumer")]  # fmt: skip
    labels = kubectl(p, "get namespace shop-dev -o jsonpath={.metadata.labels}")
    assert '"pod-security.kubernetes.io/enforce":"restricted"' in labels
    assert deployment["state"].startswith("Synced/")


def test_health_has_a_readable_detail(platform: Platform) -> None:
    """Anything but Healthy names an object and why. The example's Ingress never gets a
    load-balancer address here (no ingress controller), so the environment stays Progressing
    and the detail must say which object holds it."""
    deployment = synced(platform, platform.revisions[-1])
    assert deployment["state"] == "Synced/Progressing", deployment
    assert re.search(r"\b[A-Z][A-Za-z]+ shop-dev/[a-z0-9-]+ ", deployment["detail"]), deployment


def test_an_update_reaches_the_cluster(platform: Platform) -> None:
    p = platform
    props = p.user.cwd / "shop/integrations/orders-api/application.properties"
    props.write_text(props.read_text() + "\nshop.userpath=v2\n")
    p.revisions.append(_push(p.user, p.api, "orders: v2"))
    synced(p, p.revisions[-1])
    data = kubectl(p, "-n shop-dev get configmap orders-api -o jsonpath={.data}")
    assert "shop.userpath=v2" in data


def test_a_removed_integration_is_pruned(platform: Platform) -> None:
    p = platform
    p.user.sh("git rm -rq integrations/nightly-report", cwd=p.user.cwd / "shop")
    p.revisions.append(_push(p.user, p.api, "drop the nightly report"))
    synced(p, p.revisions[-1])
    gone = kubectl(p, "-n shop-dev get deployment nightly-report", ok=False)
    assert "nightly-report" not in gone
    assert "orders-api" in kubectl(p, "-n shop-dev get deployments -o name")


def test_drift_is_healed(platform: Platform) -> None:
    p = platform
    want = kubectl(p, "-n shop-dev get deployment orders-api -o jsonpath={.spec.replicas}")
    kubectl(p, "-n shop-dev scale deployment orders-api --replicas 7")
    status, answer = p.api.call("POST", "/api/v1/projects/shop/environments/dev/sync", {})
    assert status == 202, answer

    def healed() -> bool | None:
        now = kubectl(p, "-n shop-dev get deployment orders-api -o jsonpath={.spec.replicas}")
        return True if now == want else None

    eventually(healed, f"replicas back to {want}", SYNC_TIMEOUT)


def test_pin_and_unpin(platform: Platform) -> None:
    p = platform
    first = p.revisions[0]
    status, answer = p.api.call("PUT", "/api/v1/projects/shop/environments/dev/pin",
                                {"revision": first})  # fmt: skip
    assert status in (200, 202), answer

    def configmap_has(present: bool) -> bool | None:
        data = kubectl(p, "-n shop-dev get configmap orders-api -o jsonpath={.data}")
        return True if ("shop.userpath=v2" in data) is present else None

    eventually(lambda: configmap_has(False), "the pinned revision's ConfigMap", SYNC_TIMEOUT)
    status, answer = p.api.call("DELETE", "/api/v1/projects/shop/environments/dev/pin")
    assert status in (200, 202, 204), answer
    eventually(lambda: configmap_has(True), "the newest revision's ConfigMap", SYNC_TIMEOUT)


def _preview_of(p: Platform, ref: str) -> dict[str, Any] | None:
    listed = p.api.get("/api/v1/projects/shop/previews")["previews"]
    return next((v for v in listed if v["ref"] == ref), None)


def _preview_synced(p: Platform, number: int, head: str) -> dict[str, Any] | None:
    shown = p.api.get(f"/api/v1/projects/shop/previews/{number}")
    deployment = shown.get("deployment") or {}
    done = shown["head"] == head and str(deployment.get("state", "")).startswith("Synced/")
    return shown if done else None


def test_a_branch_preview_is_opened_deployed_updated_and_closed(platform: Platform) -> None:
    p = platform
    shop = p.user.cwd / "shop"
    ref = "refs/heads/feature/userpath"
    props = shop / "integrations/orders-api/application.properties"
    p.user.sh("git checkout -qb feature/userpath", cwd=shop)
    props.write_text(props.read_text() + "shop.preview=one\n")
    p.user.sh("git commit -qam 'preview: one' && git push -q origin feature/userpath", cwd=shop)
    head = p.user.sh("git rev-parse HEAD", cwd=shop).strip()
    assert p.api.call("POST", "/api/v1/projects/shop/reconcile")[0] == 202
    opened = eventually(lambda: _preview_of(p, ref), "the branch preview", SYNC_TIMEOUT)
    number = int(opened["number"])
    assert number < 1000, f"a short preview number, not a hash: {number}"
    shown = eventually(lambda: _preview_synced(p, number, head), f"pr-{number} Synced", 120)
    assert shown["deployment"]["runner"] == "dev-cluster"
    data = kubectl(p, f"-n pr-{number} get configmap orders-api -o jsonpath={{.data}}")
    assert "shop.preview=one" in data
    # updated: the same number, the new head deployed
    props.write_text(props.read_text() + "shop.preview=two\n")
    p.user.sh("git commit -qam 'preview: two' && git push -q origin feature/userpath", cwd=shop)
    head = p.user.sh("git rev-parse HEAD", cwd=shop).strip()
    assert p.api.call("POST", "/api/v1/projects/shop/reconcile")[0] == 202
    eventually(lambda: _preview_synced(p, number, head), f"pr-{number} updated", SYNC_TIMEOUT)
    data = kubectl(p, f"-n pr-{number} get configmap orders-api -o jsonpath={{.data}}")
    assert "shop.preview=two" in data
    # closed: the branch is deleted, the runner prunes the preview and its namespace
    p.user.sh("git checkout -q main && git push -q origin --delete feature/userpath", cwd=shop)
    assert p.api.call("POST", "/api/v1/projects/shop/reconcile")[0] == 202

    def namespace_going() -> bool | None:
        phase = kubectl(p, f"get namespace pr-{number} -o jsonpath={{.status.phase}}", ok=False)
        return True if phase.strip() in ("", "Terminating") else None

    eventually(namespace_going, f"namespace pr-{number} deleted", SYNC_TIMEOUT)
    assert p.api.get(f"/api/v1/projects/shop/previews/{number}")["state"] == "closed"


def test_sigterm_stops_the_runner_promptly(platform: Platform) -> None:
    p = platform
    started = time.monotonic()
    p.runner.send_signal(signal.SIGTERM)
    code = p.runner.wait(timeout=60)
    took = time.monotonic() - started
    assert code == 0, p.user.log("runner.log")
    assert "Cannot operate on a closed database" not in p.user.log("runner.log")
    assert took < 5, f"the runner took {took:.1f}s to stop on SIGTERM"
