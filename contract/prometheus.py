"""The Prometheus text exposition format `/metrics` answers in: label sets, escaped once."""

from __future__ import annotations

Labels = tuple[tuple[str, str], ...]


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def label_set(labels: Labels) -> str:
    """`{k="v",...}`, or nothing for no labels."""
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels) + "}"
