"""Per-queue ack levels of a tasks-topic partition: what matching finished, and what to commit.

Kafka keeps one offset per partition, but a partition holds many queues; these track, per
queue, the lowest offset not yet dispatched or dropped (Temporal's per-queue ack levels), so a
queue nobody polls holds back only itself. Pure: `matching_processor.progress` persists them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from matching_processor.exceptions import InvalidStateError
from matching_processor.queue_key import QueueKey


class PartitionWatermark:
    """Offsets of one queue's records in one Kafka partition that were read but are not yet
    dispatched or dropped."""

    def __init__(self) -> None:
        self._pending: deque[int] = deque()
        self._finished: set[int] = set()
        self._next: int | None = None

    def add(self, offset: int) -> None:
        """Records that ``offset`` was read; offsets must arrive in increasing order."""
        if self._next is not None and offset < self._next:
            raise InvalidStateError(f"offset {offset} arrived after {self._next - 1}")
        self._pending.append(offset)
        self._next = offset + 1

    def finish(self, offset: int) -> None:
        """Records that the task at ``offset`` needs no more dispatching."""
        self._finished.add(offset)
        while self._pending and self._pending[0] in self._finished:
            self._finished.discard(self._pending.popleft())

    @property
    def is_idle(self) -> bool:
        """Whether every offset added is finished."""
        return not self._pending

    @property
    def low_watermark(self) -> int | None:
        """The offset to commit: every offset below it is finished; None before any record."""
        if self._pending:
            return self._pending[0]
        return self._next


@dataclass(frozen=True)
class Progress:
    """What is finished of one tasks-topic partition, per queue (Temporal's per-queue ack levels).

    Every record below `next_offset` is finished, except that a queue in `acks` may still
    have unfinished records at or above its ack level. A queue nobody polls therefore holds
    back only itself: other queues' records are never handed out again after a restart.

    Attributes:
        next_offset: Where reading continues: every record below it was read.
        acks: Ack level (lowest unfinished offset) of each queue with unfinished records.
    """

    next_offset: int
    acks: Mapping[QueueKey, int] = field(default_factory=dict)

    @property
    def commit_offset(self) -> int:
        """Where a new owner must start reading: the lowest ack level, or `next_offset`."""
        return min([self.next_offset, *self.acks.values()])

    def is_finished(self, key: QueueKey, offset: int) -> bool:
        """Whether the record of `key` at `offset` needs no dispatching any more."""
        if offset >= self.next_offset:
            return False
        ack = self.acks.get(key)
        return ack is None or offset < ack


class PartitionProgress:
    """The live progress of one tasks-topic partition: a `PartitionWatermark` per queue.

    Args:
        restored: The progress the previous owner left (see `Progress`); records it calls
            finished are not dispatched again.
    """

    def __init__(self, restored: Progress | None = None) -> None:
        self.restored = restored
        self._queues: dict[QueueKey, PartitionWatermark] = {}
        self._next: int | None = None

    def add(self, key: QueueKey, offset: int) -> PartitionWatermark:
        """Records that `offset` (of queue `key`) was read; returns the queue's tracker."""
        self._advance(offset)
        watermark = self._queues.setdefault(key, PartitionWatermark())
        watermark.add(offset)
        return watermark

    def skip(self, offset: int) -> None:
        """Records an offset that holds nothing to dispatch."""
        self._advance(offset)

    def tracker(self, key: QueueKey) -> PartitionWatermark | None:
        """The tracker of a queue with unfinished tasks, None if it has none."""
        return self._queues.get(key)

    def _advance(self, offset: int) -> None:
        if self._next is not None and offset < self._next:
            raise InvalidStateError(f"offset {offset} arrived after {self._next - 1}")
        self._next = offset + 1

    def finish(self, key: QueueKey, watermark: PartitionWatermark, offset: int) -> None:
        """Records that the task at `offset` of queue `key` needs no more dispatching."""
        watermark.finish(offset)
        if watermark.is_idle and self._queues.get(key) is watermark:
            # Only queues with unfinished tasks cost memory and appear in the progress.
            del self._queues[key]

    def snapshot(self) -> Progress | None:
        """The progress to persist, None before anything was read or restored."""
        if self._next is None:
            return self.restored
        acks = {
            key: wm.low_watermark
            for key, wm in self._queues.items()
            if not wm.is_idle and wm.low_watermark is not None
        }
        restored = self.restored
        if restored is None or self._next >= restored.next_offset:
            return Progress(self._next, acks)
        # Still reading what the previous owner had read: what it knew beyond our position
        # holds on (its lagging queues stay owed from their ack levels, everything else
        # below its position stays finished), so a restart now loses none of it.
        for key, ack in restored.acks.items():
            if ack >= self._next:
                acks[key] = min(ack, acks.get(key, ack))
        return Progress(restored.next_offset, acks)

    @property
    def low_watermark(self) -> int | None:
        """The offset to commit to the group: the snapshot's commit offset."""
        snap = self.snapshot()
        return None if snap is None else snap.commit_offset
