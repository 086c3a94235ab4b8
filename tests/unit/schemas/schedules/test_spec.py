"""Schedule spec computation: Temporal's parsing, canonical form and next times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.schedule.v1 import CalendarSpec, IntervalSpec, Range, ScheduleSpec

from schemas.schedules.calendar import SpecError, parse_calendar, parse_cron
from schemas.schedules.spec import CompiledSpec, canonicalize


def _times(spec: ScheduleSpec, start: datetime, end: datetime) -> list[datetime]:
    return [t.nominal for t in CompiledSpec(canonicalize(spec)).times(start, end)]


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc, arg-type]


def test_interval_with_phase_counts_from_the_epoch() -> None:
    spec = ScheduleSpec(
        interval=[IntervalSpec(interval=Duration(seconds=3600), phase=Duration(seconds=300))]
    )
    got = _times(spec, _utc(2026, 1, 1), _utc(2026, 1, 1, 3))
    assert got == [_utc(2026, 1, 1, 0, 5), _utc(2026, 1, 1, 1, 5), _utc(2026, 1, 1, 2, 5)]


def test_cron_string_becomes_a_structured_calendar() -> None:
    canonical = canonicalize(ScheduleSpec(cron_string=["30 2 * * mon-fri # nightly"]))
    assert not canonical.cron_string
    [cal] = canonical.structured_calendar
    assert list(cal.minute) == [Range(start=30)]
    assert list(cal.hour) == [Range(start=2)]
    assert list(cal.day_of_week) == [Range(start=1, end=5)]
    assert cal.comment == "nightly"
    assert list(cal.year) == []  # every year


def test_cron_weekdays_skip_the_weekend() -> None:
    got = _times(
        ScheduleSpec(cron_string=["30 2 * * mon-fri"]), _utc(2026, 3, 6), _utc(2026, 3, 11)
    )
    # 2026-03-06 is a Friday.
    assert got == [_utc(2026, 3, 6, 2, 30), _utc(2026, 3, 9, 2, 30), _utc(2026, 3, 10, 2, 30)]


def test_cron_zone_and_daylight_saving() -> None:
    spec = ScheduleSpec(cron_string=["CRON_TZ=America/New_York 0 9 * * *"])
    assert canonicalize(spec).timezone_name == "America/New_York"
    got = _times(spec, _utc(2026, 3, 7), _utc(2026, 3, 9, 23))
    # New York moves from UTC-5 to UTC-4 on 2026-03-08.
    assert got == [_utc(2026, 3, 7, 14), _utc(2026, 3, 8, 13), _utc(2026, 3, 9, 13)]


def test_wall_time_inside_a_dst_gap_is_skipped() -> None:
    spec = ScheduleSpec(cron_string=["30 2 * * *"], timezone_name="America/New_York")
    got = _times(spec, _utc(2026, 3, 7), _utc(2026, 3, 10))
    assert got == [_utc(2026, 3, 7, 7, 30), _utc(2026, 3, 9, 6, 30)]


def test_every_descriptor_is_an_interval() -> None:
    canonical = canonicalize(ScheduleSpec(cron_string=["@every 90m/5m"]))
    assert not canonical.structured_calendar
    [iv] = canonical.interval
    assert (iv.interval.seconds, iv.phase.seconds) == (5400, 300)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@hourly", [_utc(2026, 1, 1, 1), _utc(2026, 1, 1, 2)]),
        ("0 0 29 2 *", [_utc(2028, 2, 29)]),
        ("*/20 0 1 1 * 2026", [_utc(2026, 1, 1, 0, 20), _utc(2026, 1, 1, 0, 40)]),
    ],
)
def test_cron_forms(text: str, expected: list[datetime]) -> None:
    got = [
        t.nominal
        for t in CompiledSpec(canonicalize(ScheduleSpec(cron_string=[text]))).times(
            _utc(2026, 1, 1), _utc(2029, 1, 1), limit=2
        )
    ]
    assert got == expected


def test_sunday_is_0_and_7() -> None:
    cal = parse_calendar(CalendarSpec(day_of_week="5-7"))
    assert list(cal.day_of_week) == [Range(start=0), Range(start=5, end=6)]
    cal = parse_calendar(CalendarSpec(day_of_week="sun"))
    assert list(cal.day_of_week) == [Range(start=0)]


def test_calendar_names_and_steps() -> None:
    cal = parse_calendar(CalendarSpec(month="jan,jul-sep", hour="*/6"))
    assert list(cal.month) == [Range(start=1), Range(start=7, end=9)]
    assert list(cal.hour) == [Range(start=0, end=23, step=6)]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ScheduleSpec(cron_string=["* * *"]), "CronString does not have 5-7 fields"),
        (ScheduleSpec(cron_string=["61 * * * *"]), "Minute is not in range [0-59]"),
        (ScheduleSpec(cron_string=["*/0 * * * *"]), "Minute has invalid Step"),
        (
            ScheduleSpec(interval=[IntervalSpec(interval=Duration(nanos=5))]),
            "interval is too small",
        ),
        (
            ScheduleSpec(
                interval=[IntervalSpec(interval=Duration(seconds=60), phase=Duration(seconds=60))]
            ),
            "phase cannot be greater than Interval",
        ),
        (ScheduleSpec(cron_string=["* * * * *"], timezone_name="Mars/Base"), "unknown time zone"),
        (
            ScheduleSpec(cron_string=["TZ=UTC * * * * *", "TZ=Europe/Paris * * * * *"]),
            "conflicting timezone names",
        ),
    ],
)
def test_bad_specs_get_temporals_messages(spec: ScheduleSpec, message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        canonicalize(spec)


def test_start_end_and_exclusions() -> None:
    spec = ScheduleSpec(
        interval=[IntervalSpec(interval=Duration(seconds=3600))],
        exclude_calendar=[CalendarSpec(hour="2", minute="*", second="*")],
    )
    spec.start_time.FromDatetime(datetime(2026, 1, 1, 1))
    spec.end_time.FromDatetime(datetime(2026, 1, 1, 4))
    got = _times(spec, _utc(2025, 12, 31), _utc(2026, 1, 2))
    assert got == [_utc(2026, 1, 1, 1), _utc(2026, 1, 1, 3), _utc(2026, 1, 1, 4)]


def test_jitter_is_deterministic_and_bounded() -> None:
    spec = ScheduleSpec(interval=[IntervalSpec(interval=Duration(seconds=60))])
    spec.jitter.FromTimedelta(timedelta(minutes=5))  # more than the interval: cut to it
    compiled = CompiledSpec(canonicalize(spec))
    times = compiled.times(_utc(2026, 1, 1), _utc(2026, 1, 1, 1), seed="s")
    delays = [t.actual - t.nominal for t in times]
    assert all(timedelta(0) <= d < timedelta(seconds=60) for d in delays)
    assert len(set(delays)) > 1
    again = compiled.times(_utc(2026, 1, 1), _utc(2026, 1, 1, 1), seed="s")
    assert again == times


def test_parse_cron_returns_zone() -> None:
    cal, interval, zone = parse_cron("TZ=Asia/Tokyo 0 12 * * *")
    assert cal is not None and interval is None and zone == "Asia/Tokyo"
