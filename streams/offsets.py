"""Group consumers start their partitions at committed offsets Strom fetches itself.

A plain ``assign`` leaves librdkafka to fetch the committed offsets, and that fetch can stall
for good: when the group coordinator moved (right after a broker stall, say) and the broker
answers the whole OffsetFetch request with NOT_COORDINATOR, the partitions keep no position,
nothing retries, and the consumer reads nothing until it is restarted (librdkafka issue
#5586, open in 2.16). Every Strom group member therefore asks for its committed offsets in
its assign callback, retries transient errors itself, and assigns with explicit offsets.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

log = logging.getLogger(__name__)

T = TypeVar("T")

PATIENCE_S = 120.0
"""How long a call is repeated while the broker recovers before its error is raised."""

# Errors librdkafka does not flag retriable that still pass once leadership settles.
_TRANSIENT = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
    KafkaError._WAIT_COORD,
    KafkaError._UNKNOWN_PARTITION,
}


def is_transient(error: object) -> bool:
    """True for a Kafka error that goes away once the broker has recovered."""
    if isinstance(error, KafkaException):
        error = error.args[0] if error.args else None
    return isinstance(error, KafkaError) and (error.retriable() or error.code() in _TRANSIENT)


def patiently(what: str, call: Callable[[], T], patience_s: float | None = None) -> T:
    """`call()`, repeated each second while it fails transiently, for up to `patience_s`.

    Raises:
        KafkaException: A permanent error, or a transient one that outlasted the patience.
    """
    deadline = time.monotonic() + (PATIENCE_S if patience_s is None else patience_s)
    while True:
        try:
            return call()
        except KafkaException as exc:
            if not is_transient(exc) or time.monotonic() > deadline:
                raise
            log.warning("%s failed (%s); asking again", what, exc)
            time.sleep(1)


def committed(
    consumer: Consumer, partitions: list[TopicPartition], timeout_s: float, missing: int
) -> list[TopicPartition]:
    """The group's committed offset of each partition; `missing` where none was committed.

    Raises:
        KafkaException: The offsets could not be read within the patience.
    """

    def fetch() -> list[TopicPartition]:
        found = consumer.committed(partitions, timeout=timeout_s)
        for tp in found:
            if tp.error is not None:
                raise KafkaException(tp.error)
        return found

    found = patiently("reading committed offsets", fetch)
    return [
        TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else missing)
        for tp in found
    ]
