"""The one boundary to the kubernetes client: raw REST calls, discovery, apply/get/delete/list.

Everything else in the runner sees `KubeClient` and our own exceptions; JSON bodies stay plain
dicts (the generated models are slow and lossy for arbitrary kinds).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from contract.retry import ErrorKind
from runner.driver import DriverError
from runner.objects import FIELD_MANAGER, Manifest, ObjectRef

_BODY_LIMIT = 2000  # error bodies are truncated: they may be huge and are logged
_TRANSIENT = frozenset({429, 500, 502, 503, 504})
Decoder = Callable[[bytes], dict[str, Any]]


class KubeError(DriverError):
    """Anything that went wrong talking to the API server."""


class Unreachable(KubeError):
    """No HTTP answer at all: the API server is down or the network is."""

    kind = ErrorKind.TRANSIENT


class ApiError(KubeError):
    """The API server answered with an error status."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status, self.reason, self.message = status, reason, message
        self.kind = ErrorKind.TRANSIENT if status in _TRANSIENT else ErrorKind.WAITING


class UnknownKind(KubeError):
    """The API server does not serve this apiVersion/kind (e.g. a CRD not yet installed)."""


@dataclass(frozen=True, slots=True)
class Resource:
    plural: str
    namespaced: bool


def _configuration(kubeconfig: Path | None, context: str | None) -> k8s_client.Configuration:
    cfg = k8s_client.Configuration()
    if kubeconfig is None:
        k8s_config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
    else:
        k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig),
            context=context,
            client_configuration=cfg,
            persist_config=False,
        )
    # our own loop retries with backoff; a hidden urllib3 retry would only hide an outage
    cfg.retries = False
    cfg.connection_pool_maxsize = 32
    return cfg


class KubeClient:
    """A thread-safe client for one cluster. `kubeconfig=None` means in-cluster."""

    def __init__(
        self,
        kubeconfig: Path | None = None,
        *,
        context: str | None = None,
        timeout: float = 30.0,
        field_manager: str = FIELD_MANAGER,
    ) -> None:
        self._api = k8s_client.ApiClient(_configuration(kubeconfig, context))
        self._timeout = timeout
        self.field_manager = field_manager
        self._resources: dict[str, dict[str, Resource]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._api.close()  # type: ignore[no-untyped-call]

    # ---- raw REST ----------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        return self.send(method, path, query=query, body=body, content_type=content_type)[1]

    def send(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        decode: Decoder | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """One request; returns the HTTP status and the decoded JSON body (`decode`: how a
        successful answer's body is decoded, by default json.loads)."""
        headers = {"Accept": "application/json", "Content-Type": content_type}
        _, url, headers, _, _ = self._api.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params=headers,
            auth_settings=["BearerToken"],
        )
        try:
            resp = self._api.call_api(method, url, headers, body, None, self._timeout)
            data = resp.read()  # type: ignore[no-untyped-call]
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Unreachable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        except k8s_client.ApiException as exc:  # raised by the client for TLS failures
            raise Unreachable(f"{method} {path}: {exc.reason}") from exc
        if resp.status >= 400:
            raise _api_error(resp.status, data)
        if not data:
            return resp.status, {}
        parsed: dict[str, Any] = decode(data) if decode is not None else json.loads(data)
        return resp.status, parsed

    # ---- discovery ---------------------------------------------------------------------
    def resource(self, api_version: str, kind: str) -> Resource:
        """Plural name and scope of a kind; rediscovered once on a miss (CRDs arrive late)."""
        found = self._discovered(api_version, refresh=False).get(kind)
        if found is None:
            found = self._discovered(api_version, refresh=True).get(kind)
        if found is None:
            raise UnknownKind(f"the API server does not serve {kind} in {api_version}")
        return found

    def _discovered(self, api_version: str, *, refresh: bool) -> dict[str, Resource]:
        with self._lock:
            cached = self._resources.get(api_version)
        if cached is not None and not refresh:
            return cached
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        try:
            doc = self.request("GET", base)
        except ApiError as exc:
            if exc.status != 404:
                raise
            doc = {}
        table = {
            str(r["kind"]): Resource(str(r["name"]), bool(r.get("namespaced")))
            for r in doc.get("resources", [])
            if "/" not in str(r.get("name", ""))  # sub-resources such as deployments/status
        }
        with self._lock:
            self._resources[api_version] = table
        return table

    def collection_path(self, api_version: str, kind: str, namespace: str) -> str:
        res = self.resource(api_version, kind)
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        if res.namespaced and namespace:
            return f"{base}/namespaces/{quote(namespace, safe='')}/{res.plural}"
        return f"{base}/{res.plural}"

    def object_path(self, ref: ObjectRef) -> str:
        collection = self.collection_path(ref.api_version, ref.kind, ref.namespace)
        return f"{collection}/{quote(ref.name, safe='')}"

    def is_namespaced(self, ref: ObjectRef) -> bool:
        return self.resource(ref.api_version, ref.kind).namespaced

    # ---- verbs -------------------------------------------------------------------------
    def apply(
        self, obj: Manifest, *, force: bool = False, dry_run: bool = False
    ) -> tuple[bool, dict[str, Any]]:
        """Server-side apply with our field manager: (created, the object as the server has it)."""
        query = [("fieldManager", self.field_manager), ("force", "true" if force else "false")]
        if dry_run:
            query.append(("dryRun", "All"))
        path = self.object_path(ObjectRef.of(obj))
        status, live = self.send(
            "PATCH", path, query=query, body=obj, content_type="application/apply-patch+yaml"
        )
        return status == 201, live

    def get(self, ref: ObjectRef) -> dict[str, Any] | None:
        try:
            return self.request("GET", self.object_path(ref))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def delete(self, ref: ObjectRef) -> bool:
        """Delete with background propagation; False when it was already gone."""
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        try:
            self.request("DELETE", self.object_path(ref), body=body)
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str = "",
        *,
        label_selector: str = "",
        decode: Decoder | None = None,
    ) -> list[dict[str, Any]]:
        """The collection's items; `decode` as for `send` (the answers are never mutated)."""
        query = [("labelSelector", label_selector)] if label_selector else []
        path = self.collection_path(api_version, kind, namespace)
        items: list[dict[str, Any]] = self.send("GET", path, query=query, decode=decode)[1].get(
            "items", []
        )
        return items


def _api_error(status: int, data: bytes) -> ApiError:
    text = data[:_BODY_LIMIT].decode(errors="replace")
    try:
        body = json.loads(data)
    except ValueError:
        return ApiError(status, "Error", text)
    if not isinstance(body, dict):
        return ApiError(status, "Error", text)
    causes = (body.get("details") or {}).get("causes") or []
    fields = "; ".join(
        f"{c.get('field', '')}: {c.get('message', '')}" for c in causes if isinstance(c, dict)
    )
    message = str(body.get("message", text))[:_BODY_LIMIT]
    if fields and fields not in message:
        message = f"{message} ({fields[:_BODY_LIMIT]})"
    return ApiError(status, str(body.get("reason") or "Error"), message)
