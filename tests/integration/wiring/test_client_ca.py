"""Every client of `camelops serve --api-tls`, run as a user runs it (a subprocess whose
environment names no CA: no SSL_CERT_FILE), trusts the control plane's own CA only when told
where it is (`--ca-file` / `CAMELOPS_CA_FILE`, the hook's `camelops.cafile`, curl's `--cacert`),
and says what to do when it is not told. The example repository, pushed as it is, fails with a
message naming the sealed file and key; sealed again with `secret seal --into`, it deploys."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from camelops.wiring.pki import ca_certificate_file
from reconciler.api.hooks import POST_RECEIVE_SCRIPT
from tests.integration.reconciler.gitrepo import GitRepo
from tests.integration.wiring.stack import EXAMPLE, Api, Served, clean_env, cli, eventually
from tunnel.pki.ca import CertificateAuthority

pytestmark = pytest.mark.timeout(240)
PROJECT = "shop"
SECRET_FILE = "secrets/db-credentials.sealed.yaml"
TRUST_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def no_ca_env(**extra: str) -> dict[str, str]:
    """What a user's shell has: no camelops settings and no CA override for OpenSSL."""
    env = clean_env(**extra)
    for name in TRUST_VARIABLES:
        env.pop(name, None)
    return env


def ca_file(served: Served) -> str:
    return str(ca_certificate_file(served.data_dir))


def other_ca(tmp_path: Path) -> Path:
    path = tmp_path / "other-ca.pem"
    path.write_bytes(CertificateAuthority.create("elsewhere", datetime.now(UTC)).cert_pem)
    return path


def test_serve_says_where_its_ca_file_is(served: Served) -> None:
    path = ca_certificate_file(served.data_dir).resolve()
    assert path.read_bytes() == served.ca_pem
    assert f"API certificate signed by the CA in {path}" in served.log.read_text()


def test_curl_needs_the_cacert_the_docs_show(served: Served) -> None:
    url = served.base_url + "/api/v1/healthz"
    command = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}"]
    plain = subprocess.run(
        [*command, url], capture_output=True, text=True, env=no_ca_env(), check=False
    )
    assert plain.returncode == 60, plain.stderr  # curl: peer certificate cannot be authenticated
    trusted = subprocess.run(
        [*command, "--cacert", ca_file(served), url],
        capture_output=True,
        text=True,
        env=no_ca_env(),
        check=False,
    )
    assert (trusted.returncode, trusted.stdout) == (0, "200"), trusted.stderr


async def test_runner_register_takes_the_ca_file(served: Served, tmp_path: Path) -> None:
    async def register(runner: str, *extra: str, env: dict[str, str]) -> tuple[int, str, str]:
        code, token, err = await cli(
            "token", "create", "--runner", runner, "--data-dir", str(served.data_dir)
        )
        assert code == 0, err
        args = ["runner", "register", "--server", served.base_url, "--token", token.strip()]
        return await cli(*args, "--data-dir", str(tmp_path / runner), *extra, env=env)

    code, _, err = await register("edge-a", "--ca-file", str(other_ca(tmp_path)), env=no_ca_env())
    assert code == 2, err
    assert f"does not verify against {tmp_path / 'other-ca.pem'}" in err, err
    assert not (tmp_path / "edge-a" / "tunnel").exists()

    code, out, err = await register("edge-b", "--ca-file", ca_file(served), env=no_ca_env())
    assert code == 0, err
    assert "camelops://default/runners/edge-b" in out

    env = no_ca_env(CAMELOPS_CA_FILE=ca_file(served))
    code, out, err = await register("edge-c", env=env)
    assert code == 0, err

    missing = tmp_path / "nope.pem"
    code, _, err = await register("edge-d", "--ca-file", str(missing), env=no_ca_env())
    assert (code, err.strip()) == (
        2,
        f"camelops runner register: CA file {missing}: No such file or directory",
    )


async def revision_of(api: Api, commit: str) -> dict[str, Any] | None:
    _, body = await api.call("GET", f"/api/v1/projects/{PROJECT}/revisions")
    for revision in body["revisions"]:
        if revision["commit"] == commit:
            return dict(revision)
    return None


