"""Whoever can open a pull request gets a preview: it holds no secret unless the secret is
marked previewSafe, and a pull request from outside the repository (a fork) is rendered and
diffed but not deployed unless the project allows it."""

from __future__ import annotations

import base64

from contract.bundles import Bundle
from reconciler.previews import FORK_HELD
from reconciler.secrets.sealing import load_public_pem, seal_value
from renderers.kubernetes.config import WITHHELD_ANNOTATION
from tests.integration.reconciler.apiclient import Api
from tests.integration.reconciler.gitrepo import base_files
from tests.integration.reconciler.test_previews import (
    PREVIEWS,
    SECOND_ROUTE,
    open_pr,
    preview,
    reconcile,
)

PRODUCTION = "prod-password-5d2e"
HARMLESS = "feature-flag-on"
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
    - name: flags
      env:
        FLAG: value
"""
SEALED = """\
apiVersion: camelops.io/v1alpha1
kind: SealedSecret
metadata:
  name: {name}
spec:
  previewSafe: {safe}
  encryptedData:
    {key}: {value}
"""


def files_with_secrets(api: Api, previews: str) -> dict[str, str]:
    key = load_public_pem(api.core.store.projects.public_key_pem(api.core.project))
    files = base_files(previews=previews)
    files["integrations/orders/integration.yaml"] = INTEGRATION
    for name, safe, field, value in (
        ("db", "false", "password", PRODUCTION),
        ("flags", "true", "value", HARMLESS),
    ):
        sealed = seal_value(key, "shop", value)
        files[f"secrets/{name}.sealed.yaml"] = SEALED.format(
            name=name, safe=safe, key=field, value=sealed
        )
    return files


def bundles_for(api: Api, env: str) -> list[Bundle]:
    return [d.bundle for d in api.core.sink.deliveries if d.bundle.environment == env]


def secret_values(bundle: Bundle) -> dict[str, dict[str, str]]:
    return {
        obj["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in obj["data"].items()}
        for obj in bundle.manifests
        if obj["kind"] == "Secret"
    }


async def test_a_preview_gets_only_preview_safe_secrets(api: Api) -> None:
    api.core.repo.commit(files_with_secrets(api, PREVIEWS), "secrets and previews")
    api.core.repo.push()
    await reconcile(api)
    # the real environments get every value (the positive control)
    assert secret_values(bundles_for(api, "dev")[-1])["db"] == {"password": PRODUCTION}
    open_pr(api, 11, {"integrations/orders/routes/audit.camel.yaml": SECOND_ROUTE}, "audit")
    await reconcile(api)
    deployed = bundles_for(api, "pr-11")
    assert len(deployed) == 1
    values = secret_values(deployed[0])
    assert values == {"db": {"password": ""}, "flags": {"value": HARMLESS}}
    withheld = {
        obj["metadata"]["name"]
        for obj in deployed[0].manifests
        if obj["metadata"].get("annotations", {}).get(WITHHELD_ANNOTATION) == "true"
    }
    assert withheld == {"db"}
    assert PRODUCTION not in deployed[0].model_dump_json()
    assert PRODUCTION not in str(await preview(api, 11))


async def test_a_pull_request_from_a_fork_is_diffed_but_not_deployed(api: Api) -> None:
    api.core.repo.commit(files_with_secrets(api, PREVIEWS), "secrets and previews")
    api.core.repo.push()
    await reconcile(api)
    files = {"integrations/orders/routes/audit.camel.yaml": SECOND_ROUTE}
    head = open_pr(api, 12, files, "audit from a fork", fork=True)
    await reconcile(api)
    shown = await preview(api, 12)
    assert (shown["state"], shown["head"]) == ("ready", head)
    diff = shown["diff"]
    assert isinstance(diff, dict)
    assert diff["camel"][0]["routes"]["added"] == ["audit"]
    assert diff["held"] == FORK_HELD
    assert bundles_for(api, "pr-12") == []
    # the same pull request from a branch of the repository is deployed
    open_pr(api, 13, files, "audit from a branch")
    await reconcile(api)
    assert len(bundles_for(api, "pr-13")) == 1
    assert "held" not in (await preview(api, 13))["diff"]  # type: ignore[operator]


async def test_forks_are_deployed_when_the_project_allows_it(api: Api) -> None:
    allowed = PREVIEWS + "    deployForks: true\n"
    api.core.repo.commit(files_with_secrets(api, allowed), "fork previews allowed")
    api.core.repo.push()
    await reconcile(api)
    files = {"integrations/orders/routes/audit.camel.yaml": SECOND_ROUTE}
    open_pr(api, 14, files, "audit from a fork", fork=True)
    await reconcile(api)
    deployed = bundles_for(api, "pr-14")
    assert len(deployed) == 1
    assert secret_values(deployed[0])["db"] == {"password": ""}  # still no production secret
