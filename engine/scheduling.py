"""Cron expressions and time zones: parsed once here with APScheduler's CronTrigger.

Five fields are standard cron (minute hour day month weekday); six fields put seconds
first, for sub-minute schedules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import ValidationError


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"unknown time zone {name!r} (e.g. UTC, Asia/Riyadh)", field="timezone"
        ) from None


def trigger(cron: str, timezone: str = "UTC") -> Any:
    """An APScheduler CronTrigger, or a ValidationError that says what is wrong."""
    from apscheduler.triggers.cron import CronTrigger

    tz = zone(timezone)
    fields = cron.split()
    try:
        if len(fields) == 5:
            return CronTrigger.from_crontab(cron, timezone=tz)
        if len(fields) == 6:
            second, minute, hour, day, month, dow = fields
            return CronTrigger(
                second=second,
                minute=minute,
                hour=hour,
                day=day,
                month=month,
                day_of_week=dow,
                timezone=tz,
            )
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"invalid cron expression {cron!r}: {exc}", field="cron") from None
    raise ValidationError(
        f"invalid cron expression {cron!r}: expected 5 fields (minute hour day month weekday) "
        "or 6 with seconds first",
        field="cron",
    )


def fire_times(trig: Any, after: datetime, until: datetime, limit: int = 10_000) -> list[datetime]:
    """Fire times t with after < t <= until, oldest first."""
    out: list[datetime] = []
    prev = None
    current = trig.get_next_fire_time(None, after)
    while current is not None and current <= until and len(out) < limit:
        if current > after:
            out.append(current)
        prev = current
        current = trig.get_next_fire_time(prev, prev)
        if current is not None and current <= prev:
            break
    return out


def next_fire(trig: Any, now: datetime) -> datetime | None:
    return trig.get_next_fire_time(None, now)
