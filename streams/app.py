"""The transactional consume-process-produce loop shared by Strom's processors.

The exactly-once commit protocol (STYLE rule 5) — every transaction of `StreamApp` follows
these steps, in this order, and only `StreamApp._commit` carries them out:

1. Produce the outputs of every input processed in the transaction (changelog records through
   `Context.emit`, outbox records through `Context.send`), all at once, so that librdkafka
   adds their partitions to the transaction with one AddPartitionsToTxn request. They are
   still in flight during step 2; their delivery reports, served after step 3, give the
   changelog offsets the local state will be stamped with.
2. Send the positions of the consumed inputs to the transaction together with the consumer's
   group metadata. The group coordinator refuses them when this instance's generation is stale:
   a fenced or revoked owner (a zombie) can therefore never commit (invariant 3).
3. Commit the Kafka transaction: outputs and input offsets become visible together, or, on any
   failure before this point, the transaction is aborted and none of them do (invariant 1).
   The commit first delivers every output and fails if one could not be delivered.
4. Write each partition's pending state changes to its RocksDB store in one write batch with the
   offset of the last changelog record they fold. A crash between steps 3 and 4 loses nothing:
   the next restore folds the changelog from the older offset the store still holds
   (invariant 2).

On abort, pending state changes are discarded and the consumer is rewound to the last
committed positions, so the same inputs are processed again in a new transaction.

Acknowledgements (`Context.send_after_commit`, the replies to callers) are not part of the
transaction: they are produced by a plain producer once the transaction that was open when
they were sent has committed, and dropped if it aborts; without an open transaction they
leave at once. A caller thus learns of a change only after it is committed, without waiting
for the transaction's markers; one that gets no answer (the processor crashed in between)
retries, which every request must tolerate anyway (invariant 5).

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
import threading
import time
from collections.abc import Callable
from typing import Protocol

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from streams.config import StreamsConfig
from streams.exceptions import ProducerFencedError, StreamsError
from streams.state.base import NO_OFFSET, PartitionStore, StateTransaction, Store
from streams.state.recovery import Restorer

log = logging.getLogger(__name__)

_TIMEOUT = 30.0


class Processor(Protocol):
    """What a processor built on `StreamApp` implements. It must do no Kafka I/O itself."""

    def process(self, ctx: Context, record: Message) -> None:
        """Handles one input record of `ctx.partition`."""

    def apply(self, state: StateTransaction, key: bytes | None, value: bytes | None) -> None:
        """Folds one changelog record (None: a tombstone) into state, live and on restore."""

    def punctuate(self, ctx: Context, now_ms: int) -> None:
        """Time-driven work of one owned partition (timers); called periodically."""


class Context:
    """The processor's handle on one partition within the open transaction."""

    def __init__(self, app: StreamApp, partition: int, state: StateTransaction) -> None:
        self._app = app
        self.partition = partition
        self.state = state

    def emit(self, key: bytes | None, value: bytes) -> None:
        """Appends a changelog record to this partition and folds it into the state."""
        self._app._produce(self._app.config.changelog_topic, key, value, self.partition)
        self._app.processor.apply(self.state, key, value)

    def send(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        partition: int | None = None,
    ) -> None:
        """Produces an outbox record within the transaction."""
        self._app._produce(topic, key, value, partition)

    def send_after_commit(
        self, topic: str, value: bytes, key: bytes | None = None, partition: int | None = None
    ) -> None:
        """Produces a record outside the transaction, once everything seen so far is committed.

        For acknowledgements only: the record is lost if the process dies before the commit
        completes, and nothing may depend on it but the caller it answers.
        """
        self._app._send_after_commit(topic, key, value, partition)


