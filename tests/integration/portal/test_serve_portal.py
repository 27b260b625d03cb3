"""Black box: `camelops serve` serves the portal at `/`, and a user made with
`camelops user login` logs in through the form (only documented commands)."""

from __future__ import annotations

import http.cookiejar
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.integration.reconciler.served import camelops_serve


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_serve_portal_login_with_a_created_user(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with camelops_serve(data_dir) as served:
        created = subprocess.run(
            [sys.executable, "-m", "camelops", "user", "login", "--data-dir", str(data_dir),
             "--name", "ops", "--role", "operator"],
            input="a long enough secret\n", capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
        with pytest.raises(urllib.error.HTTPError) as anonymous:
            opener.open(served.base_url + "/", timeout=10)
        assert anonymous.value.code == 303
        assert anonymous.value.headers["Location"] == "/login"
        anonymous.value.close()
        with opener.open(served.base_url + "/login", timeout=10) as response:
            page = response.read().decode()
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token is not None
        form = {"csrf": token.group(1), "username": "ops", "password": "a long enough secret"}
        with pytest.raises(urllib.error.HTTPError) as logged_in:
            opener.open(served.base_url + "/login", urllib.parse.urlencode(form).encode(), 10)
        assert logged_in.value.code == 303
        logged_in.value.close()
        with opener.open(served.base_url + "/", timeout=10) as response:
            home = response.read().decode()
        assert "Environments" in home
        assert "ops · operator · default" in home
