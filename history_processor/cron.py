"""Cron schedules of workflows (`cron_schedule`): when the next run of a cron chain starts.

Temporal (common/backoff/cron.go) parses the standard 5-field syntax and descriptors such as
@hourly in UTC, and delays each run's first workflow task to the next fire time, in whole
seconds. The parsing and the fire times come from `croniter`; this module adds Temporal's
rules around them (the first fire time after the run's scheduled time that is not in the past).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from croniter import CroniterError, croniter


def is_valid(schedule: str) -> bool:
    """Whether `schedule` is a cron schedule Strom can run (Temporal's ValidateSchedule)."""
    if not schedule:
        return True
    try:
        return bool(croniter.is_valid(schedule)) and _next(schedule, 0) is not None
    except (CroniterError, ValueError, KeyError):
        return False


def _next(schedule: str, after_ms: int) -> int | None:
    """The first fire time strictly after `after_ms` (epoch ms), or None."""
    try:
        start = datetime.fromtimestamp(after_ms / 1000, tz=UTC)
        fire = croniter(schedule, start).get_next(datetime)
    except (CroniterError, ValueError, KeyError):
        return None
    return int(fire.timestamp() * 1000)


def backoff_ms(schedule: str, scheduled_ms: int, now_ms: int) -> int | None:
    """Temporal's GetBackoffForNextSchedule: how long from `now_ms` until the next fire time
    after `scheduled_ms` that is not before now, rounded up to whole seconds; None when the
    schedule is empty, invalid or never fires again."""
    if not schedule:
        return None
    if now_ms < scheduled_ms:
        fire: int | None = scheduled_ms
    else:
        fire = _next(schedule, scheduled_ms)
        while fire is not None and fire < now_ms:
            fire = _next(schedule, fire)
    if fire is None:
        return None
    return math.ceil((fire - now_ms) / 1000) * 1000


def first_backoff_ms(schedule: str, now_ms: int) -> int:
    """The first run's delay (GetBackoffForNextScheduleNonNegative from the start time)."""
    delay = backoff_ms(schedule, now_ms, now_ms)
    return max(delay or 0, 0)
