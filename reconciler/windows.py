"""Sync windows (Argo CD semantics): when an environment may be synced automatically or by hand.

A window is active at `t` when one of its cron start times lies in `(t - duration, t]`. Any
active deny window blocks; when allow windows exist, one of them must be active. Deny wins.
Manual syncs pass a blocking window only when every blocking window sets `manualSync: true`;
an operator's explicit override passes anyway and is written to the audit log by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from schema.model_rules import SyncWindowKind
from schema.models.project import SyncWindow


@dataclass(frozen=True, slots=True)
class WindowDecision:
    automated: bool
    manual: bool
    reason: str


_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
}


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(schedule: str, zone: ZoneInfo) -> CronTrigger:
    """A five-field cron line with standard weekdays (0 and 7 = Sunday).

    APScheduler 3 numbers weekdays from Monday = 0, so `from_crontab("0 18 * * 5")` would fire
    on Saturdays; numeric weekdays are spelled out as names instead.
    """
    minute, hour, day, month, weekday = _MACROS.get(schedule, schedule).split()
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_weekdays(weekday),
        timezone=zone,
    )


def _weekdays(field: str) -> str:
    parts = []
    for part in field.split(","):
        span, _, step = part.partition("/")
        if not any(c.isdigit() for c in span):
            parts.append(part)  # names and '*' mean the same in both dialects
            continue
        first, _, last = span.partition("-")
        start, end = int(first), int(last or (6 if step else first))
        if not 0 <= start <= end <= 7:
            raise ValueError(f"weekday range {span!r} is outside 0-7")
        numbers = range(start, end + 1, int(step or 1))
        parts += [_DAYS[n % 7] for n in numbers]
    return ",".join(dict.fromkeys(parts))


def window_active(window: SyncWindow, at: datetime) -> bool:
    try:
        zone = ZoneInfo(window.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    try:
        trigger = cron_trigger(window.schedule, zone)
    except (ValueError, IndexError):
        # a schedule only the schema let through: fail closed (deny blocks, allow never opens)
        return window.kind is SyncWindowKind.DENY
    start = (at - window.duration).astimezone(zone)
    first = trigger.get_next_fire_time(None, start)
    return first is not None and (at - window.duration) < first <= at


def evaluate(windows: Sequence[SyncWindow], at: datetime | None = None) -> WindowDecision:
    now = at or datetime.now(UTC)
    active = [w for w in windows if window_active(w, now)]
    denies = [w for w in active if w.kind is SyncWindowKind.DENY]
    allows = [w for w in windows if w.kind is SyncWindowKind.ALLOW]
    if denies:
        manual = all(w.manual_sync for w in denies)
        return WindowDecision(False, manual, "a deny sync window is active")
    if allows and not any(w.kind is SyncWindowKind.ALLOW for w in active):
        manual = all(w.manual_sync for w in allows)
        return WindowDecision(False, manual, "outside every allow sync window")
    return WindowDecision(True, True, "no sync window blocks")
