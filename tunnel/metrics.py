"""Prometheus-style counters and gauges, rendered as the plain text exposition format."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from contract.prometheus import Labels, label_set

__all__ = ["Labels", "Metrics"]


class Metrics:
    """Counters only ever grow; gauges are read from a callback at render time."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._counters: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self._help: dict[str, tuple[str, str]] = {}
        self._gauges: dict[str, Callable[[], dict[Labels, float]]] = {}

    def describe(self, name: str, kind: str, text: str) -> None:
        self._help[name] = (kind, text)

    def inc(self, name: str, value: float = 1, labels: Labels = ()) -> None:
        self._counters[name][labels] += value

    def value(self, name: str, labels: Labels = ()) -> float:
        return self._counters.get(name, {}).get(labels, 0.0)

    def gauge(self, name: str, read: Callable[[], dict[Labels, float]], text: str) -> None:
        self._gauges[name] = read
        self._help[name] = ("gauge", text)

    def render(self) -> str:
        lines: list[str] = []
        series = {name: dict(values) for name, values in self._counters.items()}
        series.update({name: read() for name, read in self._gauges.items()})
        for name in sorted(series):
            full = f"{self.prefix}_{name}"
            kind, text = self._help.get(name, ("counter", name.replace("_", " ")))
            lines += [f"# HELP {full} {text}", f"# TYPE {full} {kind}"]
            for labels, value in sorted(series[name].items()):
                lines.append(f"{full}{label_set(labels)} {value:g}")
        return "\n".join(lines) + "\n"
