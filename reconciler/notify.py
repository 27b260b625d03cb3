"""Outgoing notifications (commit status, PR comment): an interface and a generic webhook.

Hosted providers (GitHub statuses, GitLab notes) plug in behind `Notifier`; the generic one
POSTs JSON signed like GitHub's webhooks (`X-Camelops-Signature-256: sha256=<hex>`), so the
receiver can verify it. Events never hold secret values: diffs are masked by the renderers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any, Protocol

import aiohttp

log = logging.getLogger(__name__)


class Notifier(Protocol):
    async def notify(self, event: dict[str, Any]) -> None:
        """Deliver one event; failures are logged by the implementation, never raised."""


class WebhookNotifier:
    def __init__(self, url: str, secret: bytes, *, timeout_s: float = 10.0) -> None:
        self.url = url
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def notify(self, event: dict[str, Any]) -> None:
        body = json.dumps(event, sort_keys=True).encode()
        signature = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Camelops-Signature-256": f"sha256={signature}",
            "X-Camelops-Event": str(event.get("kind", "event")),
        }
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.post(self.url, data=body, headers=headers) as response,
            ):
                if response.status >= 300:
                    log.warning("notification to %s answered %s", self.url, response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("notification to %s failed: %s", self.url, type(exc).__name__)
