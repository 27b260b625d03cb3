"""The settings root: every environment variable camelops reads, in documented groups. Read
once, by `camelops.cli.main`, and handed to the command that runs (`args.settings`); nothing
else in the code base reads the environment. Flags, where a command has one, win."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar


class SettingsError(ValueError):
    """An environment variable holds something camelops cannot use; the message says which."""


class LogFormat(StrEnum):
    TEXT = "text"  # one line per record, for people
    JSON = "json"  # one JSON object per line, for a log pipeline


@dataclass(frozen=True, slots=True)
class LogSettings:
    """How the CLI and the daemons log (CAMELOPS_LOG_*)."""

    format: LogFormat = LogFormat.TEXT
    """CAMELOPS_LOG_FORMAT: `text` (default) or `json` lines."""
    level: str = "INFO"
    """CAMELOPS_LOG_LEVEL: DEBUG, INFO (default), WARNING or ERROR."""


@dataclass(frozen=True, slots=True)
class GitSettings:
    """The operator's Git credentials (bound to hosts) and where local repositories may be."""

    https_token: str | None = field(default=None, repr=False)
    """CAMELOPS_GIT_TOKEN: HTTPS token (as the password of `https_username`), sent only to the
    hosts in `token_hosts`."""
    token_hosts: tuple[str, ...] = ()
    """CAMELOPS_GIT_TOKEN_HOSTS: comma-separated host patterns (`github.com,*.example.com`) the
    token may go to; none: the token is not used."""
    https_username: str = "git"
    """CAMELOPS_GIT_USERNAME (default `git`)."""
    local_repo_roots: str | None = None
    """CAMELOPS_LOCAL_REPO_ROOTS: os.pathsep-separated directories under which local
    repositories (paths, file://) may be registered; unset: `<data-dir>/repos`."""
    ssh_private_key: Path | None = None
    """CAMELOPS_GIT_SSH_KEY: path of an SSH private key (its `.pub` beside it is used if found)."""
    ssh_passphrase: str = field(default="", repr=False)
    """CAMELOPS_GIT_SSH_PASSPHRASE: the SSH key's passphrase."""


@dataclass(frozen=True, slots=True)
class SecretSettings:
    """Key material: never logged, never in a repr."""

    kek: bytes | None = field(default=None, repr=False)
    """CAMELOPS_KEK: base64 of the 32-byte key-encryption key; unset: `<data-dir>/kek`."""
    ca_passphrase: bytes | None = field(default=None, repr=False)
    """CAMELOPS_CA_PASSPHRASE: encrypts the CA key at rest; unset: `<data-dir>/ca-passphrase`."""
    notify_secret: bytes = field(default=b"", repr=False)
    """CAMELOPS_NOTIFY_SECRET: signs the events `serve --notify-url` posts."""
    api_token: str = field(default="", repr=False)
    """CAMELOPS_TOKEN: the API token CLI commands that call the control plane send."""
    sidecar_token: str = field(default="", repr=False)
    """CAMELOPS_SIDECAR_TOKEN: what the runner sends to sidecars and sidecars require when
    they listen on the pod address (the `camelops-sidecar` Secret's `token`)."""
    handover_token: str = field(default="", repr=False)
    """CAMELOPS_SIDECAR_HANDOVER_TOKEN: set by the local driver for each `camelops sidecar` it
    starts; opens the sidecar's handover API (its held replay originals) to that token only."""


