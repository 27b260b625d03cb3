"""Sync window rules: active ranges, deny wins, allow windows, manual syncs, time zones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reconciler.windows import evaluate, window_active
from schema.models.project import SyncWindow


def window(**fields: Any) -> SyncWindow:
    return SyncWindow.model_validate(fields)


AT_2230 = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)


def test_active_from_start_until_just_before_start_plus_duration() -> None:
    deny = window(kind="deny", schedule="0 22 * * *", duration="1h")
    assert not window_active(deny, datetime(2026, 11, 23, 21, 59, 59, tzinfo=UTC))
    assert window_active(deny, datetime(2026, 11, 23, 22, 0, tzinfo=UTC))
    assert window_active(deny, datetime(2026, 11, 23, 22, 59, 59, tzinfo=UTC))
    assert not window_active(deny, datetime(2026, 11, 23, 23, 0, tzinfo=UTC))


def test_a_window_spanning_midnight() -> None:
    night = window(kind="deny", schedule="0 23 * * *", duration="3h")
    assert window_active(night, datetime(2026, 11, 24, 1, 30, tzinfo=UTC))


def test_deny_wins_over_an_active_allow() -> None:
    decision = evaluate(
        [
            window(kind="allow", schedule="0 20 * * *", duration="4h"),
            window(kind="deny", schedule="0 22 * * *", duration="1h"),
        ],
        AT_2230,
    )
    assert not decision.automated
    assert not decision.manual
    assert "deny" in decision.reason


def test_outside_all_allow_windows_blocks_and_manual_sync_flag_lets_people_through() -> None:
    allow = window(kind="allow", schedule="0 8 * * 1-5", duration="8h", manualSync=True)
    decision = evaluate([allow], AT_2230)
    assert not decision.automated
    assert decision.manual


def test_no_windows_allow_everything() -> None:
    assert evaluate([], AT_2230).automated


def test_time_zone_and_macros() -> None:
    berlin = window(kind="deny", schedule="0 23 * * *", duration="1h", timeZone="Europe/Berlin")
    assert window_active(berlin, AT_2230)  # 23:30 in Berlin
    daily = window(kind="deny", schedule="@daily", duration="30m")
    assert window_active(daily, datetime(2026, 11, 24, 0, 10, tzinfo=UTC))
    bogus_zone = window(kind="deny", schedule="0 22 * * *", duration="1h", timeZone="Mars/Base")
    assert window_active(bogus_zone, AT_2230)  # unknown zones fall back to UTC


def test_numeric_weekdays_follow_standard_cron() -> None:
    # 2026-11-20 is a Friday; APScheduler alone would read "5" as Saturday
    friday = window(kind="deny", schedule="0 18 * * 5", duration="62h", timeZone="Europe/Berlin")
    assert window_active(friday, datetime(2026, 11, 20, 18, 30, tzinfo=UTC))
    assert window_active(friday, datetime(2026, 11, 23, 6, 0, tzinfo=UTC))  # Monday 07:00 Berlin
    assert not window_active(friday, datetime(2026, 11, 23, 21, 0, tzinfo=UTC))
    sunday = window(kind="deny", schedule="0 10 * * 0", duration="1h")
    assert window_active(sunday, datetime(2026, 11, 22, 10, 30, tzinfo=UTC))
    assert window_active(
        window(kind="deny", schedule="0 10 * * 7", duration="1h"),
        datetime(2026, 11, 22, 10, 30, tzinfo=UTC),
    )
    weekdays = window(kind="allow", schedule="0 9 * * 1-5", duration="8h")
    assert window_active(weekdays, datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    assert not window_active(weekdays, datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    named = window(kind="allow", schedule="0 9 * * mon-fri", duration="8h")
    assert window_active(named, datetime(2026, 11, 23, 10, 0, tzinfo=UTC))


def test_unparseable_schedules_fail_closed() -> None:
    for schedule in ("99 99 * * *", "* * * * 9", "a b c d e", "* * * * 1-x"):
        assert window_active(window(kind="deny", schedule=schedule, duration="1h"), AT_2230)
        assert not window_active(window(kind="allow", schedule=schedule, duration="1h"), AT_2230)
