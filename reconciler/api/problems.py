"""The one error shape of the JSON API: `application/problem+json` (RFC 9457).

Every error body carries `type`, `title`, `status`, `detail` and `instance` (the request path),
plus extension members where a client can act on them (`errors`: the list of what was wrong
with a request body; `hint`: what to retry with). Handlers return `problem(...)` or raise
`problem_error(...)`; the API's middleware (`problem_responses`) turns every other HTTP error
(unknown route, wrong method, body too large) and every unexpected exception into the same
shape, so no route can answer an error any other way. The portal's HTML errors are not this
module's: it is mounted beside the API, not under it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from aiohttp import web

from reconciler.errors import ReconcilerError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
ABOUT_BLANK = "about:blank"
"""RFC 9457's type when the status code says it all (title is then the status phrase)."""
VALIDATION_TYPE = "https://camelops.dev/problems/validation"
"""A request body that failed validation: `errors` lists each problem found."""
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem_body(
    status: int,
    detail: str,
    *,
    type_: str = ABOUT_BLANK,
    title: str | None = None,
    instance: str | None = None,
    **extensions: object,
) -> dict[str, object]:
    body: dict[str, object] = {
        "type": type_,
        "title": title or _phrase(status),
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extensions)
    return body


def problem(
    status: int,
    message: str,
    *,
    type_: str = ABOUT_BLANK,
    title: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: object,
) -> web.Response:
    """An error answer: `message` becomes `detail`; the middleware adds `instance`."""
    body = problem_body(status, message, type_=type_, title=title, instance=instance, **extensions)
    return web.Response(
        text=json.dumps(body), status=status, content_type=PROBLEM_JSON, headers=headers
    )


class ProblemError(web.HTTPException, ReconcilerError):
    """A problem answer raised from deep inside a handler (aiohttp answers it as it is)."""

    def __init__(self, status: int, body: dict[str, object]) -> None:
        self.status_code = status
        super().__init__(text=json.dumps(body), content_type=PROBLEM_JSON)


def problem_error(
    status: int,
    message: str,
    *,
    type_: str = ABOUT_BLANK,
    **extensions: object,
) -> ProblemError:
    """The same answer as `problem`, as an exception to raise."""
    body = problem_body(status, message, type_=type_)
    body.update(extensions)
    return ProblemError(status, body)


@web.middleware
async def problem_responses(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error of the API as problem+json, with `instance` set to the request path."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and the like are not errors
        return _as_problem(request, exc)
    except Exception:
        # never the exception's text: it may carry paths, SQL or a secret's neighbourhood
        log.exception("unexpected error answering %s %s", request.method, request.path)
        return problem(500, "internal error; the server log has the details", instance=request.path)
    if response.status >= 400 and isinstance(response, web.Response):
        return _as_problem(request, response)
    return response


def _as_problem(request: web.Request, answer: web.Response) -> web.Response:
    body = _problem_of(answer) or problem_body(answer.status, _detail_of(answer))
    body.setdefault("instance", request.path)
    headers = {name: answer.headers[name] for name in _KEPT_HEADERS if name in answer.headers}
    return web.Response(
        text=json.dumps(body), status=answer.status, content_type=PROBLEM_JSON, headers=headers
    )


def _problem_of(answer: web.Response) -> dict[str, object] | None:
    if answer.content_type != PROBLEM_JSON or answer.text is None:
        return None
    body = json.loads(answer.text)
    return body if isinstance(body, dict) else None


def _detail_of(answer: web.Response) -> str:
    """aiohttp's own errors carry `"<status>: <reason>"` as text: the reason is the detail."""
    text = (answer.text or "").strip()
    default = f"{answer.status}: {answer.reason}"
    if not text or text == default:
        return _default_detail(answer.status)
    if answer.content_type == "application/json":  # an older `{"error": ...}` answer
        try:
            old = json.loads(text)
        except ValueError:
            return _phrase(answer.status)
        if isinstance(old, dict) and isinstance(old.get("error"), str):
            return str(old["error"])
        return _phrase(answer.status)
    return text[:2000]


def _default_detail(status: int) -> str:
    return {
        404: "no such route under /api/v1 (GET /api/v1/openapi.json lists them)",
        405: "this route does not take this method (the Allow header lists the ones it takes)",
        413: "the request body is too large",
    }.get(status, _phrase(status))


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
