"""Reading one partition of a small topic from its start to the end it has now."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

from confluent_kafka import OFFSET_BEGINNING, Message, TopicPartition

from streams.connection import Consumer


def read_to_end(
    bootstrap: str, topic: str, partition: int = 0, timeout_s: float = 30.0
) -> Iterator[Message]:
    """Yields each committed record of the partition, up to its end at the time of the call.

    Reads ``read_committed`` under a group id of its own (it never commits). The end is the
    high watermark read first; the consumer's position, not the last record's offset, tells
    when it is reached, so transaction markers at the end count too.

    Raises:
        TimeoutError: The end was not reached within ``timeout_s``.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{topic}.reader.{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    try:
        tp = TopicPartition(topic, partition)
        low, high = consumer.get_watermark_offsets(tp, timeout=timeout_s)
        if low >= high:
            return
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        deadline = time.monotonic() + timeout_s
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic} [{partition}] not read within {timeout_s:.0f} s")
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                yield msg
            if consumer.position([tp])[0].offset >= high:
                return
    finally:
        consumer.close()
