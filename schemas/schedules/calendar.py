"""Calendar specs: parsing Temporal's text ranges and cron strings, and matching times, pure.

The rules follow Temporal's ``service/worker/scheduler/calendar.go`` (server 1.32): fields are
comma-separated ranges ``start[-end][/step]`` or ``*``; month and day-of-week names may be
prefixes (``jan``, ``mo``); day-of-week 7 is Sunday; years range over 2000-2100 and ``*`` is an
empty list; cron strings have 5-7 fields, an optional ``CRON_TZ=``/``TZ=`` zone, a ``#`` comment,
the ``@daily``-style descriptors and ``@every <interval>[/<phase>]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from temporalio.api.schedule.v1 import CalendarSpec, IntervalSpec, Range, StructuredCalendarSpec

from schemas.visibility.timefmt import parse_duration

MIN_YEAR = 2000
MAX_YEAR = 2100
MAX_COMMENT_LEN = 200

_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class SpecError(ValueError):
    """A schedule spec Temporal rejects; the text is Temporal's message."""


@dataclass(frozen=True)
class _Mode:
    names: Sequence[str] = ()
    offset: int = 0
    min_len: int = 0
    year: bool = False
    dow: bool = False


_INT = _Mode()
_YEAR = _Mode(year=True)
_MONTH = _Mode(names=_MONTHS, offset=1, min_len=3)
_DOW = _Mode(names=_DAYS, min_len=2, dow=True)


def parse_calendar(cal: CalendarSpec) -> StructuredCalendarSpec:
    """The structured form of a text calendar spec (defaults: second, minute, hour 0; rest ``*``).

    Raises:
        SpecError: A field does not parse; all failing fields are named.
    """
    errors: list[str] = []

    def field(text: str, name: str, default: str, lo: int, hi: int, mode: _Mode) -> list[Range]:
        try:
            return _make_ranges(text, name, default, lo, hi, mode)
        except SpecError as err:
            errors.append(str(err))
            return []

    out = StructuredCalendarSpec(
        second=field(cal.second, "Second", "0", 0, 59, _INT),
        minute=field(cal.minute, "Minute", "0", 0, 59, _INT),
        hour=field(cal.hour, "Hour", "0", 0, 23, _INT),
        day_of_week=field(cal.day_of_week, "DayOfWeek", "*", 0, 7, _DOW),
        day_of_month=field(cal.day_of_month, "DayOfMonth", "*", 1, 31, _INT),
        month=field(cal.month, "Month", "*", 1, 12, _MONTH),
        year=field(cal.year, "Year", "*", MIN_YEAR, MAX_YEAR, _YEAR),
        comment=cal.comment,
    )
    if errors:
        raise SpecError(", ".join(errors))
    return out


def parse_cron(text: str) -> tuple[StructuredCalendarSpec | None, IntervalSpec | None, str]:
    """A cron string as (calendar, interval, time zone name); exactly one of the first two is set.

    Raises:
        SpecError: Temporal's message for a malformed cron string.
    """
    text = text.strip()
    zone = ""
    if text.startswith(("TZ=", "CRON_TZ=")):
        head, sep, rest = text.partition(" ")
        if not sep:
            raise SpecError("CronString has time zone but missing fields")
        zone, text = head.partition("=")[2], rest
    text, _, comment = text.partition("#")
    text, comment = text.strip(), comment.strip()
    if text.startswith("@every"):
        return None, _parse_every(text), ""
    fields = _DESCRIPTORS.get(text, text).split()
    cal = CalendarSpec(comment=comment)
    if len(fields) == 5:
        cal.minute, cal.hour, cal.day_of_month, cal.month, cal.day_of_week = fields
    elif len(fields) == 6:
        cal.minute, cal.hour, cal.day_of_month, cal.month, cal.day_of_week, cal.year = fields
    elif len(fields) == 7:
        (cal.second, cal.minute, cal.hour, cal.day_of_month, cal.month, cal.day_of_week,
         cal.year) = fields  # fmt: skip
    else:
        raise SpecError("CronString does not have 5-7 fields")
    return parse_calendar(cal), None, zone


def _parse_every(text: str) -> IntervalSpec:
    _, sep, rest = text.partition(" ")
    if not sep:
        raise SpecError("CronString does not have interval after @every")
    every, _, phase = rest.strip().partition("/")
    spec = IntervalSpec()
    try:
        spec.interval.FromNanoseconds(parse_duration(every))
        if phase:
            spec.phase.FromNanoseconds(parse_duration(phase))
    except ValueError as err:
        raise SpecError(str(err)) from None
    return spec


