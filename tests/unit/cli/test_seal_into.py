"""`camelops secret seal --into FILE --key K`, run as a user runs it: only the one value's bytes
change (or one line is added), the value opens with the project's key, and a file it cannot
take gets a message naming it and stays byte-for-byte as it was."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from camelops.client.sealed_file import SealedFileError, open_sealed_file
from reconciler.secrets.sealing import generate_private_key, public_pem, unseal_value

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_SECRET = ROOT / "examples" / "repo-layout" / "secrets" / "db-credentials.sealed.yaml"
OLD = "cops1:" + "A" * 60
HAND_WRITTEN = f"""\
# rotated by the DBA team; ask #db before changing
apiVersion: camelops.io/v1alpha1
kind: SealedSecret
metadata:
  name: db   # the name the integrations use
spec:
    environments: [dev,   prod]   # odd spacing, kept
    encryptedData:
        # who: the service account
        username: '{OLD}'
        password: {OLD}   # rotated 2026-11
    previewSafe: false
# trailing comment
"""


@pytest.fixture
def key_pair(tmp_path: Path) -> tuple[object, Path]:
    key = generate_private_key()
    pem = tmp_path / "project.pem"
    pem.write_bytes(public_pem(key))
    return key, pem


def seal_into(
    pem: Path, target: Path, key: str, value: str = "s3cret", project: str = "shop"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "camelops", "secret", "seal", "--project", project,
         "--public-key", str(pem), "--into", str(target), "--key", key],
        input=value + "\n", capture_output=True, text=True, cwd=ROOT, check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("CAMELOPS_")},
    )  # fmt: skip


def encrypted(path: Path) -> dict[str, str]:
    data: dict[str, str] = YAML(typ="safe").load(path.read_text())["spec"]["encryptedData"]
    return data


def test_replacing_a_value_changes_only_its_bytes(
    tmp_path: Path, key_pair: tuple[object, Path]
) -> None:
    private, pem = key_pair
    target = tmp_path / "db.sealed.yaml"
    target.write_text(HAND_WRITTEN)
    done = seal_into(pem, target, "password")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f"{target}: replaced key password"
    assert done.stdout == ""
    sealed = encrypted(target)["password"]
    assert unseal_value(private, "shop", sealed) == "s3cret"  # type: ignore[arg-type]
    assert target.read_text() == HAND_WRITTEN.replace(f"password: {OLD}", f"password: {sealed}")

    # a quoted value stays quoted, with the same quotes
    assert seal_into(pem, target, "username", "svc").returncode == 0
    user = encrypted(target)["username"]
    assert target.read_text() == HAND_WRITTEN.replace(
        f"password: {OLD}", f"password: {sealed}"
    ).replace(f"username: '{OLD}'", f"username: '{user}'")


def test_adding_a_key_adds_one_line_after_the_last(
    tmp_path: Path, key_pair: tuple[object, Path]
) -> None:
    private, pem = key_pair
    target = tmp_path / "db.sealed.yaml"
    target.write_text(HAND_WRITTEN)
    done = seal_into(pem, target, "api-token", "tok")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f"{target}: added key api-token"
    sealed = encrypted(target)["api-token"]
    assert unseal_value(private, "shop", sealed) == "tok"  # type: ignore[arg-type]
    last = f"        password: {OLD}   # rotated 2026-11\n"
    assert target.read_text() == HAND_WRITTEN.replace(last, last + f"        api-token: {sealed}\n")
    assert list(encrypted(target)) == ["username", "password", "api-token"]


def test_a_symlinked_file_is_changed_where_it_is(
    tmp_path: Path, key_pair: tuple[object, Path]
) -> None:
    target = tmp_path / "shared" / "db.sealed.yaml"
    target.parent.mkdir()
    target.write_text(HAND_WRITTEN)
    target.chmod(0o640)
    link = tmp_path / "db.sealed.yaml"
    link.symlink_to(target)
    assert seal_into(key_pair[1], link, "password").returncode == 0
    assert link.is_symlink()
    assert encrypted(target)["password"] != OLD
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_the_example_repository_file_keeps_every_other_byte(
    tmp_path: Path, key_pair: tuple[object, Path]
) -> None:
    target = tmp_path / "db-credentials.sealed.yaml"
    original = EXAMPLE_SECRET.read_bytes()
    target.write_bytes(original)
    assert seal_into(key_pair[1], target, "password").returncode == 0
    old = encrypted(EXAMPLE_SECRET)["password"].encode()
    new = encrypted(target)["password"].encode()
    assert target.read_bytes() == original.replace(old, new)


def test_line_endings_and_flow_style_are_kept(tmp_path: Path) -> None:
    crlf = tmp_path / "crlf.sealed.yaml"
    crlf.write_bytes(HAND_WRITTEN.replace("\n", "\r\n").encode())
    text, replaced = open_sealed_file(crlf).with_value("extra", "cops1:" + "B" * 60)
    assert not replaced
    assert "\n" not in text.replace("\r\n", "")  # no lone LF slipped in
    assert f"        extra: cops1:{'B' * 60}\r\n" in text

    flow = tmp_path / "flow.sealed.yaml"
    flow.write_text(
        "apiVersion: camelops.io/v1alpha1\nkind: SealedSecret\nmetadata: {name: flow}\n"
        f"spec: {{encryptedData: {{a: {OLD}}}}}\n"
    )
    text, replaced = open_sealed_file(flow).with_value("b", "cops1:" + "C" * 60)
    assert text.endswith(f"spec: {{encryptedData: {{a: {OLD}, b: cops1:{'C' * 60}}}}}\n")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"spec: [unclosed\n", "not YAML", id="not-yaml"),
        pytest.param(b"\xff\xfe binary", "not UTF-8 text", id="binary"),
        pytest.param(
            b"apiVersion: camelops.io/v1alpha1\nkind: Integration\nspec: {}\n",
            "not a sealed-secret file (expected kind: SealedSecret)",
            id="another-kind",
        ),
        pytest.param(b"- a\n- b\n", "not a sealed-secret file", id="a-list"),
        pytest.param(
            b"kind: SealedSecret\nspec:\n  encryptedData: nope\n",
            "not a sealed-secret file (no spec.encryptedData mapping)",
            id="no-mapping",
        ),
        pytest.param(
            f"kind: SealedSecret\nspec:\n  encryptedData:\n    a: {OLD}\n    a: {OLD}\n".encode(),
            "not YAML",
            id="duplicate-key",
        ),
        pytest.param(
            f"kind: SealedSecret\nspec:\n  encryptedData:\n    password: |\n      {OLD}\n".encode(),
            "key password: holds something other than a one-line value",
            id="block-scalar",
        ),
        pytest.param(
            b"kind: SealedSecret\nspec: {encryptedData: {a: x}}\n---\nkind: Other\n",
            "not YAML",
            id="two-documents",
        ),
    ],
)
def test_a_file_it_cannot_take_is_named_and_left_untouched(
    tmp_path: Path, key_pair: tuple[object, Path], content: bytes, message: str
) -> None:
    target = tmp_path / "hostile.sealed.yaml"
    target.write_bytes(content)
    before = target.stat()
    done = seal_into(key_pair[1], target, "password")
    assert done.returncode == 2
    assert done.stderr.startswith(f"camelops secret seal: {target}: "), done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert target.read_bytes() == content
    assert target.stat().st_mtime_ns == before.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.sealed.yaml", "project.pem"]


def test_a_missing_or_read_only_file_is_refused(
    tmp_path: Path, key_pair: tuple[object, Path]
) -> None:
    missing = tmp_path / "missing.sealed.yaml"
    done = seal_into(key_pair[1], missing, "password")
    assert done.returncode == 2
    assert f"{missing}: no such file; --into changes an existing sealed-secret file" in done.stderr
    assert not missing.exists()

    read_only = tmp_path / "ro.sealed.yaml"
    read_only.write_text(HAND_WRITTEN)
    read_only.chmod(0o444)
    done = seal_into(key_pair[1], read_only, "password")
    assert done.returncode == 2
    assert f"{read_only}: read-only; make it writable to change it" in done.stderr
    assert read_only.read_text() == HAND_WRITTEN
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project.pem", "ro.sealed.yaml"]


def test_a_bad_key_name_and_a_lone_flag_are_refused(
    tmp_path: Path, key_pair: tuple[object, Path]
) -> None:
    target = tmp_path / "db.sealed.yaml"
    target.write_text(HAND_WRITTEN)
    done = seal_into(key_pair[1], target, "pass word")
    assert done.returncode == 2
    assert f"{target}: key 'pass word': letters, digits" in done.stderr
    lone = subprocess.run(
        [sys.executable, "-m", "camelops", "secret", "seal", "--project", "shop",
         "--public-key", str(key_pair[1]), "--into", str(target)],
        input="x\n", capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert lone.returncode == 2
    assert "--into and --key go together" in lone.stderr
    assert target.read_text() == HAND_WRITTEN


def test_a_sealing_error_names_the_file_and_the_key(tmp_path: Path) -> None:
    target = tmp_path / "db.sealed.yaml"
    target.write_text(HAND_WRITTEN)
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("hello\n")
    done = seal_into(not_a_key, target, "password")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"camelops secret seal: {target}: key password: not a PEM public key (expected the "
        "project's sealing key)"
    )
    assert target.read_text() == HAND_WRITTEN


def test_open_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(SealedFileError, match="not a regular file"):
        open_sealed_file(tmp_path)
