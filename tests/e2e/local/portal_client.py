"""A browser's part of the portal over plain HTTP: a cookie jar (session + the login form's
double-submit cookie), the session's CSRF token, redirects not followed (a 303 is an answer)."""

from __future__ import annotations

import html
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
_REPLAY_LINK = re.compile(r'href="(/projects/[^"]+/replay\?[^"]+)"')
_RESULT = re.compile(r"Result: <strong>(\w+)</strong>")
_REASON = re.compile(r"</strong> — ([^<]*)")
_AUDIT = re.compile(r'href="/audit/(\d+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass(frozen=True, slots=True)
class ReplayPage:
    state: str
    reason: str
    audit_ids: tuple[int, ...]
    text: str
    confirmation: tuple[str, dict[str, str]] = ("", {})
    """Where the confirmation was posted and its form: posting it again shows the same
    request's result as it stands now (the idempotency key in the form)."""


class PortalClient:
    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        self.csrf = ""
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def get(self, path: str) -> tuple[int, str]:
        return self._send(urllib.request.Request(self.base + path))

    def post(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode()
        return self._send(urllib.request.Request(self.base + path, data=data, method="POST"))

    def _send(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self._opener.open(request, timeout=60) as response:
                return int(response.status), response.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read().decode(errors="replace")

    def login(self, name: str, password: str) -> None:
        status, page = self.get("/login")
        assert status == 200, page
        form = page[page.index('action="/login"') :]  # the login form's token, not logout's
        token = _first(_CSRF, form)
        status, page = self.post(
            "/login", {"csrf": token, "username": name, "password": password, "next": "/"}
        )
        assert status == 303, f"login of {name}: HTTP {status} {page[:300]}"
        status, home = self.get("/")
        assert status == 200, home
        self.csrf = _first(_CSRF, home)

    def replay_links(self, project: str, env: str, needle: str) -> list[str]:
        """The failed-messages page's replay links on rows that mention `needle`."""
        status, page = self.get(f"/projects/{project}/environments/{env}/failures")
        assert status == 200, page
        rows = page.split("<tr>")
        return [
            html.unescape(link)
            for row in rows
            if needle in row
            for link in _REPLAY_LINK.findall(row)
        ]

    def replay(self, link: str) -> ReplayPage:
        """Open the confirmation page, then confirm it (the portal's two steps)."""
        status, page = self.get(link)
        assert status == 200, page
        form = {k: html.unescape(v) for k, v in _HIDDEN.findall(page)}
        assert form.get("csrf") == self.csrf, "the confirmation carries the session's token"
        return self.confirm(link.split("?", 1)[0], form)

    def confirm(self, target: str, form: dict[str, str]) -> ReplayPage:
        status, done = self.post(target, form)
        assert status == 200, done
        audit = tuple(int(n) for n in _AUDIT.findall(done))
        reason = _REASON.search(done)
        return ReplayPage(
            _first(_RESULT, done),
            html.unescape(reason.group(1)) if reason else "",
            audit,
            done,
            (target, form),
        )


def _first(pattern: re.Pattern[str], text: str) -> str:
    found = pattern.search(text)
    assert found is not None, f"{pattern.pattern} not on the page"
    return html.unescape(found.group(1))
