"""Typed application and request state of the portal."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from jinja2 import Environment

from portal.runner_credentials import RunnerCredentials
from portal.traces import TraceReader
from reconciler.service.accounts import PortalAccounts
from reconciler.service.portal_actions import PortalActions
from reconciler.service.portal_types import SessionRecord
from reconciler.service.portal_views import PortalViews


@dataclass(frozen=True, slots=True)
class Portal:
    accounts: PortalAccounts
    views: PortalViews
    actions: PortalActions
    traces: TraceReader | None
    credentials: RunnerCredentials | None
    templates: Environment


PORTAL = web.AppKey("portal", Portal)
SESSION = web.RequestKey("portal_session", SessionRecord)
SESSION_ID = web.RequestKey("portal_session_id", str)
