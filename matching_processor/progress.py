"""Durable per-queue progress of the tasks partitions, on the compacted tasks.acks topic.

Kafka keeps one committed offset per partition, but a partition holds many task queues, and
one that nobody polls must not make the next owner hand out everything behind it again
(Temporal keeps an ack level per task queue). So before matching commits a partition's
offset it writes the partition's `Progress` (read position and the ack level of every queue
with unfinished tasks) to partition p of ``<prefix>.tasks.acks``, whose only key is
p; the next owner reads the last record of that partition on assignment and skips every task
it calls finished.

Contract:
    - `save` returns only once the broker acknowledged every record (the consumer commits
      the group offsets after it, so a committed offset never runs ahead of its progress).
    - `load` returns the last progress written for each partition, None where none was.
    - A record that cannot be decoded counts as none (the partition is then read again from
      its committed offset and history refuses what was started already).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicPartition

from matching_processor.queues import Progress, QueueKey
from streams import offsets
from streams.connection import Consumer, Producer

log = logging.getLogger(__name__)

_VERSION = 1
_READ_TIMEOUT_SECONDS = 10.0
_READ_PATIENCE_S = 30.0  # while the broker recovers from a stall


def encode(progress: Progress) -> bytes:
    """The record value of one partition's progress."""
    acks = [
        [k.namespace, k.task_queue, k.task_kind, k.tq_partition, ack]
        for k, ack in sorted(progress.acks.items())
    ]
    return json.dumps(
        {"v": _VERSION, "next": progress.next_offset, "acks": acks}, separators=(",", ":")
    ).encode()


def decode(value: bytes) -> Progress:
    """Parses a record value written by `encode`.

    Raises:
        ValueError: Not a progress record of a known version.
    """
    try:
        data = json.loads(value)
        if data["v"] != _VERSION:
            raise ValueError(f"progress record version {data['v']} is unknown")
        acks = {
            QueueKey(str(ns), str(tq), str(kind), int(part)): int(ack)
            for ns, tq, kind, part, ack in data["acks"]
        }
        return Progress(int(data["next"]), acks)
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a progress record: {exc}") from exc


class ProgressStore:
    """Reads and writes the progress records; used by the consumer thread only.

    Args:
        bootstrap: Kafka bootstrap servers.
        topic: The progress topic (as many partitions as the tasks topic, compacted).
        extra_producer: Further librdkafka producer settings.
    """

    def __init__(self, bootstrap: str, topic: str, extra_producer: dict[str, Any]) -> None:
        self._topic = topic
        self._bootstrap = bootstrap
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 0,
                **extra_producer,
            }
        )

    def save(self, progress: dict[int, Progress], timeout: float = 10.0) -> bool:
        """Writes each partition's progress; True once all were acknowledged."""
        failed: list[Any] = []

        def on_delivery(err: Any, _msg: Any) -> None:
            if err is not None:
                failed.append(err)

        try:
            for part, snap in sorted(progress.items()):
                self._producer.produce(
                    self._topic,
                    value=encode(snap),
                    key=str(part).encode(),
                    partition=part,
                    on_delivery=on_delivery,
                )
        except (BufferError, KafkaException) as exc:
            log.warning("progress not written: %s", exc)
            return False
        if self._producer.flush(timeout) > 0 or failed:
            log.warning("progress not acknowledged: %s", failed or "timeout")
            return False
        return True

    def load(self, partitions: Iterable[int]) -> dict[int, Progress | None]:
        """The last progress written for each partition (None where there is none)."""
        parts = sorted(set(partitions))
        found: dict[int, Progress | None] = {p: None for p in parts}
        if not parts:
            return found
        consumer = Consumer(
            {
                "bootstrap.servers": self._bootstrap,
                "group.id": f"{self._topic}.loader",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
            }
        )
        try:
            wanted: list[TopicPartition] = []
            for part in parts:
                tp = TopicPartition(self._topic, part)
                _, high = offsets.patiently(
                    f"reading the end offset of progress partition {part}",
                    functools.partial(
                        consumer.get_watermark_offsets, tp, timeout=_READ_TIMEOUT_SECONDS
                    ),
                    _READ_PATIENCE_S,
                )
                if high > 0:
                    # One key per partition and no transactions: the last record is the newest.
                    wanted.append(TopicPartition(self._topic, part, high - 1))
            if not wanted:
                return found
            consumer.assign(wanted)
            self._read_last(consumer, {tp.partition for tp in wanted}, found)
        finally:
            consumer.close()
        return found

    def _read_last(
        self, consumer: Consumer, pending: set[int], found: dict[int, Progress | None]
    ) -> None:
        deadline = time.monotonic() + _READ_TIMEOUT_SECONDS
        while pending:
            if time.monotonic() > deadline:
                raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "progress not read"))
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            part = msg.partition()
            if part is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    pending.discard(part)
                    continue
                raise KafkaException(err)
            try:
                found[part] = decode(msg.value() or b"")
            except ValueError as exc:
                log.error("progress of tasks partition %s unreadable: %s", part, exc)
            pending.discard(part)

    def close(self) -> None:
        """Flushes and drops the producer."""
        self._producer.flush(5.0)
