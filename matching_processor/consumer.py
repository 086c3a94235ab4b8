"""The tasks-topic consumer thread of a matching process: reads tasks, follows the group, commits.

The matching state (``TaskQueues``) lives on the asyncio loop; this thread never touches it.
It hands records to the loop with ``call_soon_threadsafe`` and, for the two things that must be
exact, waits for the loop:

- on revoke, the loop forgets the partitions and returns their low watermarks, which are
  committed before the partitions are given up (so the next owner starts where we stopped);
- every ``commit_interval`` seconds, the loop's current low watermarks are committed.

Offsets are committed only for partitions this member owns at that moment: a commit for a
partition another member owns would move that member's position.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaException, TopicPartition

from streams import connection
from streams.supervision import OnDeath, log_death, start_thread

log = logging.getLogger(__name__)

_T = TypeVar("_T")

_LOOP_WAIT_SECONDS = 10.0


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
        revoke: Runs on the loop when partitions go away; returns their low watermarks.
        watermarks: Runs on the loop; returns the low watermark of every partition read so far.
        commit_interval: Seconds between periodic commits.
    """

    def __init__(
        self,
        settings: dict[str, Any],
        topic: str,
        loop: asyncio.AbstractEventLoop,
        deliver: Callable[[list[RawTask]], None],
        revoke: Callable[[set[int]], dict[int, int]],
        watermarks: Callable[[], dict[int, int]],
        commit_interval: float = 1.0,
    ) -> None:
        self._settings = settings
        self._topic = topic
        self._loop = loop
        self._deliver = deliver
        self._revoke = revoke
        self._watermarks = watermarks
        self._commit_interval = commit_interval
        self._stop = threading.Event()
        self._assigned: set[int] = set()
        self._committed: dict[int, int] = {}
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
                    self._commit(self._in_loop(self._watermarks))
            self._commit(self._in_loop(self._watermarks))
        finally:
            consumer.close()

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

    def _commit(self, watermarks: dict[int, int] | None) -> None:
        if not watermarks or self._consumer is None:
            return
        offsets = [
            TopicPartition(self._topic, part, offset)
            for part, offset in sorted(watermarks.items())
            if part in self._assigned and self._committed.get(part) != offset
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
        self.assignment_changed.set()
