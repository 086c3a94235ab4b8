"""Where a shard's timer scan starts, so that it skips the timers already fired.

The timer index is a RocksDB key range ordered by fire time. A fired or cancelled timer is
deleted, and RocksDB keeps its tombstone until a compaction: a scan from the start of the
range steps over every timer fired since, and under steady load it grows with the number of
workflows run. The floor of a partition is a fire time below which no timer remains, so the
scan can seek there instead.

Contract:
- The floor must never pass a timer that is still in the store. A round that fired timers
  advances it only once the transaction that deleted them is flushed; if that transaction is
  discarded (aborted), the timers are still there and the floor stays. A round that found
  nothing due advances it at once if its view holds no uncommitted change (the view is then
  the store); otherwise it waits for that view's flush too (an aborted deletion brings a timer
  back).
- Every timer the fold adds lowers the floor (a deadline may already be due).
- A partition without a floor (newly assigned, restored) is scanned from the start once.
"""

from __future__ import annotations

from streams import StateTransaction
from streams.state.base import TransactionStatus


class TimerFloor:
    """The scan floors of the partitions one processor owns (in memory, rebuilt by a scan)."""

    def __init__(self) -> None:
        self._floor: dict[int, int] = {}
        self._pending: dict[int, tuple[int, StateTransaction]] = {}

    def start(self, state: StateTransaction) -> int:
        """The fire time (ms) from which the scan in `state` must start; 0 = the beginning."""
        partition = state.partition
        pending = self._pending.get(partition)
        if pending is not None:
            floor, txn = pending
            if txn.status is TransactionStatus.FLUSHED:
                self._floor[partition] = floor
                del self._pending[partition]
            elif txn.status is TransactionStatus.DISCARDED:
                del self._pending[partition]
        return self._floor.get(partition, 0)

    def advance(self, state: StateTransaction, floor: int, fired: bool) -> None:
        """Records that no timer before `floor` remains in `state`'s view of the store.

        Call it before handling the round's timers (`fired`: there are some), so that timers
        their handling adds lower it (`lower`).
        """
        if not fired and not state.dirty:
            self._floor[state.partition] = floor
            self._pending.pop(state.partition, None)
        else:
            self._pending[state.partition] = (floor, state)

    def lower(self, partition: int, fire_at_ms: int) -> None:
        """A timer due at `fire_at_ms` was added to `partition`."""
        if partition in self._floor:
            self._floor[partition] = min(self._floor[partition], fire_at_ms)
        pending = self._pending.get(partition)
        if pending is not None and fire_at_ms < pending[0]:
            self._pending[partition] = (fire_at_ms, pending[1])

    def forget(self, owned: set[int]) -> None:
        """Drops the floors of partitions no longer owned (a later owner scans from 0)."""
        for table in (self._floor, self._pending):
            for partition in [p for p in table if p not in owned]:
                del table[partition]
