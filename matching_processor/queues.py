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

import itertools
from collections import deque
from collections.abc import Callable, Iterable

from matching_processor.ack_levels import PartitionProgress, PartitionWatermark, Progress
from matching_processor.exceptions import InvalidStateError
from matching_processor.queue_items import (
    MatchingMetrics,
    Poller,
    PollerState,
    QueryTask,
    QueuedTask,
    TaskState,
)
from matching_processor.queue_key import QueueKey, TaskRecord
from matching_processor.revisions import TaskCopies

# The names below moved to their own modules; importers keep using `matching_processor.queues`.
__all__ = [
    "MatchingMetrics",
    "PartitionProgress",
    "PartitionWatermark",
    "Poller",
    "PollerState",
    "Progress",
    "QueryTask",
    "QueueKey",
    "QueuedTask",
    "TaskQueues",
    "TaskRecord",
    "TaskState",
]


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
        self._copies = TaskCopies()
        self.metrics = MatchingMetrics()

    # -- tasks ---------------------------------------------------------------------------------

    def offer(self, task: QueuedTask, now_ms: int) -> Poller | None:
        """Takes a task just read from Kafka.

        Returns:
            The poller it was handed to (a sync match), or None if it went to the backlog or was
            dropped as expired.
        """
        progress = self._progress.setdefault(task.kafka_partition, PartitionProgress())
        if self._copies.absorb(task):
            # A revision of a workflow task held already (`revisions`): nothing to dispatch.
            task.state = TaskState.DONE
            progress.skip(task.offset)
            self.metrics.revised += 1
            return None
        task._move(TaskState.NEW, TaskState.BACKLOG)
        task.seq = next(self._seq)
        task.progress = progress
        task.watermark = progress.add(task.key, task.offset)
        if task.is_expired(now_ms):
            self._drop_expired(task)
            return None
        self._copies.track(task)
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
            self._copies.finished(task)
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
        self._copies.track(task)
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
        self._copies.finished(task)
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
            self._copies.finished(task)
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
        self._copies.forget_partitions(parts)
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
        self._copies.finished(task)
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