class IngressHealth(StrEnum):
    ADDRESS = "address"  # Healthy once a load-balancer address is published
    ADMITTED = "admitted"  # Healthy once stored: no controller publishes addresses here


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    """The runner's defaults from the environment (CAMELOPS_DATA_DIR, CAMELOPS_RUNNER_*)."""

    data_dir: Path = Path(".camelops")
    """CAMELOPS_DATA_DIR: default `--data-dir` of `token create`, `runner` and `runner register`."""
    inventory_namespace: str = "camelops-system"
    """CAMELOPS_RUNNER_NAMESPACE: where the runner keeps inventory ConfigMaps (its namespace)."""
    camel_home: Path = Path(".cache/camel-app")
    """CAMELOPS_CAMEL_HOME: the local driver's Camel Main runtime (lib/*.jar, jolokia-agent.jar)."""
    interval: float = 180.0
    """CAMELOPS_RUNNER_INTERVAL: seconds between drift and health checks of a settled
    environment (default 180). This and the next two: the runner on either driver."""
    recheck: float = 2.0
    """CAMELOPS_RUNNER_RECHECK: seconds before re-checking an environment that is Progressing
    or Missing (default 2), doubled at each re-check up to CAMELOPS_RUNNER_RECHECK_MAX."""
    recheck_max: float = 30.0
    """CAMELOPS_RUNNER_RECHECK_MAX: the longest re-check delay while Progressing (default 30)."""
    ingress_health: IngressHealth = IngressHealth.ADDRESS
    """CAMELOPS_RUNNER_INGRESS_HEALTH (kubernetes driver): `address` (default): an Ingress is
    Healthy once its controller published a load-balancer address; `admitted`: once the API
    server has it, for clusters whose ingress controller publishes no address."""


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """How commands that call the control plane over HTTPS trust its certificate."""

    ca_file: Path | None = None
    """CAMELOPS_CA_FILE: PEM file of the CA that signed the API's certificate (`serve --api-tls`
    prints its path, `<data-dir>/pki/ca.crt.pem`); unset: the system's trust store. A command's
    `--ca-file` wins."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Every CAMELOPS_* setting, read once from the environment by `main()`."""

    log: LogSettings = field(default_factory=LogSettings)
    git: GitSettings = field(default_factory=GitSettings)
    secrets: SecretSettings = field(default_factory=SecretSettings)
    runner: RunnerSettings = field(default_factory=RunnerSettings)
    client: ClientSettings = field(default_factory=ClientSettings)

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Settings:
        ssh_key = env.get("CAMELOPS_GIT_SSH_KEY")
        ca_file = env.get("CAMELOPS_CA_FILE")
        return cls(
            log=LogSettings(
                format=_choice(env, "CAMELOPS_LOG_FORMAT", LogFormat, LogFormat.TEXT),
                level=_level(env.get("CAMELOPS_LOG_LEVEL", "INFO")),
            ),
            git=GitSettings(
                https_token=env.get("CAMELOPS_GIT_TOKEN") or None,
                token_hosts=tuple(
                    h.strip()
                    for h in env.get("CAMELOPS_GIT_TOKEN_HOSTS", "").split(",")
                    if h.strip()
                ),
                https_username=env.get("CAMELOPS_GIT_USERNAME", "git"),
                local_repo_roots=env.get("CAMELOPS_LOCAL_REPO_ROOTS"),
                ssh_private_key=Path(ssh_key) if ssh_key else None,
                ssh_passphrase=env.get("CAMELOPS_GIT_SSH_PASSPHRASE", ""),
            ),
            secrets=SecretSettings(
                kek=_kek(env.get("CAMELOPS_KEK", "")),
                ca_passphrase=env.get("CAMELOPS_CA_PASSPHRASE", "").encode() or None,
                notify_secret=env.get("CAMELOPS_NOTIFY_SECRET", "").encode(),
                api_token=env.get("CAMELOPS_TOKEN", ""),
                sidecar_token=env.get("CAMELOPS_SIDECAR_TOKEN", ""),
                handover_token=env.get("CAMELOPS_SIDECAR_HANDOVER_TOKEN", ""),
            ),
            runner=RunnerSettings(
                data_dir=Path(env.get("CAMELOPS_DATA_DIR") or ".camelops"),
                inventory_namespace=env.get("CAMELOPS_RUNNER_NAMESPACE") or "camelops-system",
                camel_home=Path(env.get("CAMELOPS_CAMEL_HOME") or ".cache/camel-app"),
                interval=_seconds(env, "CAMELOPS_RUNNER_INTERVAL", 180.0),
                recheck=_seconds(env, "CAMELOPS_RUNNER_RECHECK", 2.0),
                recheck_max=_seconds(env, "CAMELOPS_RUNNER_RECHECK_MAX", 30.0),
                ingress_health=_choice(
                    env, "CAMELOPS_RUNNER_INGRESS_HEALTH", IngressHealth, IngressHealth.ADDRESS
                ),
            ),
            client=ClientSettings(ca_file=Path(ca_file) if ca_file else None),
        )


_Choice = TypeVar("_Choice", LogFormat, IngressHealth)


def _choice(env: Mapping[str, str], name: str, kind: type[_Choice], default: _Choice) -> _Choice:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        return kind(raw.lower())
    except ValueError:
        allowed = " or ".join(k.value for k in kind)
        raise SettingsError(f"{name}: expected {allowed}, found {raw!r}") from None


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 86400:
        raise SettingsError(f"{name}: expected seconds between 0 and 86400, found {raw!r}")
    return value


_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _level(raw: str) -> str:
    if raw.upper() not in _LEVELS:
        raise SettingsError(
            f"CAMELOPS_LOG_LEVEL: expected one of {', '.join(_LEVELS)}, found {raw!r}"
        )
    return raw.upper()


def _kek(encoded: str) -> bytes | None:
    if not encoded:
        return None
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        # the value itself is key material: never echo it
        raise SettingsError("CAMELOPS_KEK must be base64 of 32 bytes")
    return key