def _make_ranges(text: str, name: str, default: str, lo: int, hi: int, mode: _Mode) -> list[Range]:
    text = text.strip() or default
    if text == "*" and mode.year:
        return []  # every year is an empty list
    ranges: list[Range] = []
    for part in text.split(","):
        step, has_step = 1, False
        if part.count("/") > 1:
            raise SpecError(f"{name} has too many slashes")
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text:
                raise SpecError(f"{name} missing step value")
            step = _atoi(step_text, f"{name} has invalid Step")
            if step < 1:
                raise SpecError(f"{name} has invalid Step")
            has_step = True
        start, end = lo, hi
        if part != "*":
            if "-" in part:
                if part.count("-") > 1:
                    raise SpecError(f"{name} has too many dashes")
                first, last = part.split("-", 1)
                start = _value(first, lo, hi, mode, f"{name} Start is not in range [{lo}-{hi}]")
                end = _value(
                    last, start, hi, mode, f"{name} End is before Start or not in range [{lo}-{hi}]"
                )
            else:
                start = _value(part, lo, hi, mode, f"{name} is not in range [{lo}-{hi}]")
                if not has_step:
                    end = start
        if mode.dow and end == 7:
            # Sunday is 0 and 7; a range reaching 7 that would hit 7 gets a separate 0.
            if (7 - start) % step == 0 and (step > 1 or start > 1):
                ranges.append(Range(start=0))
                if start == 7:
                    continue
            end = 6
        ranges.append(
            Range(start=start, end=0 if end == start else end, step=0 if step == 1 else step)
        )
    return ranges


