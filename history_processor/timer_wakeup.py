"""When the next durable timer of the owned shards is due, so the loop wakes up just then.

The stream loop punctuates every `punctuate_interval_ms` anyway; between those rounds a timer
would wait up to a whole interval. `TimerWakeup` keeps, per partition, a lower bound of the
earliest timer in the index, and the loop punctuates as soon as that time has come.

Contract:
- The bound never exceeds the earliest timer in the partition's store: every timer the fold
  adds lowers it (`lower`), a deleted timer can only make the true next later, and after a
  scan it is set from a look at the index (`scanned`). A bound below the true next costs one
  round that finds nothing, never a late timer.
- A partition whose bound is unknown (newly owned) is due at once: its first round scans.
- It is an optimization only: the periodic rounds still fire every due timer, e.g. timers an
  aborted transaction brought back.
"""

from __future__ import annotations


class TimerWakeup:
    """The earliest-timer bounds of the partitions one processor owns (in memory)."""

    def __init__(self) -> None:
        self._next: dict[int, int | None] = {}

    def lower(self, partition: int, fire_at_ms: int) -> None:
        """A timer due at `fire_at_ms` was added to `partition`."""
        if partition not in self._next:
            return  # unknown already means "scan at once"
        current = self._next[partition]
        self._next[partition] = fire_at_ms if current is None else min(current, fire_at_ms)

    def scanned(self, partition: int, next_ms: int | None) -> None:
        """A round fired what was due; `next_ms` is the earliest timer left (None: none)."""
        self._next[partition] = next_ms

    def needs_look(self, partition: int, now_ms: int) -> bool:
        """Whether the bound was reached, so a round must look at the index again."""
        if partition not in self._next:
            return True
        bound = self._next[partition]
        return bound is not None and bound <= now_ms

    def next_ms(self, owned: set[int]) -> int | None:
        """When the loop must punctuate next: the smallest bound of `owned` (0 = now)."""
        bounds = [self._next.get(p, 0) for p in owned]
        known = [b for b in bounds if b is not None]
        return min(known) if known else None

    def forget(self, owned: set[int]) -> None:
        """Drops the bounds of partitions no longer owned."""
        for partition in [p for p in self._next if p not in owned]:
            del self._next[partition]
