"""Mount the portal at `/` on the control plane's app, beside /api/v1, /metrics and /v1/tunnel.

aiohttp's `add_subapp` refuses an empty prefix, so the portal is a rule-matched sub-app (what
`add_domain` uses) whose rule takes every path the API does not own.
"""

from __future__ import annotations

from functools import partial

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRuleMatching, MatchedSubAppResource, _InfoDict

from portal.app import portal_app
from portal.traces import TraceReader
from reconciler.api.replay_types import ReplaySender
from reconciler.server import ControlPlane
from reconciler.service.accounts import PortalAccounts
from reconciler.service.portal_actions import PortalActions
from reconciler.service.portal_views import PortalViews

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


def mount_portal(
    plane: ControlPlane, *, traces: TraceReader | None, replays: ReplaySender | None
) -> web.Application:
    store = plane.store
    portal = portal_app(
        accounts=PortalAccounts(store),
        views=PortalViews(store),
        actions=PortalActions(store, plane.controller.deployer, replays),
        traces=traces,
    )
    # the one private call: the public add_domain builds this same resource with a host rule
    plane.app._add_subapp(partial(MatchedSubAppResource, NotApiPaths(), portal), portal)
    return portal
