"""In-memory task-queue partitions: FIFO backlogs, waiting pollers and the commit low watermark.

This module is the pure core of matching (no I/O, no clock): the service feeds it the task
records it reads from the tasks topic and the polls it receives, and it decides who gets what.

Contract:
    - A task read from Kafka is ``offer``-ed exactly once; it then is either handed to the oldest
      waiting poller of its queue partition at once (a sync match), appended to that partition's
      FIFO backlog, or dropped because its schedule-to-start timeout has already passed. A
      backlog holds at most ``max_backlog`` records; later tasks are spilled (offset only) and
      come back through ``reload`` when it drains.
    - A matched task is ``DISPATCHING`` until the service reports the outcome: ``complete`` (the
      worker got it, or history called it stale) or ``requeue`` (a transient failure; the task goes
      back to the head of its backlog).
    - Progress is kept per queue within a Kafka partition (`Progress`, Temporal's per-queue ack
      levels): the partition's read position and, for each queue with unfinished tasks, the
      lowest unfinished offset. Persisted, it lets the next owner skip every task that was
      finished, so a queue nobody polls holds back only its own tasks. The low watermark
      (what is committed to the group) is the lowest ack level: where re-reading must start.
    - A query task (`QueryTask`) never comes from Kafka and never enters a backlog: it goes to a
      waiting poller at once, or waits in memory for the next poller of its queue partition
      (queries go before backlog tasks), until its caller withdraws it.
    - Each poll's arrival and departure is remembered per queue partition (`poller_seen_since`),
      which decides whether a sticky worker or any worker is there to answer a query.
"""

from __future__ import annotations

import enum
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from matching_processor.exceptions import InvalidStateError

TaskRecord = Mapping[str, Any]
"""A decoded ``schemas.TASK_RECORD`` dict."""


@dataclass(frozen=True, order=True)
class QueueKey:
    """One task-queue partition: the unit that has a backlog and waiting pollers.

    Attributes:
        namespace: Namespace name of the queue.
        task_queue: Task-queue name as the worker gives it (sticky queues have their own names).
        task_kind: ``"workflow"`` or ``"activity"``.
        tq_partition: Partition index of the task queue, 0..3 for normal queues, 0 for sticky ones.
    """

    namespace: str
    task_queue: str
    task_kind: str
    tq_partition: int

    @classmethod
    def of(cls, record: TaskRecord) -> QueueKey:
        """Returns the queue partition a task record belongs to."""
        return cls(
            record["namespace"],
            record["task_queue"],
            record["task_kind"],
            int(record["task_queue_partition"]),
        )


class TaskState(enum.Enum):
    """Life cycle of a task inside matching."""

    NEW = "new"
    BACKLOG = "backlog"
    DISPATCHING = "dispatching"
    DONE = "done"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SPILLED = "spilled"
    """Its queue's backlog was full: only its offset is kept, the record is read again later."""


class PollerState(enum.Enum):
    """Life cycle of one poll request inside matching."""

    NEW = "new"
    WAITING = "waiting"
    MATCHED = "matched"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REVOKED = "revoked"


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


@dataclass(eq=False)
class QueuedTask:
    """A task record plus where it came from in Kafka.

    Attributes:
        record: The decoded task record.
        kafka_partition: Partition of the tasks topic it was read from.
        offset: Its offset in that partition.
        state: Where it is in its life cycle.
    """

    record: TaskRecord
    kafka_partition: int
    offset: int
    state: TaskState = TaskState.NEW
    seq: int = -1
    watermark: PartitionWatermark | None = field(default=None, repr=False)
    progress: PartitionProgress | None = field(default=None, repr=False)
    fresh: bool = False
    """No earlier owner of its partition can have handed it out (read above the partition's
    end at assignment): only such a task may be started optimistically."""

    @property
    def key(self) -> QueueKey:
        """The queue partition of the task."""
        return QueueKey.of(self.record)

    def is_expired(self, now_ms: int) -> bool:
        """Whether its schedule-to-start timeout (0 = none) has passed at ``now_ms``."""
        timeout = int(self.record.get("schedule_to_start_timeout_ms") or 0)
        if timeout <= 0:
            return False
        return now_ms >= int(self.record["schedule_time_ms"]) + timeout

    def _order(self) -> tuple[int, int]:
        # Across the partitions of one queue, older schedule times go first; arrival breaks ties.
        return (int(self.record.get("schedule_time_ms") or 0), self.seq)

    def _move(self, expected: TaskState, new: TaskState) -> None:
        if self.state is not expected:
            raise InvalidStateError(f"task is {self.state.value}, expected {expected.value}")
        self.state = new


