"""`portal_app(...)`: the portal as an aiohttp application the composition root mounts at `/`."""

from __future__ import annotations

from aiohttp import web

from portal.keys import PORTAL, Portal
from portal.pages import audit, auth, environments, overview, projects, runners
from portal.pages import console as console_pages
from portal.pages import diagrams as diagram_pages
from portal.pages import traces as trace_pages
from portal.render import make_templates
from portal.runner_credentials import RunnerCredentials
from portal.security import guard, security_headers
from reconciler.service.accounts import PortalAccounts
from reconciler.service.exchange_types import ExchangeReader
from reconciler.service.live_console import LiveConsole
from reconciler.service.portal_actions import PortalActions
from reconciler.service.portal_views import PortalViews
from reconciler.service.route_diagrams import RouteDiagrams


def portal_app(
    *,
    accounts: PortalAccounts,
    views: PortalViews,
    actions: PortalActions,
    traces: ExchangeReader | None,
    credentials: RunnerCredentials | None = None,
    diagrams: RouteDiagrams | None = None,
    console: LiveConsole | None = None,
) -> web.Application:
    app = web.Application(middlewares=[guard], client_max_size=64 * 1024)
    app[PORTAL] = Portal(
        accounts, views, actions, traces, credentials, make_templates(), diagrams, console=console
    )
    pages = (auth, overview, runners, projects, environments, diagram_pages, trace_pages, audit)
    for module in (*pages, console_pages):
        app.add_routes(module.routes)
    app.on_response_prepare.append(security_headers)
    return app
