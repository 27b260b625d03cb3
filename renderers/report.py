"""The diff report reviewers read: the Camel-level summary first, then one unified diff per
object, per environment. Text for terminals and PR comments, JSON for tools."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from renderers.camel_diff import IntegrationCamelDiff
from renderers.diff import ObjectChange


@dataclass(frozen=True, slots=True)
class DiffReport:
    base: str
    head: str
    camel: list[IntegrationCamelDiff] = field(default_factory=list)
    objects: dict[str, list[ObjectChange]] = field(default_factory=dict)
    """Environment -> object changes."""

    @property
    def has_changes(self) -> bool:
        return bool(self.camel) or any(self.objects.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "head": self.head,
            "changed": self.has_changes,
            "camel": [c.as_json() for c in self.camel],
            "environments": {
                env: [c.as_json() for c in changes] for env, changes in sorted(self.objects.items())
            },
        }

    def format_json(self) -> str:
        return json.dumps(self.as_json(), indent=2, sort_keys=True) + "\n"

    def format_text(self) -> str:
        lines = [f"camelops diff {self.base}..{self.head}"]
        if not self.has_changes:
            return lines[0] + "\nno differences\n"
        lines += ["", "Camel routes:", *_camel_lines(self.camel)]
        for env, changes in sorted(self.objects.items()):
            counts = {
                k: sum(1 for c in changes if c.change == k) for k in ("added", "changed", "removed")
            }
            summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "no changes"
            lines += ["", f"Environment {env}: {summary}"]
            lines += [f"  {c.change:<8} {c.key}" for c in changes]
        text = "\n".join(lines) + "\n"
        for env, changes in sorted(self.objects.items()):
            for change in changes:
                text += f"\n# {env}: {change.change} {change.key}\n{change.diff}"
        return text


def _camel_lines(diffs: list[IntegrationCamelDiff]) -> list[str]:
    if not diffs:
        return ["  no route changes"]
    lines = []
    for item in diffs:
        lines.append(f"  {item.integration}:")
        for label, values in (
            ("routes added", item.routes_added),
            ("routes removed", item.routes_removed),
            ("routes changed", item.routes_changed),
            ("endpoints added", item.endpoints_added),
            ("endpoints removed", item.endpoints_removed),
        ):
            if values:
                lines.append(f"    {label}: {', '.join(values)}")
        for route, steps in sorted(item.steps_changed.items()):
            lines.append(f"    steps of {route}:")
            lines += [f"      {step}" for step in steps]
    return lines
