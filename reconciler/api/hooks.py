"""`POST /api/v1/hooks/git/{org}/{repo}` (`/api/v1/hooks/git/{repo}` for the bootstrap org): a
verified push notification that only triggers a fetch.

The body is never parsed or trusted (Argo CD's model): a valid delivery just queues the
repository's project for a reconcile, which fetches from the configured URL. Checks, in order:
per-client budget of unverified deliveries (429; charged on arrival, so requests in flight
count, and refunded once a delivery verifies: forgeries spend it, genuine deliveries never),
size (413, before reading when Content-Length says so), signature or token in constant time
(401; unknown repositories look the same), replay (401), per-repository rate of verified
deliveries (429; forgeries never reach it). A refusal is logged as one bounded line.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from pathlib import Path

from aiohttp import web

from reconciler.api.keys import SERVICES, Services
from reconciler.api.log_bounds import printable
from reconciler.api.problems import problem
from reconciler.errors import ReconcilerError
from reconciler.store.accounts import BOOTSTRAP_ORG

log = logging.getLogger(__name__)

_UNKNOWN_REPO_SECRET = secrets.token_bytes(32)
POST_RECEIVE_SCRIPT = Path(__file__).resolve().parent.parent / "hooks" / "post-receive"
"""Copy into a local bare repository's hooks/ to notify this receiver on every push."""


class HookRefused(ReconcilerError):
    def __init__(self, status: int, message: str, *, verified: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.verified = verified
        """The signature was good: not charged to the client's unverified budget."""


async def git_hook(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    client = request.remote or "unknown"
    # charged before any work: a burst of concurrent forgeries cannot all be in flight at once
    if not services.auth_limiter.allow(client):
        services.metrics.webhook("refused-429")
        return problem(429, "too many unverified deliveries from this address")
    try:
        body = await _read_capped(request, services.settings.webhook_max_body)
        project_id = await _verify(request, services, body)
    except HookRefused as refused:
        if refused.verified:
            services.auth_limiter.refund(client)
        else:
            log.warning(
                "webhook for %s from %s refused (%d): %s",
                printable(request.match_info["repo"], 100),
                client,
                refused.status,
                refused.message,
            )
        services.metrics.webhook(f"refused-{refused.status}")
        return problem(refused.status, refused.message)
    services.auth_limiter.refund(client)  # genuine deliveries never spend the client's budget
    await services.controller.request_durably(project_id)  # before the 202: survives a crash
    services.metrics.webhook("accepted")
    return web.json_response({"accepted": True}, status=202)


async def _read_capped(request: web.Request, cap: int) -> bytes:
    if request.content_length is not None and request.content_length > cap:
        raise HookRefused(413, f"body larger than {cap} bytes")
    chunks, size = [], 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > cap:
            raise HookRefused(413, f"body larger than {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _verify(request: web.Request, services: Services, body: bytes) -> int:
    repo = request.match_info["repo"]
    org = request.match_info.get("org", BOOTSTRAP_ORG)
    project = await asyncio.to_thread(services.store.projects.by_repository, org, repo)
    secret = _UNKNOWN_REPO_SECRET
    if project is not None:
        secret = await asyncio.to_thread(services.store.projects.webhook_secret, project) or secret
    delivery = _check_signature(request, services, secret, body)
    if project is None:  # after the check, so unknown repositories cost the same
        raise HookRefused(401, "signature check failed")
    if delivery and not services.replays.first_time(f"{project.id}:{delivery}"):
        raise HookRefused(401, "delivery already received (replay)")
    if not services.hook_limiter.allow(str(project.id)):
        raise HookRefused(429, "too many deliveries for this repository", verified=True)
    return project.id


def _check_signature(request: web.Request, services: Services, secret: bytes, body: bytes) -> str:
    """Verify by provider; returns the delivery id used for replay detection ('' if none)."""
    headers = request.headers
    if "X-Hub-Signature-256" in headers:  # GitHub, and Gitea/Gogs which also send it
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        _require(hmac.compare_digest(headers["X-Hub-Signature-256"].encode(), expected.encode()))
        return headers.get("X-GitHub-Delivery", "") or headers.get("X-Gitea-Delivery", "")
    if "X-Gitea-Signature" in headers:
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
        _require(hmac.compare_digest(headers["X-Gitea-Signature"].encode(), expected.encode()))
        return headers.get("X-Gitea-Delivery", "")
    if "X-Gitlab-Token" in headers:
        _require(hmac.compare_digest(headers["X-Gitlab-Token"].encode(), secret))
        return headers.get("X-Gitlab-Event-UUID", "")
    if "X-Camelops-Signature-256" in headers:
        return _check_generic(
            headers["X-Camelops-Signature-256"],
            headers.get("X-Camelops-Timestamp", ""),
            max_age=services.settings.webhook_max_age_s,
            secret=secret,
            body=body,
        )
    raise HookRefused(401, "unsigned delivery")


def _check_generic(
    signature: str, stamp: str, *, max_age: float, secret: bytes, body: bytes
) -> str:
    """Generic form: HMAC-SHA256 over `<unix seconds>.<body>`; stale timestamps are replays."""
    signed = stamp.encode() + b"." + body
    expected = "sha256=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()
    _require(hmac.compare_digest(signature.encode(), expected.encode()))
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > max_age:
        raise HookRefused(401, "delivery timestamp too old (replay)")
    return f"generic:{stamp}:{signature}"


def _require(ok: bool) -> None:
    if not ok:
        raise HookRefused(401, "signature check failed")
