"""Field-level comparison of a live object with what a server-side apply dry-run makes of it."""

from __future__ import annotations

import json
from typing import Any

from runner.driver import FieldDiff

# Fields the server owns and changes on every write; never drift.
_VOLATILE_META = ("managedFields", "resourceVersion", "generation", "creationTimestamp", "uid")
_HIDDEN = "<hidden>"
_VALUE_LIMIT = 200


def _normalized(obj: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _VOLATILE_META}
    out["metadata"] = meta
    return out


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _render(value: Any) -> str:
    if value is None:
        return "<absent>"
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= _VALUE_LIMIT else text[: _VALUE_LIMIT - 3] + "..."


def _walk(live: Any, desired: Any, path: str, out: list[FieldDiff]) -> None:
    if isinstance(live, dict) and isinstance(desired, dict):
        for key in sorted(set(live) | set(desired)):
            _walk(live.get(key), desired.get(key), f"{path}/{_escape(str(key))}", out)
        return
    if live != desired:
        out.append(FieldDiff(path or "/", _render(live), _render(desired)))


def field_diffs(live: dict[str, Any], desired: dict[str, Any]) -> tuple[FieldDiff, ...]:
    """JSON pointers where `desired` (a dry-run result) differs from `live`; Secret data hidden."""
    out: list[FieldDiff] = []
    is_secret = live.get("kind") == "Secret" or desired.get("kind") == "Secret"
    _walk(_normalized(live), _normalized(desired), "", out)
    if is_secret:  # values (data, annotations holding last-applied copies) never leave the runner
        out = [FieldDiff(d.path, _HIDDEN, _HIDDEN) for d in out]
    return tuple(out)
