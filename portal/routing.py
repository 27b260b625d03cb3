"""Default-deny routing: a handler is reachable only when it declares who may call it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from reconciler.service.portal_types import Role

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)
PUBLIC = "public"
_ATTRIBUTE = "_portal_access"


def public(handler: H) -> H:
    """Reachable without a session (login page, static files)."""
    setattr(handler, _ATTRIBUTE, PUBLIC)
    return handler


def needs(role: Role) -> Callable[[H], H]:
    """Reachable with a session whose role is at least `role`."""

    def mark(handler: H) -> H:
        setattr(handler, _ATTRIBUTE, role)
        return handler

    return mark


def access_of(handler: object) -> Role | str | None:
    """None: the handler declared nothing, so nobody may call it."""
    value = getattr(handler, _ATTRIBUTE, None)
    return value if isinstance(value, Role) or value == PUBLIC else None
