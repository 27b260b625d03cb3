"""Prometheus text exposition of the reconciler's counters, durations and queue depth."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from contract.prometheus import label_set

_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class Metrics:
    reconciles: dict[tuple[tuple[str, str], ...], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    webhooks: dict[tuple[tuple[str, str], ...], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    dispatches: dict[tuple[tuple[str, str], ...], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    duration_buckets: list[int] = field(default_factory=lambda: [0] * len(_BUCKETS))
    duration_sum: float = 0.0
    duration_count: int = 0
    queue_depth: int = 0

    def reconciled(self, result: str, reason: str, seconds: float) -> None:
        self.reconciles[(("result", result), ("reason", reason))] += 1
        self.duration_sum += seconds
        self.duration_count += 1
        for i, bound in enumerate(_BUCKETS):
            if seconds <= bound:
                self.duration_buckets[i] += 1

    def webhook(self, outcome: str) -> None:
        self.webhooks[(("outcome", outcome),)] += 1

    def dispatched(self, outcome: str) -> None:
        self.dispatches[(("outcome", outcome),)] += 1

    def render(self) -> str:
        lines = [
            "# HELP camelops_reconciles_total Reconciles by result and condition reason.",
            "# TYPE camelops_reconciles_total counter",
        ]
        lines += [
            f"camelops_reconciles_total{label_set(k)} {v}"
            for k, v in sorted(self.reconciles.items())
        ]
        lines += [
            "# HELP camelops_reconcile_duration_seconds Time from fetch to dispatch.",
            "# TYPE camelops_reconcile_duration_seconds histogram",
        ]
        for bound, count in zip(_BUCKETS, self.duration_buckets, strict=True):
            lines.append(f'camelops_reconcile_duration_seconds_bucket{{le="{bound}"}} {count}')
        lines.append(
            f'camelops_reconcile_duration_seconds_bucket{{le="+Inf"}} {self.duration_count}'
        )
        lines.append(f"camelops_reconcile_duration_seconds_sum {self.duration_sum:.6f}")
        lines.append(f"camelops_reconcile_duration_seconds_count {self.duration_count}")
        lines += [
            "# HELP camelops_reconcile_queue_depth Projects waiting for a reconcile worker.",
            "# TYPE camelops_reconcile_queue_depth gauge",
            f"camelops_reconcile_queue_depth {self.queue_depth}",
            "# HELP camelops_webhooks_total Git webhook deliveries by outcome.",
            "# TYPE camelops_webhooks_total counter",
        ]
        lines += [
            f"camelops_webhooks_total{label_set(k)} {v}" for k, v in sorted(self.webhooks.items())
        ]
        lines += [
            "# HELP camelops_dispatches_total Bundles handed to the dispatcher by outcome.",
            "# TYPE camelops_dispatches_total counter",
        ]
        lines += [
            f"camelops_dispatches_total{label_set(k)} {v}"
            for k, v in sorted(self.dispatches.items())
        ]
        return "\n".join(lines) + "\n"
