"""Users and their API tokens, for an org's admins: everything stays inside the caller's org
(another org's users answer 404, its names never clash with yours)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from aiohttp import web
from pydantic import Field, StringConstraints

from reconciler.api.auth import require
from reconciler.api.bodies import Body, name_ok, read_body
from reconciler.api.keys import PRINCIPAL, SERVICES
from reconciler.api.problems import problem, problem_error
from reconciler.store.accounts import AccountExists
from reconciler.store.records import Role

routes = web.RouteTableDef()
MAX_TTL_S = 30 * 86_400
Label = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]


class CreateUser(Body):
    name: Label
    role: Role


class CreateToken(Body):
    name: Label
    ttl_seconds: int = Field(default=MAX_TTL_S, ge=60, le=MAX_TTL_S, alias="ttlSeconds")


async def _user_id(request: web.Request) -> int:
    name = request.match_info["user"]
    accounts = request.app[SERVICES].store.accounts
    org = request[PRINCIPAL].org_id
    found = await asyncio.to_thread(accounts.user_id, org, name) if name_ok(name) else None
    if found is None:
        raise problem_error(404, "no such user")
    return found


@routes.get("/users")
async def list_users(request: web.Request) -> web.Response:
    principal = require(request, Role.ADMIN)
    users = await asyncio.to_thread(request.app[SERVICES].reads.users, principal.org_id)
    return web.json_response({"users": [u.wire() for u in users]})


@routes.post("/users")
async def create_user(request: web.Request) -> web.Response:
    principal = require(request, Role.ADMIN)
    body = await read_body(request, CreateUser)
    accounts = request.app[SERVICES].store.accounts
    try:
        await asyncio.to_thread(accounts.create_user, principal.org_id, body.name, body.role)
    except AccountExists:
        return problem(409, "your org has a user with this name")
    return web.json_response({"name": body.name, "role": body.role.value}, status=201)


@routes.get("/users/{user}/tokens")
async def list_tokens(request: web.Request) -> web.Response:
    require(request, Role.ADMIN)
    user = await _user_id(request)
    tokens = await asyncio.to_thread(request.app[SERVICES].reads.tokens, user)
    return web.json_response({"tokens": [t.wire() for t in tokens]})


@routes.post("/users/{user}/tokens")
async def create_token(request: web.Request) -> web.Response:
    """The token is in this answer only (just its hash is kept)."""
    require(request, Role.ADMIN)
    user = await _user_id(request)
    body = await read_body(request, CreateToken)
    accounts = request.app[SERVICES].store.accounts
    token = await asyncio.to_thread(accounts.issue_token, user, body.name, body.ttl_seconds)
    return web.json_response({"name": body.name, "token": token}, status=201)


@routes.delete("/users/{user}/tokens/{name}")
async def revoke_tokens(request: web.Request) -> web.Response:
    require(request, Role.ADMIN)
    user = await _user_id(request)
    accounts = request.app[SERVICES].store.accounts
    revoked = await asyncio.to_thread(accounts.revoke_named, user, request.match_info["name"])
    if revoked == 0:
        return problem(404, "no live token of this name")
    return web.json_response({"revoked": revoked})
