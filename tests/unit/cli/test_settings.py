"""The settings root: the environment read once into documented groups; bad values refused with
the variable's name (never its value when it is key material); one logging set-up."""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from camelops.cli import COMMANDS
from camelops.logs import JsonLines, setup_logging
from camelops.settings import IngressHealth, LogFormat, LogSettings, Settings, SettingsError

ROOT = Path(__file__).resolve().parents[3]
KEK = base64.b64encode(bytes(range(32))).decode()


def test_defaults_without_any_variable() -> None:
    settings = Settings.from_environment({})
    assert settings.log == LogSettings(LogFormat.TEXT, "INFO")
    assert settings.secrets.kek is None
    assert settings.secrets.ca_passphrase is None
    assert settings.runner.data_dir == Path(".camelops")
    assert settings.runner.inventory_namespace == "camelops-system"
    assert settings.client.ca_file is None
    assert (settings.runner.interval, settings.runner.recheck) == (180.0, 2.0)
    assert settings.runner.ingress_health is IngressHealth.ADDRESS


def test_every_group_reads_its_variables() -> None:
    settings = Settings.from_environment(
        {
            "CAMELOPS_LOG_FORMAT": "JSON",
            "CAMELOPS_LOG_LEVEL": "debug",
            "CAMELOPS_GIT_TOKEN": "ghp_secret",
            "CAMELOPS_GIT_SSH_KEY": "/keys/id_ed25519",
            "CAMELOPS_KEK": KEK,
            "CAMELOPS_CA_PASSPHRASE": "ca-pass",
            "CAMELOPS_NOTIFY_SECRET": "hmac",
            "CAMELOPS_TOKEN": "cop_x",
            "CAMELOPS_SIDECAR_TOKEN": "runner-x",
            "CAMELOPS_SIDECAR_HANDOVER_TOKEN": "handover-y",
            "CAMELOPS_DATA_DIR": "/var/lib/camelops",
            "CAMELOPS_RUNNER_NAMESPACE": "ops",
            "CAMELOPS_CA_FILE": "/etc/camelops/ca.crt.pem",
            "CAMELOPS_RUNNER_INTERVAL": "60",
            "CAMELOPS_RUNNER_RECHECK": "0.5",
            "CAMELOPS_RUNNER_RECHECK_MAX": "10",
            "CAMELOPS_RUNNER_INGRESS_HEALTH": "admitted",
        }
    )
    assert settings.log == LogSettings(LogFormat.JSON, "DEBUG")
    assert settings.git.https_token == "ghp_secret"
    assert settings.git.ssh_private_key == Path("/keys/id_ed25519")
    assert settings.secrets.kek == bytes(range(32))
    assert settings.secrets.ca_passphrase == b"ca-pass"
    assert settings.secrets.notify_secret == b"hmac"
    assert settings.secrets.sidecar_token == "runner-x"
    assert settings.secrets.handover_token == "handover-y"
    assert settings.runner.data_dir == Path("/var/lib/camelops")
    assert settings.runner.inventory_namespace == "ops"
    assert settings.client.ca_file == Path("/etc/camelops/ca.crt.pem")
    assert (settings.runner.interval, settings.runner.recheck) == (60.0, 0.5)
    assert settings.runner.recheck_max == 10.0
    assert settings.runner.ingress_health is IngressHealth.ADMITTED
    shown = repr(settings)
    for secret in ("ghp_secret", "ca-pass", "hmac", "cop_x", "handover-y", KEK):
        assert secret not in shown


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CAMELOPS_LOG_FORMAT": "xml"}, "CAMELOPS_LOG_FORMAT: expected text or json, found 'xml'"),
        ({"CAMELOPS_LOG_LEVEL": "loud"}, "CAMELOPS_LOG_LEVEL: expected one of DEBUG"),
        ({"CAMELOPS_KEK": "c2hvcnQ="}, "CAMELOPS_KEK must be base64 of 32 bytes"),
        ({"CAMELOPS_KEK": "not base64!"}, "CAMELOPS_KEK must be base64 of 32 bytes"),
        ({"CAMELOPS_RUNNER_RECHECK": "soon"}, "CAMELOPS_RUNNER_RECHECK: expected seconds"),
        ({"CAMELOPS_RUNNER_INTERVAL": "0"}, "CAMELOPS_RUNNER_INTERVAL: expected seconds"),
        (
            {"CAMELOPS_RUNNER_INGRESS_HEALTH": "maybe"},
            "CAMELOPS_RUNNER_INGRESS_HEALTH: expected address or admitted, found 'maybe'",
        ),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match="^" + message.replace("(", r"\(")) as caught:
        Settings.from_environment(env)
    if "KEK" in message:
        assert env["CAMELOPS_KEK"] not in str(caught.value)


def run_camelops(*words: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "camelops", *words],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        check=False,
    )


def test_a_bad_setting_stops_the_command_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = run_camelops(
        "token", "list", "--user", "ana", "--data-dir", str(data_dir),
        env={"CAMELOPS_LOG_FORMAT": "xml"},
    )  # fmt: skip
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "camelops: CAMELOPS_LOG_FORMAT: expected text or json, found 'xml'"
    )
    assert not data_dir.exists()  # stopped before the command ran


@pytest.mark.parametrize("command", ["validate", "render"])
def test_commands_that_take_no_setting_ignore_them(command: str) -> None:
    """validate, render and diff read no CAMELOPS_* variable (the table in docs/operations.md):
    a value only a daemon uses does not stop them."""
    words = [command, "examples/repo-layout"] + (["--env", "dev"] if command == "render" else [])
    result = run_camelops(*words, env={"CAMELOPS_LOG_FORMAT": "xml"})
    assert result.returncode == 0, result.stderr
    assert result.stdout


def test_json_lines_carry_level_logger_message_and_exception() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "camelops.x", logging.ERROR, __file__, 1, "sync %s", ("dev",), sys.exc_info()
        )
    entry = json.loads(JsonLines().format(record))
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "camelops.x"
    assert entry["message"] == "sync dev"
    assert "ValueError: boom" in entry["exception"]
    assert entry["time"].endswith("Z")


def test_logging_set_up_twice_writes_each_line_once() -> None:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    try:
        setup_logging(LogSettings(LogFormat.JSON, "WARNING"))
        setup_logging(LogSettings(LogFormat.JSON, "WARNING"))
        assert len(root.handlers) == 1
        assert isinstance(root.handlers[0].formatter, JsonLines)
        assert root.level == logging.WARNING
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved:
            root.addHandler(handler)
        root.setLevel(level)


def test_only_the_reading_commands_skip_the_settings() -> None:
    assert sorted(name for name, c in COMMANDS.items() if not c.reads_settings) == [
        "diff",
        "render",
        "validate",
    ]