def _atoi(text: str, message: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise SpecError(message) from None


def _value(text: str, lo: int, hi: int, mode: _Mode, message: str) -> int:
    if mode.names and len(text) >= mode.min_len:
        lower = text.lower()
        for i, full in enumerate(mode.names):
            if full.startswith(lower):
                if not lo <= i + mode.offset <= hi:
                    raise SpecError(message)
                return i + mode.offset
    value = _atoi(text, message)
    if not lo <= value <= hi:
        raise SpecError(message)
    return value


def validate_structured(cal: StructuredCalendarSpec) -> None:
    """Temporal's range checks of a structured calendar.

    Raises:
        SpecError: "invalid calendar spec: ..." naming every bad field.
    """
    errors: list[str] = []
    for name, ranges, lo, hi in (
        ("Second", cal.second, 0, 59),
        ("Minute", cal.minute, 0, 59),
        ("Hour", cal.hour, 0, 23),
        ("DayOfMonth", cal.day_of_month, 1, 31),
        ("Month", cal.month, 1, 12),
        ("Year", cal.year, MIN_YEAR, MAX_YEAR),
        ("DayOfWeek", cal.day_of_week, 0, 6),
    ):
        for r in ranges:
            if not lo <= r.start <= hi:
                errors.append(f"{name} Start is not in range [{lo}-{hi}]")
            if r.end != 0 and (r.end < r.start or r.end > hi):
                errors.append(f"{name} End is before Start or not in range [{lo}-{hi}]")
            if r.step < 0:
                errors.append(f"{name} has invalid Step")
    if len(cal.comment) > MAX_COMMENT_LEN:
        errors.append("comment is too long")
    if errors:
        raise SpecError("invalid calendar spec: " + ", ".join(errors))


def _values(ranges: Sequence[Range]) -> set[int]:
    out: set[int] = set()
    for r in ranges:
        step = r.step or 1
        out.update(range(r.start, max(r.end, r.start) + 1, step))
    return out


def _matcher(ranges: Sequence[Range], every_if_empty: bool) -> Callable[[int], bool]:
    if every_if_empty and not ranges:
        return lambda _v: True
    return _values(ranges).__contains__


def _days_in_month(month: int, year: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 + ((0b1010110101010 >> month) & 1)


class CompiledCalendar:
    """A structured calendar in a time zone: ``matches`` and ``next``."""

    def __init__(self, cal: StructuredCalendarSpec, zone: tzinfo) -> None:
        self.zone = zone
        self.year = _matcher(cal.year, every_if_empty=True)
        self.month = _matcher(cal.month, every_if_empty=False)
        self.day_of_month = _matcher(cal.day_of_month, every_if_empty=False)
        self.day_of_week = _matcher(cal.day_of_week, every_if_empty=False)
        self.hour = _matcher(cal.hour, every_if_empty=False)
        self.minute = _matcher(cal.minute, every_if_empty=False)
        self.second = _matcher(cal.second, every_if_empty=False)

    def matches(self, ts: datetime) -> bool:
        """Whether the instant ``ts`` is on the calendar."""
        t = ts.astimezone(self.zone)
        return (
            self.year(t.year)
            and self.month(t.month)
            and self.day_of_month(t.day)
            and self.day_of_week(t.isoweekday() % 7)
            and self.hour(t.hour)
            and self.minute(t.minute)
            and self.second(t.second)
        )

    def next(self, ts: datetime) -> datetime | None:
        """The first instant on the calendar strictly after ``ts`` (whole seconds), or None.

        Walks the wall clock of the zone field by field, as Temporal does. A wall time that
        does not exist (a DST gap) moves on to the next hour; an hour that happens twice (the
        clock set back) is matched twice, its second pass one hour after the first.
        """
        t = ts.astimezone(self.zone)
        y, mo, d, h, m, s = t.year, t.month, t.day, t.hour, t.minute, t.second + 1
        # In the second pass of a repeated hour, wall times are one hour later in real time.
        # (Arithmetic in UTC: an aware datetime's own arithmetic is wall-clock arithmetic.)
        repeat = (ts.astimezone(UTC) - timedelta(hours=1)).astimezone(self.zone).hour == h
        while True:
            if s >= 60:
                m, s = m + 1, 0
            if m >= 60:
                h, m, repeat = self._next_hour(y, mo, d, h, repeat)
            if h >= 24:
                d, h = d + 1, 0
            if d > _days_in_month(mo, y):
                mo, d = mo + 1, 1
            if mo > 12:
                y, mo = y + 1, 1
            if y > MAX_YEAR:
                return None
            found = self._match_date(y, mo, d)
            if found is None:
                return None
            if found != (y, mo, d):
                (y, mo, d), h, m, s, repeat = found, 0, 0, 0, False
                continue
            if not self.hour(h):
                h, m, s, repeat = h + 1, 0, 0, False
                while h < 24 and not self.hour(h):
                    h += 1
                if h >= 24:
                    continue
            if not self.minute(m):
                m, s = m + 1, 0
                while m < 60 and not self.minute(m):
                    m += 1
                if m >= 60:
                    continue
            if not self.second(s):
                s += 1
                while s < 60 and not self.second(s):
                    s += 1
                if s >= 60:
                    continue
            instant = datetime(y, mo, d, h, m, s, tzinfo=self.zone).astimezone(UTC)
            if instant.astimezone(self.zone).hour != h:
                h, m, s = h + 1, 0, 0  # a wall time skipped by a DST change
                continue
            return instant + timedelta(hours=1) if repeat else instant

    def _next_hour(self, y: int, mo: int, d: int, h: int, repeat: bool) -> tuple[int, int, bool]:
        """The hour after ``h`` and minute 0: the same hour again when the clock goes back."""
        if h < 23:
            first = datetime(y, mo, d, h, tzinfo=self.zone).astimezone(UTC)
            second = datetime(y, mo, d, h + 1, tzinfo=self.zone).astimezone(UTC)
            if not repeat and second - first > timedelta(hours=1):
                return h, 0, True
        return h + 1, 0, False

    def _match_date(self, y: int, mo: int, d: int) -> tuple[int, int, int] | None:
        """The first date on or after ``y-mo-d`` whose year, month and days match."""
        while y <= MAX_YEAR:
            if not self.year(y):
                y, mo, d = y + 1, 1, 1
                continue
            if not self.month(mo):
                mo, d = mo + 1, 1
                if mo > 12:
                    y, mo = y + 1, 1
                continue
            if not self.day_of_month(d) or not self.day_of_week(_weekday(y, mo, d)):
                d += 1
                if d > _days_in_month(mo, y):
                    mo, d = mo + 1, 1
                    if mo > 12:
                        y, mo = y + 1, 1
                continue
            return y, mo, d
        return None


def _weekday(y: int, mo: int, d: int) -> int:
    return datetime(y, mo, d).isoweekday() % 7


def from_timestamp(seconds: int) -> datetime:
    """A UTC datetime of whole seconds since the epoch."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
