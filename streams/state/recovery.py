"""Restoring a partition's state by folding its changelog topic from the stored offset."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from streams.exceptions import RestoreError
from streams.state.base import NO_OFFSET, PartitionStore, StateTransaction

ApplyFn = Callable[[StateTransaction, Message], None]


@dataclass(frozen=True)
class RestoreResult:
    """What one restore did."""

    partition: int
    start_offset: int  # the store's applied offset before the restore (NO_OFFSET: empty)
    records: int
    seconds: float


def _offset(msg: Message) -> int:
    offset = msg.offset()
    assert offset is not None, "a fetched record always has an offset"
    return offset


class Restorer:
    """Replays changelog partitions into their stores with one group-less consumer.

    Reads `read_committed` up to the partition's end (the last stable offset), so records of
    aborted or still-open transactions are never folded.
    """

    def __init__(self, settings: dict, topic: str, batch_records: int = 2000) -> None:
        self._consumer = Consumer(settings)
        self._topic = topic
        self._batch_records = batch_records

    def is_ahead(self, store: PartitionStore) -> bool:
        """True when the store claims offsets the changelog does not have.

        That happens when the topic was deleted and created again under the same name: the
        local state then belongs to another history and must be rebuilt from scratch.
        """
        applied = store.applied_offset()
        if applied == NO_OFFSET:
            return False
        tp = TopicPartition(self._topic, store.partition)
        _, high = self._consumer.get_watermark_offsets(tp, timeout=30)
        return applied >= high

    def restore(self, store: PartitionStore, apply: ApplyFn, timeout: float) -> RestoreResult:
        """Folds every committed changelog record after the store's applied offset.

        Raises:
            RestoreError: The end of the partition was not reached within `timeout`.
        """
        began = time.monotonic()
        applied = store.applied_offset()
        start = OFFSET_BEGINNING if applied == NO_OFFSET else applied + 1
        self._consumer.assign([TopicPartition(self._topic, store.partition, start)])
        txn = StateTransaction(store)
        count = 0
        last = applied
        try:
            while True:
                if time.monotonic() - began > timeout:
                    raise RestoreError(
                        f"restoring {self._topic}[{store.partition}] did not reach the end "
                        f"within {timeout:.0f}s ({count} records folded)"
                    )
                msg = self._consumer.poll(0.2)
                if msg is None:
                    continue
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        break
                    raise RestoreError(f"restoring {self._topic}[{store.partition}]: {err}")
                apply(txn, msg)
                count += 1
                last = _offset(msg)
                if count % self._batch_records == 0:
                    txn.flush(last)
                    txn = StateTransaction(store)
            txn.flush(last)
        finally:
            self._consumer.unassign()
        return RestoreResult(store.partition, applied, count, time.monotonic() - began)

    def close(self) -> None:
        """Closes the consumer."""
        self._consumer.close()
