"""The exactly-once commit protocol of `StreamApp`: one Kafka transaction per batch of inputs.

Every transaction follows these steps, in this order, and only `Transactions.commit` carries
them out:

1. Produce the outputs of every input processed in the transaction (changelog records and
   outbox records), all at once, so that librdkafka adds their partitions to the transaction
   with one AddPartitionsToTxn request. They are still in flight during step 2; their delivery
   reports, served after step 3, give the changelog offsets the local state will be stamped
   with.
2. Send the positions of the consumed inputs to the transaction together with the consumer's
   group metadata. The group coordinator refuses them when this instance's generation is stale:
   a fenced or revoked owner (a zombie) can therefore never commit.
3. Commit the Kafka transaction: outputs and input offsets become visible together, or, on any
   failure before this point, the transaction is aborted and none of them do. The commit first
   delivers every output and fails if one could not be delivered.
4. Write each partition's pending state changes to its RocksDB store in one write batch with the
   offset of the last changelog record they fold. A crash between steps 3 and 4 loses nothing:
   the next restore folds the changelog from the older offset the store still holds.

On abort, pending state changes are discarded and the consumer is rewound to the last
committed positions, so the same inputs are processed again in a new transaction.

Acknowledgements (`send_after_commit`, the replies to callers) are not part of the transaction:
they are produced by a plain producer once the transaction that was open when they were sent
has committed, and dropped if it aborts; without an open transaction they leave at once. A
caller thus learns of a change only after it is committed, without waiting for the
transaction's markers; one that gets no answer (the processor crashed in between) retries,
which every request must tolerate anyway.

Two refinements keep a transaction off the critical path where none is needed:

- A transaction begins with the first output or state change. An input that produces neither
  (a read parked until later) commits nothing at once: its position rides along with the next
  transaction, or is committed on its own after `offsets_commit_interval_ms`. Processing it
  again after a crash is harmless, because it produced nothing.
- Transactions take turns over `transactional_producers` producers with ids of their own.
  Right after a commit the broker is still writing that transaction's markers, and the same
  id could not begin its next transaction until they are written. Ordering is unaffected:
  transaction N+1 begins only after N's commit returned, read_committed readers see records in
  offset order, and the group coordinator keeps the offset commit with the later position in
  the offsets log, whichever marker lands first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from streams import metrics
from streams.config import StreamsConfig
from streams.exceptions import ProducerFencedError
from streams.state.base import NO_OFFSET, PartitionStore, StateTransaction

log = logging.getLogger(__name__)

TIMEOUT_S = 30.0

# topic, key, value (None: a tombstone), partition
_Record = tuple[str, bytes | None, bytes | None, int | None]


@dataclass(frozen=True)
class Savepoint:
    """How far the open transaction had come; see `Transactions.rollback_to`."""

    outputs: int
    after_commit: int
    states: dict[int, int]


class Transactions:
    """The open transaction of one StreamApp instance and the producers that carry it.

    Life cycle: `init` once, then any number of transactions, each begun implicitly by the
    first output (`produce`) or by `commit`, and ended by `commit` or `abort`; `close` last.
    """

    def __init__(self, config: StreamsConfig, consumer: Consumer) -> None:
        if config.transactional_producers < 1:
            raise ValueError("transactional_producers must be at least 1")
        self._config = config
        self._consumer = consumer
        self._producers = [
            Producer(config.producer_settings(tid)) for tid in config.transactional_ids
        ]
        self._turn = 0
        self._producer = self._producers[0]
        self._acks = Producer(config.ack_producer_settings())
        self.states: dict[int, StateTransaction] = {}
        self.committed: dict[tuple[str, int], int] = {}
        self._positions: dict[tuple[str, int], int] = {}
        self._changelog_offsets: dict[int, int] = {}
        self._outputs: list[_Record] = []
        self._after_commit: list[_Record] = []
        self.is_open = False
        self._began = 0.0
        self.inputs = 0
        self.uncommitted_since: float | None = None
        self.stats = {"commits": 0, "aborts": 0}

    def init(self) -> None:
        """Fences an earlier incarnation of this instance and aborts its open transactions.

        At once, instead of letting them block readers until they time out.
        """
        for producer in self._producers:
            producer.init_transactions(TIMEOUT_S)

    @property
    def uncommitted(self) -> bool:
        """True while a transaction is open or consumed positions await their commit."""
        return self.is_open or bool(self._positions)

    @property
    def open_ms(self) -> float:
        """How long the open transaction has been open, in milliseconds."""
        return (time.monotonic() - self._began) * 1000

    def state(self, partition: int, store: PartitionStore) -> StateTransaction:
        """The pending state changes of a partition in this transaction."""
        state = self.states.get(partition)
        if state is None:
            state = StateTransaction(store)
            self.states[partition] = state
        return state

    def consumed(self, topic: str, partition: int, offset: int) -> None:
        """Records that the input at `offset` was processed in this transaction."""
        self._positions[(topic, partition)] = offset + 1
        if self.uncommitted_since is None:
            self.uncommitted_since = time.monotonic()
        self.inputs += 1

    @property
    def pending_outputs(self) -> int:
        """Records produced in the open transaction so far."""
        return len(self._outputs)

    def produce(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None
    ) -> None:
        """Adds an output to the transaction (produced at commit, step 1)."""
        self._begin()
        self._outputs.append((topic, key, value, partition))

    def send_after_commit(
        self, topic: str, key: bytes | None, value: bytes, partition: int | None
    ) -> None:
        """Produces an acknowledgement once everything seen so far is committed."""
        if self.is_open:
            self._after_commit.append((topic, key, value, partition))
        else:
            self._acknowledge(topic, key, value, partition)

    def savepoint(self) -> Savepoint:
        """A mark of the transaction's outputs, acknowledgements and state changes so far."""
        return Savepoint(
            len(self._outputs),
            len(self._after_commit),
            {partition: state.savepoint() for partition, state in self.states.items()},
        )

    def rollback_to(self, savepoint: Savepoint) -> None:
        """Drops what was added after `savepoint`: one input's effects, the others' stay.

        The transaction itself stays open (or not) as it is: its outputs are only produced at
        commit, so nothing dropped here ever reached Kafka.
        """
        del self._outputs[savepoint.outputs :]
        del self._after_commit[savepoint.after_commit :]
        for partition, state in self.states.items():
            state.rollback_to(savepoint.states.get(partition, 0))

    def forget(self, partitions: list[TopicPartition]) -> None:
        """Drops the pending state and committed positions of released input partitions."""
        for tp in partitions:
            self.states.pop(tp.partition, None)
            self.committed.pop((tp.topic, tp.partition), None)

    def poll_acks(self) -> None:
        """Serves the delivery reports of acknowledgements."""
        self._acks.poll(0)

    def commit(self, stores: dict[int, PartitionStore]) -> None:
        """Carries out steps 1-4 of the module docstring's commit protocol.

        Raises:
            ProducerFencedError: this instance was fenced; it must stop.
        """
        self._begin()  # positions of inputs that produced nothing may commit on their own
        try:
            # Step 1: the outputs, produced together; they may still be in flight in step 2.
            changelog = self._config.changelog_topic
            for topic, key, value, partition in self._outputs:
                on_delivery = self._on_changelog_delivery if topic == changelog else None
                produce_to(self._producer, topic, key, value, partition, on_delivery)
            # Step 2: input positions join the transaction, checked against our generation.
            offsets = [TopicPartition(t, p, o) for (t, p), o in self._positions.items()]
            if offsets:
                self._producer.send_offsets_to_transaction(
                    offsets, self._consumer.consumer_group_metadata(), TIMEOUT_S
                )
            # Step 3: outputs and offsets become visible together.
            committing = time.monotonic()
            self._producer.commit_transaction(TIMEOUT_S)
            metrics.transaction_committed(self._began, committing)
        except KafkaException as exc:
            self.abort(exc, stores)
            return
        for topic, key, value, partition in self._after_commit:
            self._acknowledge(topic, key, value, partition)
        self._producer.flush(TIMEOUT_S)  # serves the delivery reports: the changelog offsets
        # Step 4: local state written with the offset of the changelog records it folds.
        for partition, state in self.states.items():
            offset = self._changelog_offsets.get(partition)
            if offset is None and not state.dirty:
                state.discard()  # read-only in this transaction: nothing to write
                continue
            if offset is None:
                offset = stores[partition].applied_offset()
            state.flush(offset)
        self.committed.update(self._positions)
        self.stats["commits"] += 1
        self._reset()
        self._turn = (self._turn + 1) % len(self._producers)
        self._producer = self._producers[self._turn]

    def abort(self, cause: Exception, stores: dict[int, PartitionStore]) -> None:
        """Aborts the open transaction and rewinds the consumer to the committed positions.

        Raises:
            ProducerFencedError: this instance was fenced; it must stop.
        """
        err = cause.args[0] if isinstance(cause, KafkaException) else None
        if isinstance(err, KafkaError) and err.fatal():
            self._reset(discard=True)
            raise ProducerFencedError(f"transactional producer is fenced: {err}") from cause
        log.warning("aborting transaction: %s", cause)
        metrics.transaction_aborted()
        if self.is_open:
            try:
                self._producer.abort_transaction(TIMEOUT_S)
            except KafkaException as exc:
                inner = exc.args[0]
                if isinstance(inner, KafkaError) and inner.fatal():
                    self._reset(discard=True)
                    raise ProducerFencedError(f"transactional producer is fenced: {inner}") from exc
                log.warning("abort failed: %s", exc)
        self.stats["aborts"] += 1
        rewind = dict(self._positions)
        self._reset(discard=True)
        for topic, partition in rewind:
            if partition in stores:
                offset = self.committed.get((topic, partition), OFFSET_BEGINNING)
                try:
                    self._consumer.seek(TopicPartition(topic, partition, offset))
                except KafkaException as exc:
                    log.warning("rewind of %s[%d] failed: %s", topic, partition, exc)

    def close(self) -> None:
        """Flushes every producer (the transactions are ended by then)."""
        for producer in [*self._producers, self._acks]:
            producer.flush(5)

    def _begin(self) -> None:
        if not self.is_open:
            self._producer.begin_transaction()
            self.is_open = True
            self._began = time.monotonic()

    def _acknowledge(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None
    ) -> None:
        try:
            produce_to(self._acks, topic, key, value, partition)
        except KafkaException as exc:
            # Lost like an answer in a crash: the caller retries. Never a reason to stop.
            log.warning("acknowledgement to %s[%s] not sent: %s", topic, partition, exc)

    def _on_changelog_delivery(self, err: KafkaError | None, msg: Message) -> None:
        metrics.produced(msg)
        if err is not None:
            return  # the transaction's commit fails, and it is aborted
        partition, offset = msg.partition(), msg.offset()
        assert partition is not None and offset is not None
        self._changelog_offsets[partition] = max(
            self._changelog_offsets.get(partition, NO_OFFSET), offset
        )

    def _reset(self, discard: bool = False) -> None:
        if discard:
            for state in self.states.values():
                state.discard()
        self.states = {}
        self._positions = {}
        self._changelog_offsets = {}
        self.is_open = False
        self.inputs = 0
        self.uncommitted_since = None
        self._outputs = []
        self._after_commit = []


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