class StreamApp:
    """Runs one processor over the input partitions this instance owns, exactly once.

    Life cycle: `run()` blocks until `stop()`; partitions are restored when assigned and
    closed when revoked or lost. A fenced producer ends `run()` with ProducerFencedError.
    """

    def __init__(self, config: StreamsConfig, processor: Processor, store: Store) -> None:
        self.config = config
        self.processor = processor
        self._store = store
        self._stop = threading.Event()
        self._stores: dict[int, PartitionStore] = {}
        self._states: dict[int, StateTransaction] = {}
        self._committed: dict[tuple[str, int], int] = {}
        self._positions: dict[tuple[str, int], int] = {}
        self._changelog_offsets: dict[int, int] = {}
        self._txn_open = False
        self._txn_began = 0.0
        self._txn_inputs = 0
        self._uncommitted_since: float | None = None
        self._outputs: list[tuple[str, bytes | None, bytes, int | None]] = []
        self._after_commit: list[tuple[str, bytes | None, bytes, int | None]] = []
        self._last_punctuate = 0.0
        self.stats = {"commits": 0, "aborts": 0, "records": 0, "restored": 0}
        self.on_partitions_changed: Callable[[set[int]], None] | None = None
        if config.transactional_producers < 1:
            raise ValueError("transactional_producers must be at least 1")
        self._consumer = Consumer(config.consumer_settings())
        self._producers = [
            Producer(config.producer_settings(tid)) for tid in config.transactional_ids
        ]
        self._turn = 0
        self._producer = self._producers[0]
        self._acks = Producer(config.ack_producer_settings())
        self._restorer = Restorer(config.restore_consumer_settings(), config.changelog_topic)

    @property
    def owned_partitions(self) -> set[int]:
        """Partition numbers this instance currently owns."""
        return set(self._stores)

    def stop(self) -> None:
        """Asks `run()` to finish its transaction and return."""
        self._stop.set()

    def run(self) -> None:
        """Consumes, processes and commits until `stop()` is called."""
        # init_transactions fences an earlier incarnation of this instance and aborts its
        # open transactions at once instead of letting them block readers until they time out.
        for producer in self._producers:
            producer.init_transactions(_TIMEOUT)
        self._consumer.subscribe(
            list(self.config.input_topics),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        try:
            while not self._stop.is_set():
                self._run_once()
            if self._uncommitted:
                self._commit()
        finally:
            self._close()

    def _run_once(self) -> None:
        self._acks.poll(0)
        records = self._poll()
        for record in records:
            self._process(record)
        now = time.monotonic()
        if (now - self._last_punctuate) * 1000 >= self.config.punctuate_interval_ms:
            self._last_punctuate = now
            for partition in sorted(self._stores):
                self.processor.punctuate(self._context(partition), int(time.time() * 1000))
        if self._due_for_commit(bool(records), now):
            self._commit()

    def _due_for_commit(self, polled: bool, now: float) -> bool:
        if self._txn_open:
            return (
                (not polled and self.config.commit_when_idle)
                or self._txn_inputs >= self.config.max_batch_records
                or (now - self._txn_began) * 1000 >= self.config.max_batch_ms
            )
        if any(s.dirty for s in self._states.values()):
            return True  # state changed without output (timers): no reason to wait
        if self._uncommitted_since is None:
            return False
        return (now - self._uncommitted_since) * 1000 >= self.config.offsets_commit_interval_ms

    def _poll(self) -> list[Message]:
        # With a transaction open, only drain what has already arrived: an empty drain means
        # the input is idle, and the transaction commits at once instead of waiting for more.
        # When idle, poll() waits for the first record and consume(n, 0) drains the rest,
        # because consume(n, timeout) would wait out the whole timeout to fill n.
        if self._txn_open and self.config.commit_when_idle:
            return self._consumer.consume(self.config.max_batch_records, 0)
        first = self._consumer.poll(self.config.poll_timeout_s)
        if first is None:
            return []
        rest = self._consumer.consume(self.config.max_batch_records - 1, 0)
        return [first, *rest]

    def _process(self, record: Message) -> None:
        err = record.error()
        if err is not None:
            if err.fatal():
                raise StreamsError(f"consumer failed: {err}")
            log.warning("consumer error: %s", err)
            return
        topic, partition, offset = record.topic(), record.partition(), record.offset()
        assert topic is not None and partition is not None and offset is not None
        if partition not in self._stores:
            return  # fetched before its partition was revoked
        self.processor.process(self._context(partition), record)
        self._positions[(topic, partition)] = offset + 1
        if self._uncommitted_since is None:
            self._uncommitted_since = time.monotonic()
        self._txn_inputs += 1
        self.stats["records"] += 1

    @property
    def _uncommitted(self) -> bool:
        """True while a transaction is open or consumed positions await their commit."""
        return self._txn_open or bool(self._positions)

    def _context(self, partition: int) -> Context:
        state = self._states.get(partition)
        if state is None:
            state = StateTransaction(self._stores[partition])
            self._states[partition] = state
        return Context(self, partition, state)

    def _begin(self) -> None:
        if not self._txn_open:
            self._producer.begin_transaction()
            self._txn_open = True
            self._txn_began = time.monotonic()

    def _produce(self, topic: str, key: bytes | None, value: bytes, partition: int | None) -> None:
        self._begin()
        self._outputs.append((topic, key, value, partition))

    def _send_after_commit(
        self, topic: str, key: bytes | None, value: bytes, partition: int | None
    ) -> None:
        if self._txn_open:
            self._after_commit.append((topic, key, value, partition))
        else:
            self._acknowledge(topic, key, value, partition)

    def _acknowledge(
        self, topic: str, key: bytes | None, value: bytes, partition: int | None
    ) -> None:
        try:
            _produce_to(self._acks, topic, key, value, partition)
        except KafkaException as exc:
            # Lost like an answer in a crash: the caller retries. Never a reason to stop.
            log.warning("acknowledgement to %s[%s] not sent: %s", topic, partition, exc)

    def _on_changelog_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            return  # the transaction's commit fails, and it is aborted
        partition, offset = msg.partition(), msg.offset()
        assert partition is not None and offset is not None
        self._changelog_offsets[partition] = max(
            self._changelog_offsets.get(partition, NO_OFFSET), offset
        )

    def _commit(self) -> None:
        """Carries out steps 1-4 of the module docstring's commit protocol."""
        self._begin()  # positions of inputs that produced nothing may commit on their own
        try:
            # Step 1: the outputs, produced together; they may still be in flight in step 2.
            changelog = self.config.changelog_topic
            for topic, key, value, partition in self._outputs:
                on_delivery = self._on_changelog_delivery if topic == changelog else None
                _produce_to(self._producer, topic, key, value, partition, on_delivery)
            # Step 2: input positions join the transaction, checked against our generation.
            offsets = [TopicPartition(t, p, o) for (t, p), o in self._positions.items()]
            if offsets:
                self._producer.send_offsets_to_transaction(
                    offsets, self._consumer.consumer_group_metadata(), _TIMEOUT
                )
            # Step 3: outputs and offsets become visible together.
            self._producer.commit_transaction(_TIMEOUT)
        except KafkaException as exc:
            self._abort(exc)
            return
        for topic, key, value, partition in self._after_commit:
            self._acknowledge(topic, key, value, partition)
        self._producer.flush(_TIMEOUT)  # serves the delivery reports: the changelog offsets
        # Step 4: local state written with the offset of the changelog records it folds.
        for partition, state in self._states.items():
            offset = self._changelog_offsets.get(partition)
            if offset is None and not state.dirty:
                state.discard()  # read-only in this transaction: nothing to write
                continue
            if offset is None:
                offset = self._stores[partition].applied_offset()
            state.flush(offset)
        self._committed.update(self._positions)
        self.stats["commits"] += 1
        self._reset_txn()
        self._next_producer()

    def _next_producer(self) -> None:
        self._turn = (self._turn + 1) % len(self._producers)
        self._producer = self._producers[self._turn]

    def _abort(self, cause: Exception) -> None:
        err = cause.args[0] if isinstance(cause, KafkaException) else None
        if isinstance(err, KafkaError) and err.fatal():
            self._reset_txn(discard=True)
            raise ProducerFencedError(f"transactional producer is fenced: {err}") from cause
        log.warning("aborting transaction: %s", cause)
        if self._txn_open:
            try:
                self._producer.abort_transaction(_TIMEOUT)
            except KafkaException as exc:
                inner = exc.args[0]
                if isinstance(inner, KafkaError) and inner.fatal():
                    self._reset_txn(discard=True)
                    raise ProducerFencedError(f"transactional producer is fenced: {inner}") from exc
                log.warning("abort failed: %s", exc)
        self.stats["aborts"] += 1
        rewind = dict(self._positions)
        self._reset_txn(discard=True)
        for (topic, partition), _ in rewind.items():
            if partition in self._stores:
                offset = self._committed.get((topic, partition), OFFSET_BEGINNING)
                try:
                    self._consumer.seek(TopicPartition(topic, partition, offset))
                except KafkaException as exc:
                    log.warning("rewind of %s[%d] failed: %s", topic, partition, exc)

    def _reset_txn(self, discard: bool = False) -> None:
        if discard:
            for state in self._states.values():
                state.discard()
        self._states = {}
        self._positions = {}
        self._changelog_offsets = {}
        self._txn_open = False
        self._txn_inputs = 0
        self._uncommitted_since = None
        self._outputs = []
        self._after_commit = []

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Committed offsets are fetched with require_stable (read_committed), so this waits
        # until a fenced owner's pending transaction has ended; only then is the changelog
        # complete up to the inputs those offsets cover, and restore may begin.
        committed = consumer.committed(partitions, timeout=_TIMEOUT * 2)
        numbers = sorted({tp.partition for tp in partitions})
        for number in numbers:
            if number in self._stores:
                continue
            store = self._store.open_partition(number)
            if self._restorer.is_ahead(store):
                log.warning(
                    "partition %d: local state is ahead of its changelog; rebuilding", number
                )
                store.close()
                self._store.destroy_partition(number)
                store = self._store.open_partition(number)
            result = self._restorer.restore(store, self._apply_record, timeout=_TIMEOUT * 4)
            self._stores[number] = store
            self.stats["restored"] += result.records
            log.info(
                "partition %d restored: %d records after offset %d in %.2fs",
                number,
                result.records,
                result.start_offset,
                result.seconds,
            )
        for tp in committed:
            key = (tp.topic, tp.partition)
            self._committed[key] = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
            tp.offset = self._committed[key]
        consumer.assign(committed)
        self._notify()

    def _apply_record(self, state: StateTransaction, msg: Message) -> None:
        self.processor.apply(state, msg.key(), msg.value())

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # A graceful hand-over: the generation is still valid, so finish the open transaction.
        if self._uncommitted:
            self._commit()
        self._release(partitions)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Our generation is gone: nothing of the open transaction may commit.
        if self._uncommitted:
            self._abort(StreamsError("partitions lost"))
        self._release(partitions)

    def _release(self, partitions: list[TopicPartition]) -> None:
        for number in sorted({tp.partition for tp in partitions}):
            store = self._stores.pop(number, None)
            if store is not None:
                store.close()
            self._states.pop(number, None)
        for tp in partitions:
            self._committed.pop((tp.topic, tp.partition), None)
        self._notify()

    def _notify(self) -> None:
        if self.on_partitions_changed is not None:
            self.on_partitions_changed(self.owned_partitions)

    def _close(self) -> None:
        try:
            self._consumer.close()
        finally:
            self._restorer.close()
            for store in self._stores.values():
                store.close()
            self._stores = {}
            for producer in [*self._producers, self._acks]:
                producer.flush(5)


def _produce_to(
    producer: Producer,
    topic: str,
    key: bytes | None,
    value: bytes,
    partition: int | None,
    on_delivery: Callable[[KafkaError | None, Message], None] | None = None,
) -> None:
    while True:
        try:
            if partition is None:
                producer.produce(topic, value, key, on_delivery=on_delivery)
            else:
                producer.produce(topic, value, key, partition=partition, on_delivery=on_delivery)
            return
        except BufferError:
            producer.poll(0.05)  # queue full: serve delivery reports, then retry