@dataclass(eq=False)
class QueryTask:
    """A query waiting for a poller; it exists only in this process's memory.

    Attributes:
        task_id: Id of the query task (goes into its token).
        key: The queue partition it is offered on.
        request: What the poller's response is built from (a `schemas.queries.QueryTaskRequest`).
        waiting: True while it waits in its queue partition for a poller.
    """

    task_id: str
    key: QueueKey
    request: Any
    waiting: bool = False


@dataclass(eq=False)
class Poller:
    """One poll request waiting on one or more queue partitions.

    Attributes:
        keys: The queue partitions it accepts a task from (all 4 of a normal queue, or one).
        deadline_ms: When it gives up, for ``expire_pollers``; None = only by ``cancel``.
        state: Where it is in its life cycle.
        task: The task (or query task) it was matched with, once ``MATCHED``.
    """

    keys: tuple[QueueKey, ...]
    deadline_ms: int | None = None
    state: PollerState = PollerState.NEW
    task: QueuedTask | QueryTask | None = None


@dataclass
class MatchingMetrics:
    """Counters of what matching did, for tests and monitoring."""

    sync_matches: int = 0
    backlog_dispatches: int = 0
    expired: int = 0
    requeued: int = 0
    stale: int = 0
    revoked_tasks: int = 0
    query_matches: int = 0
    finished_before: int = 0
    """Tasks read again that the partition's previous owner had finished: not dispatched."""
    spilled: int = 0
    """Tasks whose record was dropped from memory (their queue's backlog was full)."""
    reloaded: int = 0
    """Spilled tasks read again from Kafka into their backlog."""


