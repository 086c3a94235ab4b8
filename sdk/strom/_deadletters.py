"""Dead letters of a Strom cluster: list them, and put them back on their source topic.

Every service writes the inputs it could not process to ``<prefix>.deadletter`` with the
reason (``schemas.deadletter``). Once the cause is fixed (an upgrade that understands a newer
record, a bug fixed), `replay` produces each chosen input again, byte for byte, to the
partition it came from; the service then processes it like any other input. Dead letters
without a source (a poison timer) are listed but never replayed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    KafkaError,
    KafkaException,
    TopicPartition,
)

import schemas
from schemas.records import DeadLetterRecord
from schemas.topics import Topology
from streams.connection import Consumer, Producer
from strom._kafka_tools import Cluster, KafkaToolError, client_config, tool_group_id


@dataclass(frozen=True)
class DeadLetter:
    """One dead letter and where it sits on the dead-letter topic."""

    offset: int
    record: DeadLetterRecord

    @property
    def replayable(self) -> bool:
        """Whether it came from a topic it can be put back on."""
        return bool(self.record["source_topic"])

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (the input's bytes as their size only)."""
        record = self.record
        return {
            "offset": self.offset,
            "service": record["service"],
            "source": {
                "topic": record["source_topic"],
                "partition": record["source_partition"],
                "offset": record["source_offset"],
            },
            "time_ms": record["time_ms"],
            "error": record["error"],
            "value_bytes": len(record["value"] or b""),
        }


def read(cluster: Cluster) -> list[DeadLetter]:
    """Every dead letter of the cluster, oldest first (committed records only)."""
    topic = Topology(cluster.prefix).deadletter
    consumer = Consumer(
        client_config(
            cluster.bootstrap,
            **{
                "group.id": tool_group_id("dlq"),
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            },
        )
    )
    try:
        return list(_scan(consumer, topic, cluster.timeout))
    except KafkaException as exc:
        raise KafkaToolError(f"cannot read {topic}: {exc}") from exc
    finally:
        consumer.close()


def _scan(consumer: Consumer, topic: str, timeout: float) -> Iterator[DeadLetter]:
    tp = TopicPartition(topic, 0)
    low, high = consumer.get_watermark_offsets(tp, timeout=timeout, cached=False)
    if high <= low:
        return
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    deadline = time.monotonic() + timeout
    while True:
        msg = consumer.poll(1.0)
        if msg is None:
            if time.monotonic() > deadline:
                raise KafkaToolError(f"reading {topic} made no progress for {timeout:g} s")
            continue
        deadline = time.monotonic() + timeout
        error = msg.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                return
            raise KafkaToolError(f"cannot read {topic}: {error.str()}")
        value, offset = msg.value(), msg.offset() or 0
        if value is not None:
            try:
                record = schemas.decode(value, schemas.DEAD_LETTER)
            except schemas.SchemaError as exc:
                raise KafkaToolError(f"{topic} @{offset} is not a dead letter: {exc}") from exc
            yield DeadLetter(offset, record)  # type: ignore[arg-type]
        if offset + 1 >= high:
            return


def replay(cluster: Cluster, letters: Sequence[DeadLetter]) -> int:
    """Produces each letter's input again to its source partition; returns how many.

    Raises:
        KafkaToolError: A letter has no source, or Kafka did not take every record.
    """
    for letter in letters:
        if not letter.replayable:
            raise KafkaToolError(f"dead letter @{letter.offset} has no source topic to go back to")
    producer = Producer(client_config(cluster.bootstrap, **{"enable.idempotence": True}))
    failures: list[str] = []

    def delivered(err: KafkaError | None, _msg: Any) -> None:
        if err is not None:
            failures.append(err.str())

    for letter in letters:
        record = letter.record
        producer.produce(
            record["source_topic"],
            record["value"],
            record["key"],
            partition=record["source_partition"],
            on_delivery=delivered,
        )
    left = producer.flush(cluster.timeout)
    if left or failures:
        reason = failures[0] if failures else f"{left} not acknowledged"
        raise KafkaToolError(f"replay incomplete: {reason}")
    return len(letters)


def format_letters(letters: Sequence[DeadLetter]) -> str:
    """One line per dead letter: offset, time, service, source, size, first line of the error."""
    if not letters:
        return "no dead letters"
    lines = []
    for letter in letters:
        record = letter.record
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record["time_ms"] / 1000))
        source = (
            f"{record['source_topic']}[{record['source_partition']}]@{record['source_offset']}"
            if letter.replayable
            else "(no source: not replayable)"
        )
        error = record["error"].splitlines()[0] if record["error"] else ""
        size = len(record["value"] or b"")
        lines.append(f"@{letter.offset}  {when}  {record['service']}  {source}  {size} B  {error}")
    return "\n".join(lines)
