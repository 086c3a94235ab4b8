"""Run ids as Temporal makes them: UUID version 7 (RFC 9562), time-ordered.

Python gains `uuid.uuid7` only in 3.14; the layout is small enough to write here: 48 bits of
Unix milliseconds, the version, 74 random bits and the variant.
"""

from __future__ import annotations

import os
import time
import uuid


def uuid7(now_ms: int | None = None) -> uuid.UUID:
    """A new version-7 UUID for `now_ms` (default: the current time)."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")  # 80 bits; 74 are used
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= (rand >> 68) << 64 & (0xFFF << 64)  # rand_a: 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b: 62 bits
    return uuid.UUID(int=value)
