"""The OpenAPI 3.0 document of /api/v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from contract.console import TARGETS
from reconciler.api.accounts import CreateToken, CreateUser
from reconciler.api.bodies import CreateProject, PinBody, SyncBody
from reconciler.api.problems import PROBLEM_JSON
from reconciler.api.replays import IDEMPOTENCY_HEADER, ReplayBody

_NAME = {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63}
_PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` lists each problem of a bad body",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "string"}},
        "hint": {"type": "string"},
    },
}
_ERROR = {"description": "error", "content": {PROBLEM_JSON: {"schema": _PROBLEM}}}
_JSON = {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}


def _param(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or _NAME}


def _op(
    summary: str,
    *,
    params: tuple[str, ...] = (),
    body: dict[str, Any] | None = None,
    ok: str = "200",
    errors: tuple[str, ...] = ("401", "404"),
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "parameters": [_param(p) for p in params],
        "responses": {ok: _JSON, **dict.fromkeys(errors, _ERROR)},
    }
    if body is not None:
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
        op["responses"]["400"] = _ERROR
    return op


def _schema(model: type[Any]) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(by_alias=True)
    schema.pop("title", None)
    return schema


def _public(op: dict[str, Any]) -> dict[str, Any]:
    op["security"] = []
    op["responses"] = {code: r for code, r in op["responses"].items() if code != "401"}
    return op


def _replay(env: tuple[str, ...]) -> dict[str, Any]:
    op = _op(
        "Replay a captured exchange into the integration's replay endpoint (audited)",
        params=env,
        body=_schema(ReplayBody),
        errors=("401", "403", "404", "409", "410", "422", "503"),
    )
    op["responses"]["202"] = _JSON  # sent, no answer yet
    op["parameters"].append(
        {
            "name": IDEMPOTENCY_HEADER,
            "in": "header",
            "required": True,
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{8,200}$"},
        }
    )
    return op


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}  # fmt: skip


_TEXT = {"type": "string", "pattern": "^[A-Za-z0-9][-A-Za-z0-9._]{0,199}$"}
_EXCHANGE_ID = {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"}
_MOMENT = {"type": "string", "format": "date-time"}
_PAGE = (
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "rows (default 50)"),
    _query("cursor", {"type": "string", "maxLength": 220}, "`next` of the previous page"),
)


def _exchanges(env: tuple[str, ...], *, failed_only: bool) -> dict[str, Any]:
    """Search (or the failures) of one environment: newest first, keyset pages on (time, id)."""
    summary = (
        "Failed exchanges of the environment, newest first"
        if failed_only
        else "Captured exchanges of the environment, newest first (filters, keyset pages)"
    )
    op = _op(summary, params=env, errors=("400", "401", "404", "503"))
    op["parameters"].append(_query("integration", _TEXT, "integration name"))
    if not failed_only:
        op["parameters"] += [
            _query("route", _TEXT, "route id the exchange entered"),
            _query("status", {"type": "string", "enum": ["completed", "failed", "incomplete"]},
                   "outcome"),
            _query("exchangeId", _EXCHANGE_ID, "one exchange"),
            _query("since", _MOMENT, "started at or after (ISO 8601)"),
            _query("until", _MOMENT, "started before (ISO 8601)"),
        ]  # fmt: skip
    op["parameters"] += list(_PAGE)
    return op


def _exchange(env: tuple[str, ...]) -> dict[str, Any]:
    op = _op("One exchange: headers, body (redacted), node timeline", params=env,
             errors=("401", "404", "503"))  # fmt: skip
    op["parameters"].append(_param("exchange", _EXCHANGE_ID))
    return op


def _stats(env: tuple[str, ...]) -> dict[str, Any]:
    op = _op("Route statistics (JMX, every exchange) and node latencies (traced exchanges)",
             params=env, errors=("400", "401", "404", "503"))  # fmt: skip
    op["parameters"].append(_param("integration"))
    op["parameters"].append(_query("since", _MOMENT, "node latencies from this time on"))
    return op


def _console(env: tuple[str, ...]) -> dict[str, Any]:
    op = _op("Live console of a running integration, read now through its runner (operator; "
             "audited)", params=env, errors=("400", "401", "403", "404", "409"))  # fmt: skip
    op["parameters"].append(_param("integration"))
    target = {"type": "string", "enum": list(TARGETS)}
    op["parameters"].append(_query("target", target, "one part only (repeatable; default all)"))
    return op


def _metrics() -> dict[str, Any]:
    op = _public(_op("Prometheus metrics", errors=()))
    op["responses"]["200"] = {
        "description": "Prometheus text format",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
    return op


def openapi_document() -> dict[str, Any]:
    project, env = ("project",), ("project", "env")
    env_path = "/api/v1/projects/{project}/environments/{env}"
    hook = _op(
        "Git push notification (GitHub, Gitea, GitLab or generic signed form); only "
        "triggers a fetch",
        params=("repo",),
        ok="202",
        errors=("401", "413", "429"),
    )
    hook["security"] = []
    org_hook = _op(
        "Git push notification for a repository of the named org (as the bootstrap org's)",
        params=("org", "repo"),
        ok="202",
        errors=("401", "413", "429"),
    )
    org_hook["security"] = []
    preview = _op("One preview with its diff", params=project)
    preview["parameters"].append(
        _param("number", {"type": "integer", "minimum": 1, "maximum": 999_999_999})
    )
    return {
        "openapi": "3.0.3",
        "info": {"title": "camelops control plane", "version": "v1"},
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"token": []}],
        "paths": {
            "/api/v1/projects": {
                "get": _op("List the org's projects with their conditions", errors=("401",)),
                "post": _op(
                    "Register a project and its repository",
                    body=_schema(CreateProject),
                    ok="201",
                    errors=("401", "403", "409"),
                ),
            },
            "/api/v1/projects/{project}": {"get": _op("One project", params=project)},
            "/api/v1/projects/{project}/reconcile": {
                "post": _op(
                    "Queue a reconcile", params=project, ok="202", errors=("401", "403", "404")
                ),
            },
            "/api/v1/projects/{project}/revisions": {
                "get": _op("Recorded revisions with every error", params=project),
            },
            "/api/v1/projects/{project}/public-key": {
                "get": {
                    **_op("PEM public key values are sealed to", params=project),
                    "responses": {
                        "200": {
                            "description": "PEM",
                            "content": {"application/x-pem-file": {"schema": {"type": "string"}}},
                        },
                        "401": _ERROR,
                        "404": _ERROR,
                    },
                },
            },
            "/api/v1/projects/{project}/previews": {"get": _op("PR previews", params=project)},
            "/api/v1/projects/{project}/previews/{number}": {"get": preview},
            env_path: {"get": _op("Environment, bundle history and deployments", params=env)},
            env_path + "/sync": {
                "post": _op(
                    "Manual sync",
                    params=env,
                    body=_schema(SyncBody),
                    ok="202",
                    errors=("401", "403", "404", "409", "503"),
                )
            },
            env_path + "/pin": {
                "put": _op(
                    "Pin (roll back to) a bundle of the history",
                    params=env,
                    body=_schema(PinBody),
                    ok="202",
                    errors=("401", "403", "404", "409", "503"),
                ),
                "delete": _op(
                    "Unpin", params=env, ok="202", errors=("401", "403", "404", "409", "503")
                ),
            },
            "/api/v1/audit": {"get": _op("Audit log of the org", errors=("401",))},
            "/api/v1/runners": {"get": _op("Registered runners", errors=("401",))},
            "/api/v1/hooks/git/{repo}": {"post": hook},
            "/api/v1/hooks/git/{org}/{repo}": {"post": org_hook},
            env_path + "/replays": {"post": _replay(env)},
            env_path + "/exchanges": {"get": _exchanges(env, failed_only=False)},
            env_path + "/failures": {"get": _exchanges(env, failed_only=True)},
            env_path + "/exchanges/{exchange}": {"get": _exchange(env)},
            env_path + "/integrations/{integration}/stats": {"get": _stats(env)},
            env_path + "/integrations/{integration}/console": {"get": _console(env)},
            "/api/v1/users": {
                "get": _op("The org's users (admin)", errors=("401", "403")),
                "post": _op(
                    "Add a user to the org (admin)",
                    body=_schema(CreateUser),
                    ok="201",
                    errors=("401", "403", "409"),
                ),
            },
            "/api/v1/users/{user}/tokens": {
                "get": _op(
                    "A user's API tokens: names and dates, never the tokens (admin)",
                    params=("user",),
                    errors=("401", "403", "404"),
                ),
                "post": _op(
                    "A new API token for the user, shown in this answer only (admin)",
                    params=("user",),
                    body=_schema(CreateToken),
                    ok="201",
                    errors=("401", "403", "404"),
                ),
            },
            "/api/v1/users/{user}/tokens/{name}": {
                "delete": _op(
                    "Revoke the user's tokens of that name (admin)",
                    params=("user", "name"),
                    errors=("401", "403", "404"),
                ),
            },
            "/api/v1/openapi.json": {"get": _public(_op("This document", errors=()))},
            "/api/v1/healthz": {"get": _public(_op("Liveness", errors=()))},
            "/metrics": {"get": _metrics()},
        },
    }
