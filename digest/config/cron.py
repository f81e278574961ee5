"""Cron expressions -> APScheduler triggers; the config validates with this, the scheduler
runs on it. APScheduler is imported when an expression is read, not before."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger


def cron_trigger(expression: str, zone: tzinfo | str) -> CronTrigger:
    """Five fields (minute hour day month weekday) as in crontab, or six with seconds first."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) == 5:
        return CronTrigger.from_crontab(expression, timezone=zone)
    if len(fields) == 6:
        second, minute, hour, day, month, weekday = fields
        return CronTrigger(
            second=second,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=weekday,
            timezone=zone,
        )
    raise ValueError("needs 5 fields (minute hour day month weekday) or 6 (seconds first)")
