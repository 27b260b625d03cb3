"""Sealed secrets: `camelops secret seal` -> Git -> decrypted only inside the bundle."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from pathlib import Path

from reconciler.secrets.sealing import (
    generate_private_key,
    load_public_pem,
    public_pem,
    seal_value,
    unseal_value,
)
from tests.integration.reconciler.apiclient import Api
from tests.integration.reconciler.gitrepo import base_files

PLAINTEXT = "db-password-7f3a9c"
INTEGRATION = """\
apiVersion: camelops.io/v1alpha1
kind: Integration
metadata:
  name: orders
spec:
  routes: ["routes/*.camel.yaml"]
  secrets:
    - name: db
      env:
        DB_PASSWORD: password
"""
SEALED = """\
apiVersion: camelops.io/v1alpha1
kind: SealedSecret
metadata:
  name: db
spec:
  encryptedData:
    password: {value}
"""


def seal_with_cli(pem: Path, project: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "camelops",
            "secret",
            "seal",
            "--project",
            project,
            "--public-key",
            str(pem),
        ],
        input=PLAINTEXT + "\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert PLAINTEXT not in done.stdout + done.stderr
    return done.stdout.strip()


async def test_sealed_value_is_decrypted_only_in_the_bundle(api: Api, tmp_path: Path) -> None:
    response = await api.client.get("/api/v1/projects/shop/public-key", headers=api.auth())
    pem = tmp_path / "shop.pem"
    pem.write_bytes(await response.read())
    sealed = seal_with_cli(pem, "shop")
    assert sealed.startswith("cops1:")
    core = api.core
    core.repo.commit(
        {
            **base_files(),
            "integrations/orders/integration.yaml": INTEGRATION,
            "secrets/db.sealed.yaml": SEALED.format(value=sealed),
        },
        "add a secret",
    )
    core.repo.push()
    core.controller.request(core.project.id)
    await core.controller.wait_idle()
    assert core.store.projects.status(core.project.id).ready == "True"
    secret = next(o for o in core.sink.deliveries[-1].bundle.manifests if o["kind"] == "Secret")
    assert base64.b64decode(secret["data"]["password"]).decode() == PLAINTEXT
    # at rest: envelope-encrypted; through the API: never
    database = (tmp_path / "state.db").read_bytes() + (tmp_path / "state.db-wal").read_bytes()
    assert PLAINTEXT.encode() not in database
    assert base64.b64encode(PLAINTEXT.encode()) not in database
    for path in (
        "/api/v1/projects/shop",
        "/api/v1/projects/shop/environments/dev",
        "/api/v1/projects/shop/revisions",
        "/api/v1/audit",
    ):
        text = await (await api.client.get(path, headers=api.auth())).text()
        assert PLAINTEXT not in text


async def test_value_sealed_to_another_key_fails_the_render(api: Api) -> None:
    foreign = generate_private_key()
    sealed = seal_value(load_public_pem(public_pem(foreign)), "shop", PLAINTEXT)
    core = api.core
    core.repo.commit(
        {
            **base_files(),
            "integrations/orders/integration.yaml": INTEGRATION,
            "secrets/db.sealed.yaml": SEALED.format(value=sealed),
        },
        "foreign secret",
    )
    core.repo.push()
    core.controller.request(core.project.id)
    await core.controller.wait_idle()
    status = core.store.projects.status(core.project.id)
    assert (status.reason, status.stalled) == ("RenderFailed", True)
    assert status.message.startswith(
        "dev: secrets/db.sealed.yaml: key password: sealed value does not open with this "
        "project's key; seal it again"
    ), status.message
    assert PLAINTEXT not in status.message
    assert sealed not in status.message
    assert core.sink.deliveries == []


def run_seal(
    args: list[str], stdin: bytes, env_token: str = ""
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "CAMELOPS_TOKEN": env_token}
    return subprocess.run(
        [sys.executable, "-m", "camelops", "secret", "seal", *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=60,
        env=env,
    )


async def test_seal_fetches_the_key_from_the_server(api: Api) -> None:
    base = str(api.client.make_url("/")).rstrip("/")
    done = await asyncio.to_thread(
        run_seal, ["--project", "shop", "--server", base], b"from-server", api.viewer
    )
    assert done.returncode == 0, done.stderr
    key = api.core.store.projects.private_key(api.core.project)
    assert unseal_value(key, "shop", done.stdout.decode().strip()) == "from-server"


async def test_seal_refuses_bad_input_with_exit_2(api: Api, tmp_path: Path) -> None:
    garbage_key = tmp_path / "garbage.pem"
    garbage_key.write_bytes(b"not a key")
    cases = [
        (["--project", "shop", "--public-key", str(garbage_key)], b"v"),
        (["--project", "shop", "--public-key", str(tmp_path / "missing.pem")], b"v"),
        (["--project", "shop", "--server", "ftp://example.invalid"], b"v"),
    ]
    for args, stdin in cases:
        done = await asyncio.to_thread(run_seal, args, stdin)
        assert done.returncode == 2, (args, done.stderr)
        assert b"Traceback" not in done.stderr
    response = await api.client.get("/api/v1/projects/shop/public-key", headers=api.auth())
    pem = tmp_path / "shop.pem"
    pem.write_bytes(await response.read())
    done = await asyncio.to_thread(
        run_seal, ["--project", "shop", "--public-key", str(pem)], b"\xff\xfe binary"
    )
    assert done.returncode == 2
    assert b"Traceback" not in done.stderr
