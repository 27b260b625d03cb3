"""An API test harness: the real aiohttp app on 127.0.0.1 over a real core."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from aiohttp.test_utils import TestClient

from reconciler.store.records import Role
from tests.integration.reconciler.harness import Core

HOOK_SECRET = "s3cret-hook-value"


@dataclass
class Api:
    client: TestClient  # type: ignore[type-arg]
    core: Core
    admin: str
    viewer: str

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.admin}"}


def issue(core: Core, name: str, role: Role, org: int | None = None) -> str:
    user = core.store.accounts.ensure_user(org or core.org_id, name, role)
    return core.store.accounts.issue_token(user, f"{name}-token")


def generic_headers(
    body: bytes, secret: str = HOOK_SECRET, stamp: int | None = None
) -> dict[str, str]:
    when = str(int(time.time()) if stamp is None else stamp)
    digest = hmac.new(secret.encode(), when.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Camelops-Timestamp": when, "X-Camelops-Signature-256": f"sha256={digest}"}


def github_headers(body: bytes, delivery: str, secret: str = HOOK_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }
