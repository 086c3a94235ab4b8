"""RFC 3339 nanosecond timestamps and Temporal's duration forms."""

from __future__ import annotations

import pytest

from schemas.visibility.timefmt import format_millis, format_rfc3339, parse_duration, parse_rfc3339


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T00:00:00.000000001Z", 1),
        ("2021-01-01T00:00:00.123+02:00", 1_609_452_000_123_000_000),
        ("2021-01-01T00:00:00.1234567891Z", 1_609_459_200_123_456_789),
        ("1969-12-31T23:59:59.5Z", -500_000_000),
        ("2024-02-29T12:00:00-00:30", (1_709_208_000 + 1800) * 10**9),
    ],
)
def test_parse_rfc3339(text: str, nanos: int) -> None:
    assert parse_rfc3339(text) == nanos


@pytest.mark.parametrize(
    "text",
    [
        "2021-01-01",
        "2021-01-01 00:00:00Z",
        "2021-02-30T00:00:00Z",
        "2021-01-01T24:00:00Z",
        "2021-01-01T00:00:00",
        "2021-01-01T00:00:00+2:00",
        "a",
    ],
)
def test_parse_rfc3339_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339(text)


def test_format_like_go_rfc3339nano() -> None:
    assert format_rfc3339(0) == "1970-01-01T00:00:00Z"
    assert format_rfc3339(1_500_000_000) == "1970-01-01T00:00:01.5Z"
    assert format_rfc3339(-1) == "1969-12-31T23:59:59.999999999Z"
    assert format_millis(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
    assert format_rfc3339(253402300799 * 10**9) == "9999-12-31T23:59:59Z"


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("42", 42),
        ("300ms", 300_000_000),
        ("-1.5h", -5400 * 10**9),
        ("2h45m", 9900 * 10**9),
        ("1d", 86400 * 10**9),
        ("1.5d", 129600 * 10**9),
        ("1us", 1000),
        ("01:02:03", 3723 * 10**9),
        ("0", 0),
    ],
)
def test_parse_duration(text: str, nanos: int) -> None:
    assert parse_duration(text) == nanos


@pytest.mark.parametrize("text", ["bogus", "1x", "", "01:60:00", "h", "1:2"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
