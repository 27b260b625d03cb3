"""Typed application and request state of the portal."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from jinja2 import Environment

from portal.diagram import LayoutCache
from portal.runner_credentials import RunnerCredentials
from reconciler.service.accounts import PortalAccounts
from reconciler.service.exchange_types import ExchangeReader
from reconciler.service.live_console import LiveConsole
from reconciler.service.portal_actions import PortalActions
from reconciler.service.portal_types import SessionRecord
from reconciler.service.portal_views import PortalViews
from reconciler.service.route_diagrams import RouteDiagrams


@dataclass(frozen=True, slots=True)
class Portal:
    accounts: PortalAccounts
    views: PortalViews
    actions: PortalActions
    traces: ExchangeReader | None
    credentials: RunnerCredentials | None
    templates: Environment
    diagrams: RouteDiagrams | None = None
    console: LiveConsole | None = None
    layouts: LayoutCache = field(default_factory=LayoutCache)


PORTAL = web.AppKey("portal", Portal)
SESSION = web.RequestKey("portal_session", SessionRecord)
SESSION_ID = web.RequestKey("portal_session_id", str)
