"""Reads spilled tasks again: the records of given tasks-topic offsets, on a thread of its own.

A queue partition keeps a bounded number of records in memory (`queues.TaskQueues`); the tasks
behind them are kept as offsets only. When the backlog drains, the dispatcher asks for the next
batch of offsets; this thread seeks to the first, reads forward past the last and hands the
records asked for back to the loop. It reads with its own consumer (no group: assign and seek),
so the group consumer's position never moves back. The records cannot be gone: matching deletes
task records only below its committed offsets, which never pass an unfinished task.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable

from confluent_kafka import KafkaError, TopicPartition

from matching_processor.consumer import RawTask
from streams.connection import Consumer
from streams.supervision import OnDeath, log_death, start_thread

log = logging.getLogger(__name__)

_READ_TIMEOUT_SECONDS = 30.0

Deliver = Callable[[list[RawTask], dict[int, list[int]]], None]
"""Called on the loop with the records found and the offsets that were not, per partition."""


class Reloader:
    """Re-reads task records by offset for one matching process.

    Args:
        bootstrap: Kafka bootstrap servers.
        topic: The tasks topic.
        loop: The loop that owns the queues.
        deliver: Runs on the loop with each batch read (see `Deliver`).
    """

    def __init__(
        self, bootstrap: str, topic: str, loop: asyncio.AbstractEventLoop, deliver: Deliver
    ) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._loop = loop
        self._deliver = deliver
        self._requests: queue.Queue[dict[int, list[int]]] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_death: OnDeath = log_death

    def start(self) -> None:
        """Starts the reader thread."""
        self._thread = start_thread(self._run, "matching-reloader", self.on_death)

    def request(self, wanted: dict[int, list[int]]) -> None:
        """Asks for the records at `wanted` offsets (sorted, per partition); never blocks."""
        if wanted:
            self._requests.put(wanted)

    async def stop(self) -> None:
        """Stops and joins the thread (requests not served yet are dropped)."""
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
            self._thread = None

    def _run(self) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": self._bootstrap,
                "group.id": f"{self._topic}.reloader",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
            }
        )
        try:
            while not self._stop.is_set():
                try:
                    wanted = self._requests.get(timeout=0.2)
                except queue.Empty:
                    continue
                for part, offsets in sorted(wanted.items()):
                    found, missed = self._read(consumer, part, offsets)
                    if not self._loop.is_closed():
                        self._loop.call_soon_threadsafe(
                            self._deliver, found, {part: missed} if missed else {}
                        )
        finally:
            consumer.close()

    def _read(
        self, consumer: Consumer, part: int, offsets: list[int]
    ) -> tuple[list[RawTask], list[int]]:
        pending = set(offsets)
        found: list[RawTask] = []
        consumer.assign([TopicPartition(self._topic, part, offsets[0])])
        deadline = time.monotonic() + _READ_TIMEOUT_SECONDS
        try:
            while pending and not self._stop.is_set() and time.monotonic() < deadline:
                msg = consumer.poll(0.2)
                if msg is None:
                    continue
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        break  # what is still pending is not there (yet)
                    log.warning("re-reading tasks partition %d: %s", part, err)
                    continue
                offset = msg.offset()
                if offset is None:
                    continue
                if offset in pending:
                    pending.discard(offset)
                    found.append(RawTask(part, offset, msg.value()))
                if offset >= offsets[-1]:
                    break
        finally:
            consumer.unassign()
        return found, sorted(pending)
