"""The tasks-topic consumer thread of a matching process: reads tasks, follows the group, commits.

The matching state (``TaskQueues``) lives on the asyncio loop; this thread never touches it.
It hands records to the loop with ``call_soon_threadsafe`` and, for the things that must be
exact, waits for the loop:

- on assign, it reads each partition's end offset (tasks from there on are ``fresh``: no
  earlier owner saw them) and the progress its previous owner left (`progress.ProgressStore`)
  and gives both to the loop before the first record of the partition;
- on revoke, the loop forgets the partitions and returns their progress, which is saved and
  committed before the partitions are given up (so the next owner starts where we stopped);
- every ``commit_interval`` seconds, the loop's current progress is saved, then the lowest
  ack level of each partition is committed as its group offset (never the other way round),
  and now and then the records below it are deleted (the tasks topic keeps records forever
  otherwise: its retention is off, so no backlog is lost to it).

Offsets are committed only for partitions this member owns at that moment: a commit for a
partition another member owns would move that member's position.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass
from typing import Any, TypeVar

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from matching_processor.progress import ProgressStore
from matching_processor.queues import Progress
from streams import connection, offsets
from streams.supervision import OnDeath, log_death, start_thread

log = logging.getLogger(__name__)

_T = TypeVar("_T")

_LOOP_WAIT_SECONDS = 10.0
_TRUNCATE_EVERY_SECONDS = 30.0
_NEVER_FRESH = 2**63  # the end offset could not be read: no task counts as fresh
_END_OFFSET_PATIENCE_S = 30.0  # while the broker recovers; then no task counts as fresh


@dataclass(frozen=True)
class RawTask:
    """One record as read from the tasks topic."""

    partition: int
    offset: int
    value: bytes | None


class TaskConsumer:
    """Consumes the tasks topic on its own thread for one matching process.

    Args:
        settings: librdkafka consumer settings (group, client id, read_committed, no auto commit).
        topic: The tasks topic.
        loop: The loop that owns the matching state.
        deliver: Called on the loop with each batch of records, in offset order per partition.
        assign: Runs on the loop when partitions come: (end offset, previous owner's progress)
            of each.
        revoke: Runs on the loop when partitions go away; returns their progress.
        progress: Runs on the loop; returns the progress of every partition read so far.
        store: Where progress is saved and loaded.
        commit_interval: Seconds between periodic commits.
        truncate_every: Seconds between deletions of the records below the committed offsets.
    """

    def __init__(
        self,
        settings: dict[str, Any],
        topic: str,
        loop: asyncio.AbstractEventLoop,
        deliver: Callable[[list[RawTask]], None],
        assign: Callable[[dict[int, tuple[int, Progress | None]]], None],
        revoke: Callable[[set[int]], dict[int, Progress]],
        progress: Callable[[], dict[int, Progress]],
        store: ProgressStore,
        commit_interval: float = 1.0,
        truncate_every: float = _TRUNCATE_EVERY_SECONDS,
    ) -> None:
        self._settings = settings
        self._bootstrap = str(settings["bootstrap.servers"])
        self._topic = topic
        self._loop = loop
        self._deliver = deliver
        self._assign = assign
        self._revoke = revoke
        self._progress = progress
        self._store = store
        self._commit_interval = commit_interval
        self._truncate_every = truncate_every
        self._stop = threading.Event()
        self._assigned: set[int] = set()
        self._committed: dict[int, int] = {}
        self._saved: dict[int, Progress] = {}
        self._truncated: dict[int, int] = {}
        self._truncating: dict[TopicPartition, Future[Any]] = {}
        self._admin: connection.AdminClient | None = None
        self._last_truncate = time.monotonic()
        self._thread: threading.Thread | None = None
        self._consumer: Consumer | None = None
        self.assignment_changed = threading.Event()
        self.on_death: OnDeath = log_death  # the service sets it to stop and exit non-zero

    @property
    def assigned(self) -> set[int]:
        """Partitions of the tasks topic this member owns now."""
        return set(self._assigned)

    def start(self) -> None:
        """Subscribes and starts the consumer thread."""
        self._consumer = connection.Consumer(self._settings)
        self._consumer.subscribe(
            [self._topic],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        self._thread = start_thread(self._run, "matching-consumer", self.on_death)

    async def stop(self) -> None:
        """Commits the final watermarks, leaves the group and joins the thread."""
        self._stop.set()
        if self._thread is not None:
            # Joined off the loop: the thread's final revoke needs the loop to answer.
            await asyncio.to_thread(self._thread.join)
            self._thread = None

    def _run(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        last_commit = time.monotonic()
        try:
            while not self._stop.is_set():
                self._poll_once(consumer)
                if time.monotonic() - last_commit >= self._commit_interval:
                    last_commit = time.monotonic()
                    self._commit(self._in_loop(self._progress))
                    self._maybe_truncate()
            self._commit(self._in_loop(self._progress))
        finally:
            consumer.close()
            self._store.close()

    def _poll_once(self, consumer: Consumer) -> None:
        first = consumer.poll(0.1)
        if first is None:
            return
        # poll() waits for the first record; consume(n, 0) then drains what is already fetched.
        batch = [first, *consumer.consume(500, 0)]
        records: list[RawTask] = []
        for msg in batch:
            if msg.error():
                log.warning("tasks topic read error: %s", msg.error())
                continue
            partition, offset = msg.partition(), msg.offset()
            if partition is None or offset is None:
                continue
            records.append(RawTask(partition, offset, msg.value()))
        if records:
            self._loop.call_soon_threadsafe(self._deliver, records)

    def _commit(self, progress: dict[int, Progress] | None) -> None:
        if not progress or self._consumer is None:
            return
        changed = {
            part: snap
            for part, snap in progress.items()
            if part in self._assigned and self._saved.get(part) != snap
        }
        if changed and not self._store.save(changed):
            return
        self._saved.update(changed)
        # Every owned partition's progress is durable now; its offset may still lag (a
        # failed commit, or a partition whose restored progress did not change).
        offsets = [
            TopicPartition(self._topic, part, snap.commit_offset)
            for part, snap in sorted(progress.items())
            if part in self._assigned and self._committed.get(part) != snap.commit_offset
        ]
        if not offsets:
            return
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            log.warning("commit of %s failed: %s", offsets, exc)
            return
        for tp in offsets:
            self._committed[tp.partition] = tp.offset

    def _maybe_truncate(self) -> None:
        """Deletes the records below each owned partition's committed offset: every task
        there is finished, and the topic's retention is off, so nothing else removes them.

        Never waits: the request of one round is checked in the next, so a slow broker
        cannot hold up reading tasks.
        """
        if time.monotonic() - self._last_truncate < self._truncate_every:
            return
        self._last_truncate = time.monotonic()
        for tp, fut in list(self._truncating.items()):
            if not fut.done():
                return
            del self._truncating[tp]
            if fut.exception() is None:
                self._truncated[tp.partition] = tp.offset
            else:
                log.warning("deleting finished task records failed: %s", fut.exception())
                self._admin = None  # a new client next round (one was seen stuck after a stall)
        todo = [
            TopicPartition(self._topic, part, offset)
            for part, offset in sorted(self._committed.items())
            if part in self._assigned and offset > self._truncated.get(part, 0)
        ]
        if not todo:
            return
        if self._admin is None:
            self._admin = connection.AdminClient({"bootstrap.servers": self._bootstrap})
        try:
            futures = self._admin.delete_records(todo)
        except KafkaException as exc:
            log.warning("deleting finished task records failed: %s", exc)
            self._admin = None
            return
        wanted = {tp.partition: tp for tp in todo}
        for tp, fut in futures.items():
            self._truncating[wanted[tp.partition]] = fut

    def _in_loop(self, fn: Callable[..., _T], *args: Any) -> _T | None:
        if self._loop.is_closed():
            return None

        async def call() -> _T:
            return fn(*args)

        coro: Coroutine[Any, Any, _T] = call()
        try:
            return asyncio.run_coroutine_threadsafe(coro, self._loop).result(_LOOP_WAIT_SECONDS)
        except (FutureTimeoutError, RuntimeError) as exc:
            coro.close()
            log.warning("matching loop did not answer: %r", exc)
            return None

    # Group callbacks; librdkafka runs them on this thread, inside poll() or close().

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        parts = {tp.partition for tp in partitions}
        log.info("tasks partitions assigned: %s", sorted(parts))
        # Explicit start offsets, assigned last: librdkafka's own fetch of them can stall for
        # good after a coordinator move (see streams.offsets).
        start = offsets.committed(consumer, partitions, _LOOP_WAIT_SECONDS, OFFSET_BEGINNING)
        # Read before the first record of the partitions is fetched: whatever an earlier
        # owner can have handed out lies below the end offset of this moment.
        ends: dict[int, int] = {}
        patience_until = time.monotonic() + _END_OFFSET_PATIENCE_S  # for all of them together
        for part in parts:
            tp = TopicPartition(self._topic, part)
            try:
                _, ends[part] = offsets.patiently(
                    f"reading the end offset of tasks partition {part}",
                    functools.partial(
                        consumer.get_watermark_offsets,
                        tp,
                        timeout=_LOOP_WAIT_SECONDS,
                        cached=False,
                    ),
                    max(0.0, patience_until - time.monotonic()),
                )
            except KafkaException as exc:
                log.warning("end offset of tasks partition %d unknown: %s", part, exc)
                ends[part] = _NEVER_FRESH
        try:
            restored = self._store.load(parts)
        except KafkaException as exc:
            # Without it every record from the committed offset is offered again; history
            # refuses the ones already started, so this costs time, not correctness.
            log.error("progress of tasks partitions %s not read: %s", sorted(parts), exc)
            restored = dict.fromkeys(parts)
        self._saved.update({p: snap for p, snap in restored.items() if snap is not None})
        self._in_loop(self._assign, {p: (ends[p], restored[p]) for p in parts})
        consumer.assign(start)
        self._assigned |= parts
        self.assignment_changed.set()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        parts = {tp.partition for tp in partitions}
        log.info("tasks partitions revoked: %s", sorted(parts))
        self._commit(self._in_loop(self._revoke, parts))
        self._forget(parts)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        parts = {tp.partition for tp in partitions}
        log.warning("tasks partitions lost: %s", sorted(parts))
        # Lost means another member may own them already: drop our state, commit nothing.
        self._in_loop(self._revoke, parts)
        self._forget(parts)

    def _forget(self, parts: set[int]) -> None:
        self._assigned -= parts
        for part in parts:
            self._committed.pop(part, None)
            self._saved.pop(part, None)
            self._truncated.pop(part, None)
        self.assignment_changed.set()
