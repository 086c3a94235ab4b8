"""Cron schedules of workflows (`cron_schedule`): when the next run of a cron chain starts.

Temporal (common/backoff/cron.go, robfig/cron's standard parser) accepts the 5-field syntax,
descriptors such as @hourly, `@every <Go duration>` and a leading `CRON_TZ=<zone>` (or
`TZ=<zone>`); times are UTC unless a zone is named. Each run's first workflow task waits for the
next fire time, in whole seconds. The 5-field syntax and the descriptors are parsed by
`croniter`; @every and the zone prefix, which it does not know, are handled here.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

_ZONE = re.compile(r"^(?:CRON_TZ|TZ)=(\S+)\s+(.+)$")
_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_MS = {
    "ns": 1e-6,
    "us": 1e-3,
    "µs": 1e-3,
    "μs": 1e-3,
    "ms": 1.0,
    "s": 1e3,
    "m": 60e3,
    "h": 3600e3,
}


class _Invalid(ValueError):
    """A schedule Temporal would refuse."""


def _go_duration_ms(text: str) -> float:
    """Milliseconds of a Go duration string (time.ParseDuration, unsigned)."""
    if text == "0":
        return 0.0
    total, pos = 0.0, 0
    for match in _GO_DURATION_PART.finditer(text):
        if match.start() != pos:
            raise _Invalid(text)
        total += float(match.group(1)) * _UNIT_MS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise _Invalid(text)
    return total


def _split(schedule: str) -> tuple[str, tzinfo]:
    """(the schedule without its zone prefix, the zone it fires in)."""
    schedule = schedule.strip()
    zone: tzinfo = UTC
    match = _ZONE.match(schedule)
    if match:
        try:
            zone = ZoneInfo(match.group(1))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise _Invalid(schedule) from exc
        schedule = match.group(2).strip()
    return schedule, zone


def _next(schedule: str, after_ms: int) -> int | None:
    """The first fire time strictly after `after_ms` (epoch ms), or None if there is none.

    Raises:
        _Invalid: the schedule does not parse.
    """
    spec, zone = _split(schedule)
    if spec.startswith("@every"):
        delay_ms = _go_duration_ms(spec[len("@every") :].strip())
        # robfig's Every: at least a second, whole seconds, from the start of `after`'s second.
        delay_s = max(int(delay_ms // 1000), 1)
        return (after_ms // 1000 + delay_s) * 1000
    if not croniter.is_valid(spec):
        raise _Invalid(schedule)
    try:
        start = datetime.fromtimestamp(after_ms / 1000, tz=zone)
        fire = croniter(spec, start).get_next(datetime)
    except (CroniterError, ValueError, KeyError, OverflowError):
        return None
    return int(fire.timestamp() * 1000)


def is_valid(schedule: str) -> bool:
    """Whether `schedule` is a cron schedule Temporal accepts (ValidateSchedule: it parses and
    fires at least once more)."""
    if not schedule:
        return True
    try:
        return _next(schedule, 0) is not None
    except _Invalid:
        return False


def backoff_ms(schedule: str, scheduled_ms: int, now_ms: int) -> int | None:
    """Temporal's GetBackoffForNextSchedule: how long from `now_ms` until the next fire time
    after `scheduled_ms` that is not before now, rounded up to whole seconds; None when the
    schedule is empty, invalid or never fires again."""
    if not schedule:
        return None
    try:
        if now_ms < scheduled_ms:
            fire: int | None = scheduled_ms
        else:
            fire = _next(schedule, scheduled_ms)
            while fire is not None and fire < now_ms:
                fire = _next(schedule, fire)
    except _Invalid:
        return None
    if fire is None:
        return None
    return math.ceil((fire - now_ms) / 1000) * 1000


def first_backoff_ms(schedule: str, now_ms: int) -> int:
    """The first run's delay (GetBackoffForNextScheduleNonNegative from the start time)."""
    delay = backoff_ms(schedule, now_ms, now_ms)
    return max(delay or 0, 0)
