"""`camelops demo` and `camelops runner --driver local` refuse bad input before starting
anything; the demo's saved state is private and stable across runs."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from camelops.cli import main
from camelops.commands.demo import summary
from camelops.demo.stack import DEMO_SECRETS, DemoStack
from camelops.demo.state import PROJECT, load_or_create
from reconciler.secrets.sealing import generate_private_key, public_pem, unseal_value
from tunnel.registration import RunnerFiles

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "repo-layout"


def test_demo_without_a_camel_runtime_says_how_to_get_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    code = main(["demo", "--root", str(root), "--camel-home", str(tmp_path / "none")])
    assert code == 2
    assert "make camel-app" in capsys.readouterr().err
    assert not root.exists()  # nothing half set up


def test_demo_refuses_a_directory_that_is_no_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "runtime" / "lib").mkdir(parents=True)
    code = main(
        ["demo", "--root", str(tmp_path / "root"), "--camel-home", str(tmp_path / "runtime"),
         "--example", str(tmp_path)]
    )  # fmt: skip
    assert code == 2
    assert "is not a camelops repository" in capsys.readouterr().err
    assert not (tmp_path / "root").exists()


def test_demo_state_is_private_and_kept(tmp_path: Path) -> None:
    first = load_or_create(tmp_path / "root")
    saved = tmp_path / "root" / "demo.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600  # it holds the webhook secret
    again = load_or_create(tmp_path / "root")
    assert again == first


def test_local_runner_without_a_camel_runtime_stops_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = RunnerFiles.in_data_dir(tmp_path)
    files.directory.mkdir(parents=True)
    files.cert.write_text("registered")  # only its presence is checked before the driver
    code = main(
        ["runner", "--driver", "local", "--data-dir", str(tmp_path),
         "--camel-home", str(tmp_path / "none"), "--relay", "off"]
    )  # fmt: skip
    assert code == 2
    # the runner's log handler replaces the root logger's (caplog's too): read what the user sees
    err = capsys.readouterr().err
    assert "no Camel runtime in" in err
    assert "make camel-app" in err


def test_demo_summary_names_the_portal_and_where_its_password_is(tmp_path: Path) -> None:
    state = load_or_create(tmp_path / "root")
    text = summary(state)
    assert f"http://127.0.0.1:{state.api_port}/ " in text
    assert f"login admin, password: cat {tmp_path / 'root' / 'portal-password'}" in text


def test_the_demo_seals_the_examples_values_to_its_control_planes_key(tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(EXAMPLE, work)
    key = generate_private_key()
    DemoStack._reseal(work, public_pem(key))
    path = work / "secrets" / "db-credentials.sealed.yaml"
    values = YAML(typ="safe").load(path.read_text())["spec"]["encryptedData"]
    assert {name: unseal_value(key, PROJECT, v) for name, v in values.items()} == DEMO_SECRETS
    original = (EXAMPLE / "secrets" / "db-credentials.sealed.yaml").read_text()
    for name, value in YAML(typ="safe").load(original)["spec"]["encryptedData"].items():
        original = original.replace(value, values[name])
    assert path.read_text() == original  # only the values changed: comments and order kept
