"""Restoring a partition's state by folding its changelog topic from the stored offset."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, KafkaError, Message, TopicPartition

from streams import offsets
from streams.connection import Consumer
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


@dataclass
class _Job:
    """One partition being restored: its store, the open batch and how far it got."""

    store: PartitionStore
    began: float
    start_offset: int
    txn: StateTransaction
    count: int = 0
    last: int = NO_OFFSET


class Restorer:
    """Replays changelog partitions into their stores with one group-less consumer.

    Reads `read_committed` up to the partition's end (the last stable offset), so records of
    aborted or still-open transactions are never folded. Restores go in steps (`begin`, then
    `step` until the partition is done), so that the caller keeps serving its other
    partitions meanwhile; `restore` does one partition to the end at once.
    """

    def __init__(self, settings: dict, topic: str, batch_records: int = 2000) -> None:
        self._consumer = Consumer(settings)
        self._topic = topic
        self._batch_records = batch_records
        self._jobs: dict[int, _Job] = {}

    @property
    def restoring(self) -> set[int]:
        """Partitions begun and not finished or cancelled."""
        return set(self._jobs)

    def is_ahead(self, store: PartitionStore) -> bool:
        """True when the store claims offsets the changelog does not have.

        That happens when the topic was deleted and created again under the same name: the
        local state then belongs to another history and must be rebuilt from scratch.
        """
        applied = store.applied_offset()
        if applied == NO_OFFSET:
            return False
        tp = TopicPartition(self._topic, store.partition)
        # Right after a broker stall the partition may have no known leader for a moment;
        # this runs inside the group's assign callback, where an error ends the process.
        _, high = offsets.patiently(
            f"reading the end offset of {tp.topic} [{tp.partition}]",
            lambda: self._consumer.get_watermark_offsets(tp, timeout=30),
        )
        return bool(applied >= high)

    def begin(self, store: PartitionStore) -> None:
        """Starts restoring `store` from the offset after the one it has folded."""
        applied = store.applied_offset()
        start = OFFSET_BEGINNING if applied == NO_OFFSET else applied + 1
        self._jobs[store.partition] = _Job(
            store, time.monotonic(), applied, StateTransaction(store)
        )
        self._consumer.incremental_assign([TopicPartition(self._topic, store.partition, start)])

    def cancel(self, partition: int) -> None:
        """Stops restoring `partition` (revoked meanwhile); what was flushed stays."""
        job = self._jobs.pop(partition, None)
        if job is not None:
            job.txn.discard()
            self._consumer.incremental_unassign([TopicPartition(self._topic, partition)])

    def step(self, apply: ApplyFn, max_records: int, wait_s: float = 0.0) -> list[RestoreResult]:
        """Folds up to `max_records` records of the partitions being restored.

        Returns:
            The partitions that reached the end of their changelog in this step.

        Raises:
            RestoreError: The changelog could not be read.
        """
        if not self._jobs:
            return []
        finished: list[RestoreResult] = []
        for msg in self._consumer.consume(max_records, wait_s):
            partition = msg.partition()
            job = self._jobs.get(partition) if partition is not None else None
            if job is None:
                continue  # cancelled in the meantime
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    finished.append(self._finish(job))
                    continue
                raise RestoreError(f"restoring {self._topic}[{partition}]: {err}")
            apply(job.txn, msg)
            job.count += 1
            job.last = _offset(msg)
            if job.count % self._batch_records == 0:
                job.txn.flush(job.last)
                job.txn = StateTransaction(job.store)
        return finished

    def _finish(self, job: _Job) -> RestoreResult:
        job.txn.flush(job.last if job.count else job.store.applied_offset())
        partition = job.store.partition
        del self._jobs[partition]
        self._consumer.incremental_unassign([TopicPartition(self._topic, partition)])
        return RestoreResult(partition, job.start_offset, job.count, time.monotonic() - job.began)

    def restore(self, store: PartitionStore, apply: ApplyFn, timeout: float) -> RestoreResult:
        """Folds every committed changelog record after the store's applied offset, at once.

        Raises:
            RestoreError: The end of the partition was not reached within `timeout`.
        """
        began = time.monotonic()
        self.begin(store)
        while True:
            for result in self.step(apply, self._batch_records, 0.2):
                if result.partition == store.partition:
                    return result
            if time.monotonic() - began > timeout:
                job = self._jobs.get(store.partition)
                count = job.count if job else 0
                self.cancel(store.partition)
                raise RestoreError(
                    f"restoring {self._topic}[{store.partition}] did not reach the end "
                    f"within {timeout:.0f}s ({count} records folded)"
                )

    def close(self) -> None:
        """Closes the consumer."""
        self._consumer.close()
