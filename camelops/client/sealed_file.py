"""`secret seal --into FILE --key K`: add or replace one value in an existing sealed-secret file.

ruamel.yaml's round-trip parser gives every node its exact place in the text, so only the bytes
of that one value change (or one line is added): the user's comments, key order, quoting, line
endings and indentation stay as they were. The result is parsed again before it replaces the
file, and it replaces it atomically: a failure leaves the file untouched.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from schema.models.sealed_secret import SECRET_KEY_PATTERN

MAX_FILE_BYTES = 1024 * 1024
_PLAIN_KEY = re.compile(r"[A-Za-z_][-._A-Za-z0-9]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


class SealedFileError(ValueError):
    """The file cannot take the value; the message names the file (and the key)."""


@dataclass(frozen=True, slots=True)
class SealedFile:
    path: Path
    text: str
    encrypted_data: MappingNode
    """The `spec.encryptedData` node of `text`."""

    def key_names(self) -> list[str]:
        """The keys under spec.encryptedData, in the file's order."""
        return [str(key.value) for key, _ in self.encrypted_data.value]

    def with_value(self, key: str, sealed: str) -> tuple[str, bool]:
        """The file's text with `key` set to `sealed`, and whether it replaced a value."""
        check_key(key, self.path)
        found = _value_of(self.encrypted_data, key)
        if found is not None:
            return _replace(self.text, found, sealed, self._where(key)), True
        return _insert(self.text, self.encrypted_data, key, sealed), False

    def write_value(self, key: str, sealed: str) -> bool:
        """Set `key` in the file itself; True when it replaced a value, False when it added one."""
        text, replaced = self.with_value(key, sealed)
        _check_result(self, text, key, sealed)
        _replace_file(self.path, text.encode("utf-8"))
        return replaced

    def _where(self, key: str) -> str:
        return f"{self.path}: key {key}"


def check_key(key: str, path: Path) -> None:
    if not re.fullmatch(SECRET_KEY_PATTERN, key) or len(key) > 253:
        raise SealedFileError(
            f"{path}: key {key!r}: letters, digits, '-', '_' and '.' only (at most 253 characters)"
        )


def open_sealed_file(path: Path) -> SealedFile:
    """Read and check `path` before anything is sealed: an existing, writable SealedSecret file."""
    text = _read_text(path)
    try:
        root = YAML(typ="rt").compose(text)
        YAML(typ="safe", pure=True).load(text)  # refuses duplicate keys, which compose allows
    except YAMLError as exc:
        raise SealedFileError(f"{path}: not YAML: {_one_line(exc)}") from exc
    return SealedFile(path, text, _encrypted_data(path, root))


def _read_text(path: Path) -> str:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise SealedFileError(f"{path}: not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise SealedFileError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
        # the write bits, not access(): root may write anything, yet a read-only file says "no"
        if not info.st_mode & 0o222 or not os.access(path, os.W_OK):
            raise SealedFileError(f"{path}: read-only; make it writable to change it")
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise SealedFileError(
            f"{path}: no such file; --into changes an existing sealed-secret file (apiVersion, "
            "kind: SealedSecret, metadata.name, spec.encryptedData; see docs/config-reference.md)"
        ) from exc
    except OSError as exc:
        raise SealedFileError(f"{path}: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SealedFileError(f"{path}: not UTF-8 text") from exc


def _encrypted_data(path: Path, root: Node | None) -> MappingNode:
    kind = _value_of(root, "kind") if isinstance(root, MappingNode) else None
    if not isinstance(root, MappingNode) or not _is_scalar(kind, "SealedSecret"):
        raise SealedFileError(f"{path}: not a sealed-secret file (expected kind: SealedSecret)")
    spec = _value_of(root, "spec")
    data = _value_of(spec, "encryptedData") if isinstance(spec, MappingNode) else None
    if not isinstance(data, MappingNode):
        raise SealedFileError(f"{path}: not a sealed-secret file (no spec.encryptedData mapping)")
    return data


def _is_scalar(node: Node | None, value: str) -> bool:
    return isinstance(node, ScalarNode) and node.value == value


def _value_of(mapping: Node | None, key: str) -> Node | None:
    if not isinstance(mapping, MappingNode):
        return None
    for key_node, value_node in mapping.value:
        if _is_scalar(key_node, key):
            found: Node = value_node
            return found
    return None


def _replace(text: str, node: Node, sealed: str, where: str) -> str:
    if not isinstance(node, ScalarNode) or node.style in ("|", ">"):
        raise SealedFileError(f"{where}: holds something other than a one-line value")
    quote = node.style if node.style in ('"', "'") else ""
    start, end = int(node.start_mark.index), int(node.end_mark.index)
    return text[:start] + quote + sealed + quote + text[end:]


def _insert(text: str, mapping: MappingNode, key: str, sealed: str) -> str:
    entry = f"{_yaml_key(key)}: {sealed}"
    if mapping.flow_style:
        if not mapping.value:  # `{}`: right after the brace
            at = int(mapping.start_mark.index) + 1
            return text[:at] + entry + text[at:]
        at = int(mapping.value[-1][1].end_mark.index)
        return text[:at] + ", " + entry + text[at:]
    newline = "\r\n" if "\r\n" in text else "\n"
    indent = " " * int(mapping.value[0][0].start_mark.column)
    line_end = text.find("\n", int(mapping.value[-1][1].end_mark.index))
    if line_end == -1:  # the last entry ends the file without a newline
        return text + newline + indent + entry
    return text[: line_end + 1] + indent + entry + newline + text[line_end + 1 :]


def _yaml_key(key: str) -> str:
    plain = _PLAIN_KEY.fullmatch(key) and key.lower() not in _YAML_WORDS
    return key if plain else json.dumps(key)


def _check_result(original: SealedFile, text: str, key: str, sealed: str) -> None:
    """The new text must read as the old one plus (or with) this one value; otherwise the edit
    went wrong and the file is left alone."""
    before = _plain(original.text)
    try:
        after = _plain(text)
    except YAMLError as exc:
        raise SealedFileError(f"{original.path}: key {key}: the edit broke the YAML") from exc
    before["spec"]["encryptedData"][key] = sealed
    if after != before:
        raise SealedFileError(f"{original.path}: key {key}: cannot change this file's layout")


def _plain(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def _replace_file(link_or_file: Path, data: bytes) -> None:
    path = link_or_file.resolve()  # a symlinked file is changed where it is; the link stays
    mode = stat.S_IMODE(path.stat().st_mode)
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise SealedFileError(f"{path}: cannot write beside it: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _one_line(exc: YAMLError) -> str:
    return " ".join(str(exc).split())[:300]
