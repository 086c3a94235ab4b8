"""When the next durable timer of the owned shards is due, so the loop wakes up just then.

The stream loop punctuates every `punctuate_interval_ms`; between those rounds a timer would
wait up to a whole interval, and a round that scanned the index every period would cost an
idle shard a RocksDB scan each time. `TimerWakeup` keeps, per partition, a lower bound of the
earliest timer in the index: the loop punctuates as soon as that time has come, and a round
looks at the index only then.

Contract:
- The bound never exceeds the earliest timer in the partition's store: every timer the fold
  adds lowers it (`lower`), a deleted timer can only make the true next later, and after a
  scan it is set from a look at the index (`scanned`). A bound below the true next costs one
  round that finds nothing, never a late timer.
- A partition whose bound is unknown (newly owned) is due at once: its first round scans.
- A round looks at the index only when the bound was reached (`needs_look`), so an idle
  shard costs no index scan per period. A bound set from a view with uncommitted changes
  (the timers the round fired and deleted) holds only if that view commits: once it is
  discarded (its transaction aborted, the timers are back) the bound is dropped and the
  partition is due at once.
"""

from __future__ import annotations

from streams import StateTransaction
from streams.state.base import TransactionStatus


class TimerWakeup:
    """The earliest-timer bounds of the partitions one processor owns (in memory)."""

    def __init__(self) -> None:
        self._next: dict[int, int | None] = {}
        # The uncommitted view a partition's bound was computed from, until it is flushed.
        self._views: dict[int, StateTransaction] = {}

    def lower(self, partition: int, fire_at_ms: int) -> None:
        """A timer due at `fire_at_ms` was added to `partition`."""
        if partition not in self._next:
            return  # unknown already means "scan at once"
        current = self._next[partition]
        self._next[partition] = fire_at_ms if current is None else min(current, fire_at_ms)

    def scanned(
        self, partition: int, next_ms: int | None, view: StateTransaction | None = None
    ) -> None:
        """A round fired what was due; `next_ms` is the earliest timer left (None: none).

        `view` is the state the round looked at and changed; if it holds uncommitted changes,
        the bound lasts only as long as they are not discarded.
        """
        self._next[partition] = next_ms
        if view is not None and view.dirty:
            self._views[partition] = view
        else:
            self._views.pop(partition, None)

    def _settle(self, partition: int) -> None:
        """Drops the bound of a partition whose view was discarded (its timers are back)."""
        view = self._views.get(partition)
        if view is None:
            return
        if view.status is TransactionStatus.DISCARDED:
            del self._views[partition]
            self._next.pop(partition, None)
        elif view.status is TransactionStatus.FLUSHED:
            del self._views[partition]

    def needs_look(self, partition: int, now_ms: int) -> bool:
        """Whether the bound was reached, so a round must look at the index again."""
        self._settle(partition)
        if partition not in self._next:
            return True
        bound = self._next[partition]
        return bound is not None and bound <= now_ms

    def next_ms(self, owned: set[int]) -> int | None:
        """When the loop must punctuate next: the smallest bound of `owned` (0 = now)."""
        for partition in list(self._views):
            self._settle(partition)
        bounds = [self._next.get(p, 0) for p in owned]
        known = [b for b in bounds if b is not None]
        return min(known) if known else None

    def forget(self, owned: set[int]) -> None:
        """Drops the bounds of partitions no longer owned."""
        for table in (self._next, self._views):
            for partition in [p for p in table if p not in owned]:
                del table[partition]