async def reconciled(api: Api, repo: GitRepo) -> dict[str, Any]:
    head = repo.head()
    status, _ = await api.call("POST", f"/api/v1/projects/{PROJECT}/reconcile")
    assert status == 202
    return await eventually(lambda: revision_of(api, head), f"revision {head[:12]}", 120)


async def seal_into(served: Served, repo: GitRepo, key: str, *extra: str) -> tuple[int, str]:
    args = ["secret", "seal", "--project", PROJECT, "--server", served.base_url]
    args += ["--into", str(repo.work / SECRET_FILE), "--key", key, *extra]
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "camelops", *args],
        input=f"{key}-value\n",
        capture_output=True,
        text=True,
        env=no_ca_env(CAMELOPS_TOKEN=served.token),
        check=False,
    )
    return done.returncode, done.stderr


async def test_the_example_as_it_is_names_the_file_and_key_then_deploys_once_sealed(
    served: Served, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "git")
    shutil.copytree(EXAMPLE, repo.work, dirs_exist_ok=True)
    repo.commit({}, "the example as it is")
    repo.push()
    async with aiohttp.ClientSession() as session:
        api = Api(served, session)
        body = {"name": PROJECT, "url": str(repo.bare), "pollIntervalSeconds": 0}
        status, answer = await api.call("POST", "/api/v1/projects", body)
        assert status == 201, answer

        failed = await reconciled(api, repo)
        assert failed["state"] == "render-failed"
        (error,) = failed["errors"]
        assert error.startswith(f"dev: {SECRET_FILE}: key password: sealed value "), error
        assert error.endswith(
            f"; seal it again to this control plane's key: camelops secret seal --project "
            f"{PROJECT} --server URL --into {SECRET_FILE} --key password"
        ), error

        # the user seals the values to this control plane, as the error and the docs say
        before = (repo.work / SECRET_FILE).read_bytes()
        code, err = await seal_into(served, repo, "password")
        assert code == 2
        assert "the control plane's certificate is not trusted" in err, err
        assert "pass --ca-file <data-dir>/pki/ca.crt.pem" in err
        assert (repo.work / SECRET_FILE).read_bytes() == before
        for key in ("password", "username"):
            code, err = await seal_into(served, repo, key, "--ca-file", ca_file(served))
            assert code == 0, err
            assert err.strip() == f"{repo.work / SECRET_FILE}: replaced key {key}"
        after = (repo.work / SECRET_FILE).read_text()
        assert after.splitlines()[:6] == before.decode().splitlines()[:6]  # the comments stay
        repo.commit({}, "sealed to our control plane")
        repo.push()
        assert (await reconciled(api, repo))["state"] == "ready"


async def test_the_post_receive_hook_takes_the_ca_file(served: Served, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "git")
    for name in TRUST_VARIABLES:
        repo.env.pop(name, None)
    repo.commit({"README.md": "hook\n"}, "first")
    hook = repo.bare / "hooks" / "post-receive"
    shutil.copyfile(POST_RECEIVE_SCRIPT, hook)
    hook.chmod(0o755)
    bare = repo.bare
    repo.git("config", "camelops.url", f"{served.base_url}/api/v1/hooks/git/hooked", cwd=bare)
    repo.git("config", "camelops.secret", "h" * 24, cwd=bare)
    async with aiohttp.ClientSession() as session:
        body = {"name": "hooked", "url": str(bare), "webhookSecret": "h" * 24}
        status, answer = await Api(served, session).call("POST", "/api/v1/projects", body)
        assert status == 201, answer

    def push(message: str) -> str:
        repo.commit({}, message)
        done = subprocess.run(
            ["git", "push", "origin", "main"],
            cwd=repo.work,
            env=repo.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stderr

    untrusted = push("without a CA file")
    assert "camelops: notification failed" in untrusted, untrusted
    assert "set `git config camelops.cafile <data-dir>/pki/ca.crt.pem`" in untrusted
    repo.git("config", "camelops.cafile", ca_file(served), cwd=bare)
    assert "camelops: notified (202)" in push("with the CA file")
