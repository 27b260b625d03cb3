"""Mount the portal at `/` on the control plane's app, beside /api/v1, /metrics and /v1/tunnel.

aiohttp's `add_subapp` refuses an empty prefix, so the portal is a rule-matched sub-app (what
`add_domain` uses) whose rule takes every path the API does not own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRuleMatching, MatchedSubAppResource, _InfoDict

from portal.app import portal_app
from portal.runner_credentials import RunnerCertificate, RunnerCredentials
from reconciler.api.auth import OWN_AUTHENTICATION
from reconciler.server import ControlPlane
from reconciler.service.accounts import PortalAccounts
from reconciler.service.exchange_types import ExchangeReader
from reconciler.service.live_console import LiveConsole
from reconciler.service.portal_actions import PortalActions
from reconciler.service.portal_views import PortalViews
from reconciler.service.replay_types import ReplaySender
from reconciler.service.route_diagrams import RouteDiagrams, mirror_loader
from tunnel.pki.identity import RunnerIdentity
from tunnel.pki.service import ControlPlanePki
from tunnel.pki.store import SqlitePkiStore

API_PREFIXES = ("/api/", "/metrics", "/v1/")


class NotApiPaths(AbstractRuleMatching):
    def __init__(self, prefixes: tuple[str, ...] = API_PREFIXES) -> None:
        self._prefixes = prefixes

    async def match(self, request: web.Request) -> bool:
        return not request.path.startswith(self._prefixes)

    def get_info(self) -> _InfoDict:
        return {"prefix": "/"}

    @property
    def canonical(self) -> str:
        return "/"


class PkiRunnerCredentials:
    """`RunnerCredentials` over the control plane's CA and its SQLite PKI store."""

    def __init__(self, pki: ControlPlanePki) -> None:
        self._pki = pki

    def create_token(self, org: str, runner: str) -> str:
        return self._pki.create_token(RunnerIdentity(org, runner))

    def certificates(self, org: str) -> list[RunnerCertificate]:
        store = self._pki.store
        if not isinstance(store, SqlitePkiStore):
            return []
        return [
            RunnerCertificate(
                runner,
                serial,
                datetime.fromisoformat(not_after),
                datetime.fromisoformat(revoked) if revoked else None,
            )
            for runner, serial, not_after, revoked in store.certificates_of(org)
        ]

    def revoke(self, org: str, runner: str) -> int:
        identity = RunnerIdentity(org, runner)
        return self._pki.store.revoke_runner(identity, "revoked in the portal", datetime.now(UTC))


def mount_portal(
    plane: ControlPlane,
    *,
    traces: ExchangeReader | None,
    replays: ReplaySender | None,
    credentials: RunnerCredentials | None = None,
    console: LiveConsole | None = None,
) -> web.Application:
    store = plane.store
    pipeline = plane.controller.pipeline
    portal = portal_app(
        accounts=PortalAccounts(store),
        views=PortalViews(store),
        actions=PortalActions(store, plane.controller.deployer, replays),
        traces=traces,
        credentials=credentials,
        diagrams=RouteDiagrams(store, mirror_loader(pipeline.mirrors, pipeline.work_dir)),
        console=console,
    )
    portal[OWN_AUTHENTICATION] = True  # sessions and default-deny of its own
    # the one private call: the public add_domain builds this same resource with a host rule
    plane.app._add_subapp(partial(MatchedSubAppResource, NotApiPaths(), portal), portal)
    return portal
