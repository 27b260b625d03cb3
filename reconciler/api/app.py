"""The aiohttp application: API routes, webhook, OpenAPI, metrics; the controller's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from reconciler.api import accounts, console, environments, exchanges, projects, replays
from reconciler.api.auth import (
    PUBLIC_PATHS,
    PUBLIC_PREFIXES,
    PUBLIC_ROUTES,
    PublicRoutes,
    authenticate,
)
from reconciler.api.headers import add_security_headers
from reconciler.api.hooks import git_hook
from reconciler.api.keys import SERVICES, ApiSettings, Services
from reconciler.api.log_bounds import bound_server_logs
from reconciler.api.openapi import openapi_document
from reconciler.api.problems import problem_responses
from reconciler.api.ratelimit import RateLimiter, ReplayGuard
from reconciler.controller import Controller
from reconciler.metrics import Metrics
from reconciler.service.environments import EnvironmentService
from reconciler.service.projects import ProjectService
from reconciler.service.reads import ReadService
from reconciler.service.replays import ReplayService
from reconciler.sources import SourcePolicy
from reconciler.store import StateStore

API_PREFIX = "/api/v1"
MAX_BODY = 1024 * 1024
MetricsSource = Callable[[], str]
"""Another component's Prometheus text (e.g. the tunnel server's), served on /metrics too."""
METRICS_SOURCES = web.AppKey("metrics_sources", list[MetricsSource])


def add_metrics(app: web.Application, source: MetricsSource) -> None:
    """Called by the composition root before the app starts."""
    app[METRICS_SOURCES].append(source)


def build_services(
    store: StateStore,
    controller: Controller,
    metrics: Metrics,
    settings: ApiSettings | None = None,
    *,
    sources: SourcePolicy | None = None,
) -> Services:
    """`sources`: which repository URLs may be registered (default: no local repositories)."""
    settings = settings or ApiSettings()
    return Services(
        store=store,
        controller=controller,
        metrics=metrics,
        settings=settings,
        hook_limiter=RateLimiter(settings.webhook_rate, settings.webhook_burst),
        auth_limiter=RateLimiter(settings.failed_auth_rate, 30),
        replays=ReplayGuard(),
        environments=EnvironmentService(store, controller.deployer),
        projects=ProjectService(store, controller),
        sources=sources or SourcePolicy(),
        replay_requests=ReplayService(store),
        reads=ReadService(store),
    )


def make_api(services: Services) -> web.Application:
    """The JSON API (routes relative to `API_PREFIX`): a sub-app of the root app."""
    api = web.Application(client_max_size=MAX_BODY, middlewares=[problem_responses])
    api[SERVICES] = services
    api.router.add_post("/hooks/git/{repo}", git_hook)  # the bootstrap org's
    api.router.add_post("/hooks/git/{org}/{repo}", git_hook)
    api.router.add_get("/openapi.json", _openapi)
    api.router.add_get("/healthz", _healthz)
    api.add_routes(projects.routes)
    api.add_routes(environments.routes)
    api.add_routes(replays.routes)
    api.add_routes(exchanges.routes)
    api.add_routes(accounts.routes)
    api.add_routes(console.routes)
    return api


def make_app(services: Services, *, run_controller: bool = True) -> web.Application:
    """The root app: authentication (default deny) for every path, `/metrics`, the API under
    `API_PREFIX` (more sub-apps, like the portal, are added with `add_subapp`) and the ordered
    lifetimes in `cleanup_ctx` (the composition root inserts what must start before the
    controller). `run_controller=False` when the caller owns the controller (tests)."""
    bound_server_logs()
    app = web.Application(middlewares=[authenticate], client_max_size=MAX_BODY)
    app[SERVICES] = services
    app[METRICS_SOURCES] = []
    app[PUBLIC_ROUTES] = PublicRoutes(PUBLIC_PATHS, PUBLIC_PREFIXES)
    add_security_headers(app)
    app.router.add_get("/metrics", _metrics)
    app.add_subapp(API_PREFIX, make_api(services))
    if run_controller:
        app.cleanup_ctx.append(_controller_lifetime)
    return app


async def _controller_lifetime(app: web.Application) -> AsyncIterator[None]:
    controller = app[SERVICES].controller
    await controller.start()
    yield
    await controller.stop()


async def _openapi(request: web.Request) -> web.Response:
    del request
    return web.json_response(openapi_document())


async def _healthz(request: web.Request) -> web.Response:
    del request
    return web.json_response({"ok": True})


async def _metrics(request: web.Request) -> web.Response:
    text = request.app[SERVICES].metrics.render()
    text += "".join(render() for render in request.app[METRICS_SOURCES])
    return web.Response(text=text, content_type="text/plain", charset="utf-8")
