"""Run ids are UUIDv7, as Temporal's: version 7, RFC variant, time-ordered by millisecond."""

from __future__ import annotations

import uuid

from schemas.ids import uuid7


def test_version_variant_and_time() -> None:
    value = uuid7(1_764_000_000_123)
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert value.int >> 80 == 1_764_000_000_123


def test_later_milliseconds_sort_later_and_ids_differ() -> None:
    earlier, later = uuid7(1_000), uuid7(1_001)
    assert str(earlier) < str(later)
    assert len({uuid7(5) for _ in range(1000)}) == 1000
