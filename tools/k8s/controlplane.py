"""A real Kubernetes control plane on loopback for tests and benches: etcd, kube-apiserver (RBAC
on), kube-controller-manager, kube-scheduler and kwok, built by `make k8s` (tools/k8s/build.sh)."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.k8s.pki import Pair, TestPKI

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".cache" / "k8s" / "bin"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
STARTUP_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(check: Callable[[], bool], timeout: float, what: str, poll: float = 0.2) -> None:
    """Poll `check` until it holds; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(poll)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class Process:
    name: str
    argv: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            # own process group, so stop() reaches any children too
            self.proc = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class ControlPlane:
    """Starts the processes in `root`; `admin_kubeconfig` is system:masters."""

    root: Path
    apiserver_port: int = field(default_factory=free_port)
    procs: dict[str, Process] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.pki = TestPKI(self.root / "pki")
        self.serving = self.pki.issue("apiserver", "kube-apiserver", server=True)
        self.admin = self.pki.issue("admin", "admin", org="system:masters")
        self.sa_keys = self.pki.service_account_keys()
        self.url = f"https://127.0.0.1:{self.apiserver_port}"
        self.admin_kubeconfig = self.write_kubeconfig("admin", self.admin)

    # ---- kubeconfigs ---------------------------------------------------------------------
    def kubeconfig_dict(
        self, user: str, *, pair: Pair | None = None, token: str = ""
    ) -> dict[str, Any]:
        creds: dict[str, str] = {"token": token} if token else {}
        if pair is not None:
            creds = {"client-certificate": str(pair.cert), "client-key": str(pair.key)}
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "test",
                    "cluster": {"server": self.url, "certificate-authority": str(self.pki.ca_cert)},
                }
            ],
            "users": [{"name": user, "user": creds}],
            "contexts": [{"name": user, "context": {"cluster": "test", "user": user}}],
            "current-context": user,
        }

    def write_kubeconfig(self, user: str, pair: Pair | None = None, token: str = "") -> Path:
        path = self.root / f"{user}.kubeconfig"
        path.write_text(json.dumps(self.kubeconfig_dict(user, pair=pair, token=token)))
        path.chmod(0o600)
        return path

    # ---- processes -----------------------------------------------------------------------
    def _proc(self, name: str, argv: list[str]) -> Process:
        proc = Process(name, argv, self.root / f"{name}.log")
        self.procs[name] = proc
        return proc

    def start(self) -> None:
        self._start_etcd()
        self._define_apiserver()
        self.start_apiserver()
        self._start_controllers()

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        proc = self._proc(
            "etcd",
            [
                str(BIN / "etcd"),
                f"--data-dir={self.root / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=default=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync=true",
                "--quota-backend-bytes=4294967296",
            ],
        )
        proc.start()
        wait_until(lambda: _http_ok(f"{self.etcd_url}/health"), STARTUP_TIMEOUT, "etcd /health")

    def _define_apiserver(self) -> None:
        self._proc(
            "kube-apiserver",
            [
                str(BIN / "kube-apiserver"),
                f"--etcd-servers={self.etcd_url}",
                f"--cert-dir={self.root / 'apiserver-certs'}",
                f"--tls-cert-file={self.serving.cert}",
                f"--tls-private-key-file={self.serving.key}",
                f"--client-ca-file={self.pki.ca_cert}",
                f"--secure-port={self.apiserver_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--allow-privileged=true",
                "--authorization-mode=Node,RBAC",
                f"--service-account-issuer={self.url}/",
                f"--service-account-key-file={self.sa_keys.cert}",
                f"--service-account-signing-key-file={self.sa_keys.key}",
                "--endpoint-reconciler-type=none",
                # no token mounting (kwok runs no containers); no not-ready taint on new Nodes,
                # since the node-lifecycle controller that would lift it is off (kwok nodes
                # send no heartbeats it could trust)
                "--disable-admission-plugins=ServiceAccount,TaintNodesByCondition",
            ],
        )

    def start_apiserver(self) -> None:
        self.procs["kube-apiserver"].start()
        wait_until(self.ready, STARTUP_TIMEOUT, "kube-apiserver /readyz")

    def stop_apiserver(self) -> None:
        self.procs["kube-apiserver"].stop()

    def ready(self) -> bool:
        return _http_ok(f"{self.url}/readyz", self._admin_tls())

    def _admin_tls(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        ctx.load_cert_chain(str(self.admin.cert), str(self.admin.key))
        return ctx

    def _start_controllers(self) -> None:
        kubeconfig = str(self.admin_kubeconfig)
        self._proc(
            "kube-controller-manager",
            [
                str(BIN / "kube-controller-manager"),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                f"--root-ca-file={self.pki.ca_cert}",
                f"--service-account-private-key-file={self.sa_keys.key}",
                "--leader-elect=false",
                "--secure-port=0",
                "--controllers=*,-node-ipam-controller,-node-lifecycle-controller",
                "--concurrent-deployment-syncs=10",
            ],
        ).start()
        self._proc(
            "kube-scheduler",
            [
                str(BIN / "kube-scheduler"),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--leader-elect=false",
                "--secure-port=0",
            ],
        ).start()
        self._proc(
            "kwok",
            [
                str(BIN / "kwok"),
                f"--kubeconfig={kubeconfig}",
                f"--config={BIN.parent / 'kwok-stages.yaml'}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                "--cidr=10.0.1.0/24",
                "--node-ip=10.0.0.1",
            ],
        ).start()

    def stop(self) -> None:
        for name in reversed(list(self.procs)):
            self.procs[name].stop()

    def logs(self) -> str:
        return "\n".join(f"--- {n} ---\n{p.tail()}" for n, p in self.procs.items())


def _http_ok(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def missing_binaries() -> list[str]:
    needed = [BIN / name for name in BINARIES] + [BIN.parent / "kwok-stages.yaml"]
    return [path.name for path in needed if not path.exists()]
