"""Typed application and request state for the API (aiohttp AppKey / RequestKey)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from reconciler.api.ratelimit import RateLimiter, ReplayGuard
from reconciler.controller import Controller
from reconciler.metrics import Metrics
from reconciler.service.environments import EnvironmentService
from reconciler.service.projects import ProjectService
from reconciler.service.reads import ReadService
from reconciler.service.replays import ReplayService
from reconciler.sources import SourcePolicy
from reconciler.store import StateStore
from reconciler.store.records import Principal


@dataclass(frozen=True, slots=True)
class ApiSettings:
    webhook_max_body: int = 1024 * 1024
    """Largest webhook body accepted; bigger answers 413 before the body is read."""
    webhook_max_age_s: float = 300.0
    """Generic (signed, timestamped) deliveries older than this are refused as replays."""
    webhook_rate: float = 2.0
    """Accepted deliveries per second per repository, after a burst of `webhook_burst`."""
    webhook_burst: int = 20
    failed_auth_rate: float = 1.0
    """Refused deliveries per second per client address before it gets 429."""


@dataclass(frozen=True, slots=True)
class Services:
    store: StateStore
    controller: Controller
    metrics: Metrics
    settings: ApiSettings
    hook_limiter: RateLimiter
    auth_limiter: RateLimiter
    replays: ReplayGuard
    environments: EnvironmentService
    projects: ProjectService
    sources: SourcePolicy
    replay_requests: ReplayService
    reads: ReadService
    """What the API shows: typed read models of the store's records."""


SERVICES = web.AppKey("services", Services)
PRINCIPAL = web.RequestKey("principal", Principal)
