"""The Kafka calls of a transaction that need care: resumed while retriable, produced while
librdkafka's queue is full, and the changelog offsets their delivery reports give
(`streams.commit` runs the protocol they are steps of)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException, Message

from streams import metrics
from streams.connection import Producer
from streams.exceptions import TransactionStalledError
from streams.state.base import NO_OFFSET

log = logging.getLogger(__name__)

TIMEOUT_S = 30.0
RESUME_LIMIT = 4  # attempts of a timed-out transactional call before the instance stops


def resume_while_retriable(call: Callable[[], None], what: str) -> None:
    """Runs a transactional call, resuming it for as long as librdkafka says it may be retried.

    A commit, abort or offset send that times out (a broker stalled longer than TIMEOUT_S) goes
    on in librdkafka's background, and the broker may still complete it. Until the same call
    is made again and returns, every other transactional call on that producer fails with a
    conflict, and an abort in its place would not stop a commit the broker then completes, so
    the inputs processed again would be decided twice. Hence the same call is resumed until it
    succeeds or fails for good. After RESUME_LIMIT attempts the instance stops instead: its
    successor's init_transactions ends the transaction either way.

    Raises:
        KafkaException: the call failed for good (fatal, or the transaction must be aborted).
        TransactionStalledError: the call still had not completed after RESUME_LIMIT attempts.
    """
    for attempt in range(1, RESUME_LIMIT + 1):
        try:
            call()
            return
        except KafkaException as exc:
            err = exc.args[0]
            resumable = (
                isinstance(err, KafkaError)
                and err.retriable()
                and not err.fatal()
                and not err.txn_requires_abort()
            )
            if not resumable:
                raise
            if attempt == RESUME_LIMIT:
                raise TransactionStalledError(
                    f"{what} did not complete in {attempt} attempts of {TIMEOUT_S:.0f}s: {err}"
                ) from exc
            log.warning("%s has not completed yet (%s); resuming it", what, err)


def on_changelog_delivery(offsets: dict[int, int], err: KafkaError | None, msg: Message) -> None:
    """Delivery report of a changelog record: its partition's highest offset so far."""
    metrics.produced(msg)
    if err is not None:
        return  # the transaction's commit fails, and it is aborted
    partition, offset = msg.partition(), msg.offset()
    assert partition is not None and offset is not None
    offsets[partition] = max(offsets.get(partition, NO_OFFSET), offset)


def produce_to(
    producer: Producer,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    partition: int | None,
    on_delivery: Callable[[KafkaError | None, Message], None] | None = None,
) -> None:
    """Produces one record, serving delivery reports while librdkafka's queue is full."""
    while True:
        try:
            if partition is None:
                producer.produce(topic, value, key, on_delivery=on_delivery)
            else:
                producer.produce(topic, value, key, partition=partition, on_delivery=on_delivery)
            return
        except BufferError:
            producer.poll(0.05)  # queue full: serve delivery reports, then retry
