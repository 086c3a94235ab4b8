"""Nanosecond timestamps and durations in the text forms Temporal's visibility uses."""

from __future__ import annotations

import calendar
import re

NANOS_PER_SECOND = 1_000_000_000
NANOS_PER_MILLI = 1_000_000

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$"
)
_DURATION_PART = re.compile(r"(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)")
_DAYS = re.compile(r"(\d+(\.\d*)?|(\.\d+))d")
_UNIT_NANOS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": NANOS_PER_SECOND,
    "m": 60 * NANOS_PER_SECOND,
    "h": 3600 * NANOS_PER_SECOND,
}
_HHMMSS = re.compile(r"^([+-]?\d+):([+-]?\d+):([+-]?\d+)")


def parse_rfc3339(text: str) -> int:
    """Parses an RFC 3339 timestamp with optional fraction (Go's ``time.RFC3339Nano``).

    Returns:
        Nanoseconds since the Unix epoch.

    Raises:
        ValueError: Not such a timestamp.
    """
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(text)
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7) or "", match.group(8)
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
        raise ValueError(text)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(text)
    offset = 0
    if zone != "Z":
        zone_hours, zone_minutes = int(zone[1:3]), int(zone[4:6])
        if zone_hours > 23 or zone_minutes > 59:
            raise ValueError(text)
        offset = (zone_hours * 60 + zone_minutes) * 60 * (1 if zone[0] == "+" else -1)
    seconds = calendar.timegm((year, month, day, hour, minute, second)) - offset
    # Go keeps nine digits and drops the rest.
    nanos = int((fraction + "000000000")[:9])
    return seconds * NANOS_PER_SECOND + nanos


def format_rfc3339(nanos: int) -> str:
    """Formats epoch nanoseconds in UTC the way Go's ``time.RFC3339Nano`` does.

    Trailing zeros of the fraction are dropped, and the fraction entirely when it is zero.
    """
    seconds, fraction = divmod(nanos, NANOS_PER_SECOND)
    days, rest = divmod(seconds, 86400)
    year, month, day = _civil_from_days(days)
    hour, minute, second = rest // 3600, rest // 60 % 60, rest % 60
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    if fraction:
        text += "." + f"{fraction:09d}".rstrip("0")
    return text + "Z"


def format_millis(millis: int) -> str:
    """Formats epoch milliseconds like :func:`format_rfc3339`."""
    return format_rfc3339(millis * NANOS_PER_MILLI)


def parse_duration(text: str) -> int:
    """Parses an ``ExecutionDuration`` value the ways Temporal accepts it.

    Accepted: an integer count of nanoseconds, a Go duration (``300ms``, ``-1.5h``, ``2h45m``,
    plus ``d`` for 24 hours) or ``hh:mm:ss``.

    Returns:
        Nanoseconds.

    Raises:
        ValueError: None of these forms.
    """
    try:
        return int(text, 10)
    except ValueError:
        pass
    try:
        return _parse_go_duration(_DAYS.sub(lambda m: f"{24 * float(m.group(1)):f}h", text))
    except ValueError:
        pass
    return _parse_hhmmss(text)


def _parse_go_duration(text: str) -> int:
    sign = 1
    if text and text[0] in "+-":
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise ValueError(text)
    total, pos = 0.0, 0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None or match.group(1) in ("", "."):
            raise ValueError(text)
        total += float(match.group(1)) * _UNIT_NANOS[match.group(2)]
        pos = match.end()
    return sign * round(total)


def _parse_hhmmss(text: str) -> int:
    match = _HHMMSS.match(text)
    if match is None:
        raise ValueError(text)
    hours, minutes, seconds = (int(g) for g in match.groups())
    if hours < 0 or not 0 <= minutes <= 59 or not 0 <= seconds <= 59:
        raise ValueError(text)
    return ((hours * 60 + minutes) * 60 + seconds) * NANOS_PER_SECOND


def _civil_from_days(days: int) -> tuple[int, int, int]:
    # Howard Hinnant's days-to-civil algorithm: exact for any year, unlike datetime's 1..9999.
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day
