"""Schedule specs: canonical form and the next action times, as Temporal's ``spec.go`` computes.

- Canonical form: text calendars and cron strings become structured calendars (``@every``
  becomes an interval), a cron string's zone becomes the spec's zone; then every calendar and
  interval is range-checked. The frontend stores the canonical form; Describe returns it.
- Next time after ``t``: the earliest instant after ``t`` on any calendar or interval
  (``interval * k + phase`` since the epoch), not before ``start_time`` and not after
  ``end_time``, skipping instants an exclusion calendar matches; jitter then adds a
  deterministic delay in ``[0, min(jitter, gap to the following time))`` derived from the
  nominal time and a seed, so a replay computes the same times.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from temporalio.api.schedule.v1 import ScheduleSpec

from schemas.schedules.calendar import (
    MAX_YEAR,
    CompiledCalendar,
    SpecError,
    parse_calendar,
    parse_cron,
    validate_structured,
)

MAX_ITERATIONS = 1000
"""Excluded times skipped before giving up on finding the next time."""


def canonicalize(spec: ScheduleSpec) -> ScheduleSpec:
    """A copy of ``spec`` in canonical form.

    Raises:
        SpecError: Temporal's message for the first invalid part.
    """
    out = ScheduleSpec()
    out.CopyFrom(spec)
    for cal in spec.calendar:
        out.structured_calendar.append(parse_calendar(cal))
    del out.calendar[:]
    for cal in spec.exclude_calendar:
        out.exclude_structured_calendar.append(parse_calendar(cal))
    del out.exclude_calendar[:]
    zones: set[str] = set()
    for text in spec.cron_string:
        structured, interval, zone = parse_cron(text)
        zones.add(zone)
        if structured is not None:
            out.structured_calendar.append(structured)
        if interval is not None:
            out.interval.append(interval)
    del out.cron_string[:]
    if len(zones) > 1:
        raise SpecError("conflicting timezone names")
    zone = zones.pop() if zones else ""
    if zone:
        if (out.timezone_name and out.timezone_name != zone) or out.timezone_data:
            raise SpecError("conflicting timezone names")
        out.timezone_name = zone
    for structured in out.structured_calendar:
        validate_structured(structured)
    for interval in out.interval:
        every, phase = interval.interval.ToTimedelta(), interval.phase.ToTimedelta()
        if every < timedelta(seconds=1):
            raise SpecError("interval is too small")
        if phase < timedelta(0):
            raise SpecError("phase is negative")
        if phase >= every:
            raise SpecError("phase cannot be greater than Interval")
    load_zone(out.timezone_name)
    return out


def load_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` ("" and "UTC" are UTC; "Local" is UTC on a server).

    Raises:
        SpecError: Go's "unknown time zone" message.
    """
    if name in ("", "UTC", "Local"):
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SpecError(f"unknown time zone {name}") from None


@dataclass(frozen=True)
class NextTime:
    """One action time: ``nominal`` on the spec, ``actual`` after jitter."""

    nominal: datetime
    actual: datetime


class CompiledSpec:
    """A canonical spec, ready to compute times."""

    def __init__(self, spec: ScheduleSpec) -> None:
        self.spec = spec
        zone = load_zone(spec.timezone_name)
        self._calendars = [CompiledCalendar(c, zone) for c in spec.structured_calendar]
        self._excludes = [CompiledCalendar(c, zone) for c in spec.exclude_structured_calendar]
        self._intervals = [
            (
                max(int(i.interval.ToTimedelta().total_seconds()), 1),
                max(int(i.phase.ToTimedelta().total_seconds()), 0),
            )
            for i in spec.interval
        ]
        self._start = spec.start_time.ToDatetime(UTC) if spec.HasField("start_time") else None
        self._end = spec.end_time.ToDatetime(UTC) if spec.HasField("end_time") else None
        self._jitter = spec.jitter.ToTimedelta() if spec.HasField("jitter") else timedelta(0)

    def next_time(self, after: datetime, seed: str = "") -> NextTime | None:
        """The first action strictly after ``after``, or None when there is none."""
        if self._start is not None:
            after = max(after, self._start - timedelta(seconds=1))
        nominal: datetime | None = None
        for _ in range(MAX_ITERATIONS):
            nominal = self._raw_next(after)
            if nominal is None or (self._end is not None and nominal > self._end):
                return None
            if nominal.year > MAX_YEAR:
                return None
            if not any(ex.matches(nominal) for ex in self._excludes):
                break
            after = nominal
        else:
            return None
        assert nominal is not None
        max_jitter = self._jitter
        following = self._raw_next(nominal)
        if following is not None:
            max_jitter = min(max_jitter, following - nominal)
        return NextTime(nominal, nominal + _jitter(seed, nominal, max_jitter))

    def times(
        self, start: datetime, end: datetime, seed: str = "", limit: int = 1000
    ) -> list[NextTime]:
        """Actions in ``(start, end]`` (at most ``limit``)."""
        out: list[NextTime] = []
        t = start
        while len(out) < limit:
            nxt = self.next_time(t, seed)
            if nxt is None or nxt.nominal > end:
                break
            out.append(nxt)
            t = nxt.nominal
        return out

    def _raw_next(self, after: datetime) -> datetime | None:
        best: int | None = None
        for cal in self._calendars:
            found = cal.next(after)
            if found is not None:
                ts = int(found.timestamp())
                best = ts if best is None else min(best, ts)
        ts_after = int(after.timestamp() // 1)
        for every, phase in self._intervals:
            ts = ((ts_after - phase) // every + 1) * every + phase
            best = ts if best is None else min(best, ts)
        if best is None:
            return None
        return datetime.fromtimestamp(best, UTC)


def _jitter(seed: str, nominal: datetime, max_jitter: timedelta) -> timedelta:
    ms = int(max_jitter.total_seconds() * 1000)
    if ms <= 0:
        return timedelta(0)
    digest = hashlib.sha256(f"{nominal.isoformat()}|{seed}".encode()).digest()
    fingerprint = int.from_bytes(digest[:4], "big")
    return timedelta(milliseconds=(fingerprint * min(ms, 2**32 - 1)) >> 32)