class TaskQueues:
    """All queue partitions of one matching process, keyed by ``QueueKey``.

    Memory stays bounded however long a queue goes unpolled: a queue partition keeps at most
    `max_backlog` records in memory; the tasks after them are spilled (only their offsets are
    kept, in order) and read again from Kafka (`reload_requests`, `reload`) once the backlog
    has drained to half, so FIFO order holds.

    Args:
        partition_of: Maps a queue partition to the tasks-topic partition its tasks live on; used
            to find what a revoked Kafka partition takes away.
        max_backlog: Records kept in memory per queue partition.
    """

    def __init__(self, partition_of: Callable[[QueueKey], int], max_backlog: int = 10_000) -> None:
        if max_backlog < 2:
            raise ValueError(f"max_backlog must be at least 2, got {max_backlog}")
        self._partition_of = partition_of
        self._max_backlog = max_backlog
        self._spilled: dict[QueueKey, deque[int]] = {}
        self._reloading: dict[QueueKey, set[int]] = {}
        self._backlogs: dict[QueueKey, deque[QueuedTask]] = {}
        self._waiters: dict[QueueKey, deque[Poller]] = {}
        self._progress: dict[int, PartitionProgress] = {}
        self._queries: dict[QueueKey, deque[QueryTask]] = {}
        self._last_poll_ms: dict[QueueKey, int] = {}
        self._seq = itertools.count()
        self.metrics = MatchingMetrics()

    # -- tasks ---------------------------------------------------------------------------------

    def offer(self, task: QueuedTask, now_ms: int) -> Poller | None:
        """Takes a task just read from Kafka.

        Returns:
            The poller it was handed to (a sync match), or None if it went to the backlog or was
            dropped as expired.
        """
        progress = self._progress.setdefault(task.kafka_partition, PartitionProgress())
        task._move(TaskState.NEW, TaskState.BACKLOG)
        task.seq = next(self._seq)
        task.progress = progress
        task.watermark = progress.add(task.key, task.offset)
        if task.is_expired(now_ms):
            self._drop_expired(task)
            return None
        poller = self._match_waiting(task)
        if poller is not None:
            self.metrics.sync_matches += 1
            return poller
        key = task.key
        if (
            self._spilled.get(key)
            or self._reloading.get(key)
            or self.in_memory(key) >= self._max_backlog
        ):
            # Behind spilled tasks or over the bound: keep the offset only (FIFO holds: a
            # spilled task is always later than every task in memory).
            task.state = TaskState.SPILLED
            self._spilled.setdefault(key, deque()).append(task.offset)
            self.metrics.spilled += 1
            return None
        self._backlogs.setdefault(key, deque()).append(task)
        return None

    def reload_requests(self) -> dict[int, list[int]]:
        """Spilled offsets to read again now, per tasks-topic partition (each offset is asked
        for once; `reload` takes the records, `reload_missed` gives back what was not found).
        """
        wanted: dict[int, list[int]] = {}
        for key, spilled in list(self._spilled.items()):
            if self._reloading.get(key) or self.in_memory(key) > self._max_backlog // 2:
                continue
            batch = [spilled.popleft() for _ in range(min(len(spilled), self._max_backlog // 2))]
            if not spilled:
                del self._spilled[key]
            self._reloading[key] = set(batch)
            wanted.setdefault(self._partition_of(key), []).extend(batch)
        return {part: sorted(offsets) for part, offsets in wanted.items()}

    def reload(self, task: QueuedTask, now_ms: int) -> Poller | None:
        """Takes a spilled task read again from Kafka; like `offer`, but its offset is already
        counted. A record nobody asked for (e.g. its partition was revoked since) is ignored.
        """
        key = task.key
        waiting = self._reloading.get(key)
        progress = self._progress.get(task.kafka_partition)
        tracker = None if progress is None else progress.tracker(key)
        if not waiting or task.offset not in waiting or tracker is None:
            return None
        waiting.discard(task.offset)
        if not waiting:
            del self._reloading[key]
        task._move(TaskState.NEW, TaskState.BACKLOG)
        task.seq = next(self._seq)
        task.progress = progress
        task.watermark = tracker
        self.metrics.reloaded += 1
        if task.is_expired(now_ms):
            self._drop_expired(task)
            return None
        poller = self._match_waiting(task)
        if poller is None:
            self._backlogs.setdefault(key, deque()).append(task)
        return poller

    def reload_missed(self, kafka_partition: int, offsets: Iterable[int]) -> None:
        """Gives back requested offsets that were not read, to be asked for again first."""
        missed = set(offsets)
        for key, waiting in list(self._reloading.items()):
            if self._partition_of(key) != kafka_partition:
                continue
            back = sorted(waiting & missed)
            waiting.difference_update(back)
            if not waiting:
                del self._reloading[key]
            if back:
                self._spilled.setdefault(key, deque()).extendleft(reversed(back))

    def skip_finished(self, kafka_partition: int, key: QueueKey, offset: int) -> bool:
        """Skips (True) a record read again that the partition's previous owner finished
        (handed out or dropped); False if it must be offered."""
        progress = self._progress.setdefault(kafka_partition, PartitionProgress())
        if progress.restored is None or not progress.restored.is_finished(key, offset):
            return False
        progress.skip(offset)
        self.metrics.finished_before += 1
        return True

    def skip(self, kafka_partition: int, offset: int) -> None:
        """Records an offset that holds no task (e.g. an undecodable record) as finished."""
        self._progress.setdefault(kafka_partition, PartitionProgress()).skip(offset)

    def complete(self, task: QueuedTask, *, stale: bool = False) -> None:
        """Finishes a dispatched task: the worker has it, or history said it is stale."""
        task._move(TaskState.DISPATCHING, TaskState.DONE)
        if stale:
            self.metrics.stale += 1
        self._finish(task)

    def requeue(self, task: QueuedTask, now_ms: int) -> Poller | None:
        """Puts a dispatched task back after a transient failure, at the head of its backlog.

        Returns:
            A waiting poller it was handed to at once, or None.
        """
        task._move(TaskState.DISPATCHING, TaskState.BACKLOG)
        if not self._is_current(task):
            # Its partition was revoked while it was in flight: the new owner re-reads it.
            task.state = TaskState.REVOKED
            return None
        self.metrics.requeued += 1
        if task.is_expired(now_ms):
            self._drop_expired(task)
            return None
        poller = self._match_waiting(task)
        if poller is None:
            self._backlogs.setdefault(task.key, deque()).appendleft(task)
        return poller

    def expire_tasks(self, now_ms: int) -> int:
        """Drops every backlog task whose schedule-to-start timeout has passed.

        Returns:
            How many were dropped.
        """
        dropped = 0
        for key, backlog in list(self._backlogs.items()):
            keep: deque[QueuedTask] = deque()
            for task in backlog:
                if task.is_expired(now_ms):
                    self._drop_expired(task)
                    dropped += 1
                else:
                    keep.append(task)
            self._set_backlog(key, keep)
        return dropped

    # -- query tasks ---------------------------------------------------------------------------

    def offer_query(self, query: QueryTask, *, first: bool = False) -> Poller | None:
        """Hands a query task to the oldest poller waiting on its partition, or makes it wait.

        Args:
            query: A query task that is not waiting yet.
            first: Wait at the head of the line (a query whose poller went away).

        Returns:
            The poller it was handed to, or None if it now waits for one.
        """
        if query.waiting:
            raise InvalidStateError("query task is already waiting")
        waiters = self._waiters.get(query.key)
        if waiters:
            poller = waiters[0]
            self._unregister(poller)
            poller.state = PollerState.MATCHED
            poller.task = query
            self.metrics.query_matches += 1
            return poller
        line = self._queries.setdefault(query.key, deque())
        if first:
            line.appendleft(query)
        else:
            line.append(query)
        query.waiting = True
        return None

    def withdraw_query(self, query: QueryTask) -> bool:
        """Takes a waiting query task back; False if a poller has it already."""
        if not query.waiting:
            return False
        query.waiting = False
        line = self._queries.get(query.key)
        if line is not None:
            line.remove(query)
            if not line:
                del self._queries[query.key]
        return True

    def poller_seen_since(self, keys: Iterable[QueueKey], since_ms: int) -> bool:
        """Whether a poller waits on any of `keys` now, or one came or went at `since_ms` or
        later (Temporal's HasPollerAfter)."""
        return any(
            key in self._waiters or self._last_poll_ms.get(key, since_ms - 1) >= since_ms
            for key in keys
        )

    def forget_polls_before(self, before_ms: int) -> None:
        """Forgets when queues were last polled, for queues not polled since `before_ms` (a
        worker's sticky queue dies with the worker; its entry must not stay forever)."""
        for key in [k for k, ms in self._last_poll_ms.items() if ms < before_ms]:
            del self._last_poll_ms[key]

    def _take_query(self, keys: tuple[QueueKey, ...]) -> QueryTask | None:
        for key in keys:
            line = self._queries.get(key)
            if line:
                query = line.popleft()
                if not line:
                    del self._queries[key]
                query.waiting = False
                return query
        return None

    # -- pollers -------------------------------------------------------------------------------

    def poll(self, poller: Poller, now_ms: int) -> QueuedTask | QueryTask | None:
        """Gives a new poller a waiting query task, else the oldest backlog task of its
        partitions, or makes it wait.

        Returns:
            The query task, or the task (now ``DISPATCHING``), or None if the poller is now
            ``WAITING``.
        """
        if poller.state is not PollerState.NEW:
            raise InvalidStateError(f"poller is {poller.state.value}, expected new")
        self._saw_poll(poller.keys, now_ms)
        query = self._take_query(poller.keys)
        if query is not None:
            self.metrics.query_matches += 1
            poller.state = PollerState.MATCHED
            poller.task = query
            return query
        task = self._take_oldest(poller.keys, now_ms)
        if task is not None:
            self.metrics.backlog_dispatches += 1
            self._assign(poller, task)
            return task
        poller.state = PollerState.WAITING
        for key in poller.keys:
            self._waiters.setdefault(key, deque()).append(poller)
        return None

    def cancel(self, poller: Poller, now_ms: int | None = None) -> bool:
        """Withdraws a waiting poller; False if it was not waiting (e.g. already matched).

        Args:
            poller: The poller.
            now_ms: When it leaves; a poller that waited until now counts as seen now.
        """
        if poller.state is not PollerState.WAITING:
            return False
        poller.state = PollerState.CANCELLED
        self._unregister(poller)
        if now_ms is not None:
            self._saw_poll(poller.keys, now_ms)
        return True

    def expire_pollers(self, now_ms: int) -> list[Poller]:
        """Withdraws every waiting poller whose deadline has passed, and returns them."""
        expired = [
            p for p in self._all_waiting() if p.deadline_ms is not None and now_ms >= p.deadline_ms
        ]
        for poller in expired:
            poller.state = PollerState.EXPIRED
            self._unregister(poller)
        return expired

    # -- partitions ----------------------------------------------------------------------------

    def revoke(self, kafka_partitions: Iterable[int]) -> list[Poller]:
        """Forgets everything of the given tasks-topic partitions after the group took them away.

        Returns:
            The waiting pollers that waited on any of them; they are ``REVOKED`` and should get an
            empty response so the worker polls again (and reaches the new owner).
        """
        parts = set(kafka_partitions)
        for key in [k for k in self._backlogs if self._partition_of(k) in parts]:
            for task in self._backlogs.pop(key):
                task.state = TaskState.REVOKED
                self.metrics.revoked_tasks += 1
        for lines in (self._spilled, self._reloading):
            for key in [k for k in lines if self._partition_of(k) in parts]:
                self.metrics.revoked_tasks += len(lines.pop(key))
        for part in parts:
            self._progress.pop(part, None)
        revoked = [
            p for p in self._all_waiting() if any(self._partition_of(k) in parts for k in p.keys)
        ]
        for poller in revoked:
            poller.state = PollerState.REVOKED
            self._unregister(poller)
        return revoked

    def assign(self, kafka_partition: int, restored: Progress | None) -> None:
        """Starts tracking a partition just assigned, with what its previous owner finished."""
        self._progress[kafka_partition] = PartitionProgress(restored)

    def low_watermark(self, kafka_partition: int) -> int | None:
        """The offset to commit for a partition, or None if nothing was read from it yet."""
        progress = self._progress.get(kafka_partition)
        return None if progress is None else progress.low_watermark

    def watermarks(self) -> dict[int, int]:
        """The offsets to commit, per partition read so far."""
        found = {part: p.low_watermark for part, p in self._progress.items()}
        return {part: wm for part, wm in found.items() if wm is not None}

    def progress(self) -> dict[int, Progress]:
        """The per-queue progress of every partition read or restored so far, to persist."""
        found = {part: p.snapshot() for part, p in self._progress.items()}
        return {part: snap for part, snap in found.items() if snap is not None}

    def backlog_len(self, key: QueueKey) -> int:
        """Number of tasks waiting in one queue partition's backlog (spilled ones included)."""
        return (
            len(self._backlogs.get(key, ()))
            + len(self._spilled.get(key, ()))
            + len(self._reloading.get(key, ()))
        )

    def in_memory(self, key: QueueKey) -> int:
        """Number of a queue partition's backlog records held in memory."""
        return len(self._backlogs.get(key, ()))

    def backlog_counts(self) -> list[tuple[QueueKey, int, bool]]:
        """Each non-empty backlog: its key, how many tasks wait, whether it is a sticky queue."""
        return [
            (key, len(backlog), backlog[0].record.get("task_queue_kind") == "sticky")
            for key, backlog in list(self._backlogs.items())
            if backlog
        ]

    def oldest_schedule_ms(self, key: QueueKey) -> int | None:
        """Schedule time of the oldest task in one partition's backlog, None if it is empty."""
        backlog = self._backlogs.get(key)
        if not backlog:
            return None
        return min(int(task.record.get("schedule_time_ms") or 0) for task in backlog)

    def waiting_pollers(self, key: QueueKey) -> int:
        """Number of pollers waiting on one queue partition."""
        return len(self._waiters.get(key, ()))

    # -- internals -----------------------------------------------------------------------------

    def _saw_poll(self, keys: tuple[QueueKey, ...], now_ms: int) -> None:
        for key in keys:
            self._last_poll_ms[key] = max(now_ms, self._last_poll_ms.get(key, now_ms))

    def _match_waiting(self, task: QueuedTask) -> Poller | None:
        waiters = self._waiters.get(task.key)
        if not waiters:
            return None
        poller = waiters[0]
        self._unregister(poller)
        self._assign(poller, task)
        return poller

    def _assign(self, poller: Poller, task: QueuedTask) -> None:
        task._move(TaskState.BACKLOG, TaskState.DISPATCHING)
        poller.state = PollerState.MATCHED
        poller.task = task

    def _take_oldest(self, keys: tuple[QueueKey, ...], now_ms: int) -> QueuedTask | None:
        best: QueuedTask | None = None
        for key in keys:
            backlog = self._backlogs.get(key)
            while backlog and backlog[0].is_expired(now_ms):
                self._drop_expired(backlog.popleft())
            if backlog and (best is None or backlog[0]._order() < best._order()):
                best = backlog[0]
        if best is None:
            return None
        backlog = self._backlogs[best.key]
        backlog.popleft()
        self._set_backlog(best.key, backlog)
        return best

    def _drop_expired(self, task: QueuedTask) -> None:
        task.state = TaskState.EXPIRED
        self.metrics.expired += 1
        self._finish(task)

    def _finish(self, task: QueuedTask) -> None:
        if self._is_current(task) and task.watermark is not None and task.progress is not None:
            task.progress.finish(task.key, task.watermark, task.offset)

    def _is_current(self, task: QueuedTask) -> bool:
        # Only the tracker the task was counted in may move; a revoked-then-reassigned partition
        # has a new one that never saw this offset.
        return task.progress is not None and task.progress is self._progress.get(
            task.kafka_partition
        )

    def _set_backlog(self, key: QueueKey, backlog: deque[QueuedTask]) -> None:
        if backlog:
            self._backlogs[key] = backlog
        else:
            self._backlogs.pop(key, None)

    def _unregister(self, poller: Poller) -> None:
        for key in poller.keys:
            waiters = self._waiters.get(key)
            if waiters is None:
                continue
            if poller in waiters:
                waiters.remove(poller)
            if not waiters:
                del self._waiters[key]

    def _all_waiting(self) -> list[Poller]:
        seen: dict[int, Poller] = {}
        for waiters in self._waiters.values():
            for poller in waiters:
                seen.setdefault(id(poller), poller)
        return list(seen.values())
