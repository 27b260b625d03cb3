"""ConfigMap (route files and application.properties) and Secrets from sealed secrets."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import TYPE_CHECKING

from renderers.context import (
    MASKED_ANNOTATION,
    Decrypt,
    EnvContext,
    Manifest,
    RenderError,
    SecretValueError,
    new_object,
)
from renderers.properties import (
    CONFIG_DIR,
    application_properties,
    platform_properties,
    route_includes,
)
from schema.effective import EffectiveIntegration
from schema.loaded import LoadedIntegration

if TYPE_CHECKING:
    from schema.models import SealedSecret

ROUTES_DIR = f"{CONFIG_DIR}/routes"
PROPERTIES_KEY = "application.properties"
_KEY_UNSAFE = re.compile(r"[^-._a-zA-Z0-9]")
MAX_KEY = 253
MAX_CONFIGMAP_BYTES = 1024 * 1024  # the API server refuses bigger ConfigMaps
CONFIG_WAVE = -1
WITHHELD_ANNOTATION = "camelops.io/preview-withheld"


def route_keys(integration: LoadedIntegration) -> dict[str, str]:
    """Route path -> ConfigMap key: the path under the integration flattened to a legal key,
    disambiguated by a digest when two paths flatten to the same key."""
    keys: dict[str, str] = {}
    taken: set[str] = {PROPERTIES_KEY}
    for route in integration.routes:
        rel = route.path.removeprefix(integration.directory + "/")
        key = _KEY_UNSAFE.sub("-", rel.replace("/", "_"))[-MAX_KEY:].lstrip(".") or "route"
        if key in taken:
            digest = hashlib.sha256(route.path.encode()).hexdigest()[:8]
            key = f"{digest}-{key}"[:MAX_KEY]
        taken.add(key)
        keys[route.path] = key
    return keys


def config_map(ctx: EnvContext, effective: EffectiveIntegration, business_port: int) -> Manifest:
    integration = effective.integration
    obj = new_object(
        ctx, "v1", "ConfigMap", integration.name, integration=integration.name, wave=CONFIG_WAVE
    )
    keys = route_keys(integration)
    data = {keys[route.path]: route.content for route in integration.routes}
    globs = route_includes(ROUTES_DIR, data)
    platform = platform_properties(integration.name, ctx.camel_version, business_port, globs)
    data[PROPERTIES_KEY] = application_properties(effective, platform)
    size = sum(len(key) + len(value.encode()) for key, value in data.items())
    if size > MAX_CONFIGMAP_BYTES:
        raise RenderError(
            f"integration {integration.name}: routes and properties take {size} bytes; a "
            f"ConfigMap holds at most {MAX_CONFIGMAP_BYTES} (split it into more integrations)"
        )
    obj["data"] = data
    return obj


def secrets_used(ctx: EnvContext, integrations: list[LoadedIntegration]) -> list[SealedSecret]:
    """Sealed secrets that an integration here refers to and that apply to this environment."""
    names = {ref.name for i in integrations for ref in i.model.spec.secrets}
    used = []
    for name in sorted(names):
        sealed = ctx.project.secrets.get(name)
        scoped = sealed.spec.environments if sealed is not None else ()
        if sealed is not None and (not scoped or ctx.base_environment in scoped):
            used.append(sealed)
    return used


def secret(ctx: EnvContext, sealed: SealedSecret) -> Manifest:
    """With `decrypt` the real values (bundles only); without, a mask per value that still changes
    when the ciphertext does, so diffs show which keys changed without showing any value.

    A preview (whoever can open a pull request gets one) never gets values unless the secret is
    marked `previewSafe`: its copy keeps the keys, so workloads still start, with empty values.
    """
    obj = new_object(ctx, "v1", "Secret", sealed.metadata.name, integration=None, wave=CONFIG_WAVE)
    obj["type"] = "Opaque"
    encrypted = sealed.spec.encrypted_data
    if ctx.is_preview and not sealed.spec.preview_safe:
        obj["metadata"]["annotations"][WITHHELD_ANNOTATION] = "true"
        obj["data"] = dict.fromkeys(sorted(encrypted), "")
    elif ctx.decrypt is None:
        obj["metadata"]["annotations"][MASKED_ANNOTATION] = "true"
        obj["stringData"] = {key: mask(value) for key, value in sorted(encrypted.items())}
    else:
        decrypt = ctx.decrypt
        obj["data"] = {
            key: base64.b64encode(_opened(decrypt, ctx.project.name, sealed, key).encode()).decode()
            for key in sorted(encrypted)
        }
    return obj


def _opened(decrypt: Decrypt, project: str, sealed: SealedSecret, key: str) -> str:
    try:
        return decrypt(sealed.spec.encrypted_data[key])
    except Exception as exc:  # whatever the caller's decrypter raises: say which value it was
        path = f"secrets/{sealed.metadata.name}.sealed.yaml"
        raise SecretValueError(
            f"{path}: key {key}: {exc}; seal it again to this control plane's key: camelops "
            f"secret seal --project {project} --server URL --into {path} --key {key}"
        ) from exc


def mask(ciphertext: str) -> str:
    return "masked:" + hashlib.sha256(ciphertext.encode()).hexdigest()[:12]


def config_checksum(config: Manifest, sealed: list[SealedSecret]) -> str:
    """Rolls the pods when routes, properties or a secret's ciphertext change (never plaintext,
    so the masked and the real rendering carry the same checksum)."""
    material = {
        "config": config.get("data", {}),
        "secrets": {s.metadata.name: dict(s.spec.encrypted_data) for s in sealed},
    }
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
