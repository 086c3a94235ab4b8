"""The exactly-once commit protocol of `StreamApp`: one Kafka transaction per batch of inputs.

Every transaction follows these steps, in this order, and only `Transactions` carries them
out: steps 1-3 in `_send` (on the commit worker's thread), step 4 in `_finish` (on the loop's):

1. Produce the outputs of every input processed in the transaction (changelog records and
   outbox records), all at once, so that librdkafka adds their partitions to the transaction
   with one AddPartitionsToTxn request. They are still in flight during step 2; their delivery
   reports, served after step 3, give the changelog offsets the local state will be stamped
   with.
2. Send the positions of the consumed inputs to the transaction together with the consumer's
   group metadata. The group coordinator refuses them when this instance's generation is stale:
   a fenced or revoked owner (a zombie) can therefore never commit. A transaction that consumed
   nothing from the topics (its inputs came directly, `streams.direct`, or from timers) sends
   the committed positions of the partitions it changed, unchanged, for the same check.
3. Commit the Kafka transaction: outputs and input offsets become visible together, or, on any
   failure before this point, the transaction is aborted and none of them do. The commit first
   delivers every output and fails if one could not be delivered.
4. Write each partition's pending state changes to its RocksDB store in one write batch with the
   offset of the last changelog record they fold. A crash between steps 3 and 4 loses nothing:
   the next restore folds the changelog from the older offset the store still holds.

On abort, pending state changes are discarded and the consumer is rewound to the last
committed positions, so the same inputs are processed again in a new transaction.

Direct inputs (`streams.direct`) have no position to rewind to: an abort produces them to
their topic partition (a spill), where they are read again like any input.

Acknowledgements (`send_after_commit`, the replies to callers) are not part of the transaction:
they are produced by a plain producer once the transaction that was open when they were sent
has committed, and dropped if it aborts; without an open transaction they leave at once. A
caller thus learns of a change only after it is committed, without waiting for the
transaction's markers; one that gets no answer (the processor crashed in between) retries,
which every request must tolerate anyway. An acknowledgement that also went as a datagram
(`streams.datagrams`) has its Kafka copy produced by a second plain producer that lingers
(`streams.config.BACKUP_ACK_LINGER_MS`): that copy is only the fallback.

Three refinements keep a transaction off the critical path where none is needed:

- A transaction opens with the first output or state change (its Kafka transaction begins
  only when its commit starts: outputs are buffered until then). An input that produces
  neither (a read parked until later) commits nothing at once: its position rides along with
  the next transaction, or is committed on its own after `offsets_commit_interval_ms`.
  Processing it again after a crash is harmless, because it produced nothing.
- A change nobody waits for may wait for company (`Deferral.defer`): the processor says so of an
  input (`Context.defer_commit`), and its transaction then commits with the next input that
  somebody does wait for (`Deferral.hurry`: an acknowledgement, an output or a state change not
  deferred), or after `deferred_commit_ms`, whichever comes first. A workflow task's start,
  which matching has already answered, so rides in the transaction of the task's completion
  instead of taking one of its own, and the completion does not wait for it to land.
- Transactions take turns over `transactional_producers` producers with ids of their own.
  Right after a commit the broker is still writing that transaction's markers, and the same
  id could not begin its next transaction until they are written. Ordering is unaffected:
  transaction N+1 begins only after N's commit returned, read_committed readers see records in
  offset order, and the group coordinator keeps the offset commit with the later position in
  the offsets log, whichever marker lands first.

Pipelining (`start_commit`, `reap`): steps 1-3 of transaction N and its acknowledgements run
on a `CommitWorker` thread while the loop processes the next inputs into transaction N+1,
against N's sealed, not yet committed state (N+1's state transactions read through N's).
What may never happen before N's commit returned still does not:

- N+1's Kafka transaction begins, and its outputs are produced, only when `start_commit` is
  called for it, which requires N to be collected by `reap`. Outputs are buffered until then
  anyway, so the changelog stays in the order the state was decided in.
- An acknowledgement leaves only after the commit of the transaction that was open when it
  was sent; one sent while N flies and N+1 has no output waits for N.
- Step 4 of N runs on the loop's thread in `reap`, so the store never changes under a read.
- If N fails, N+1 was decided on N's state and is dropped with it: both states are discarded,
  N's Kafka transaction is aborted (N+1 has none yet), their acknowledgements are dropped, and
  the consumer is rewound to the last committed positions, exactly as an abort without
  pipelining (it is one larger aborted transaction).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    TopicPartition,
)

from streams import metrics
from streams.committer import CommitWorker
from streams.config import StreamsConfig
from streams.connection import Producer
from streams.datagrams import DatagramSender
from streams.deferral import Deferral
from streams.direct import DirectRecord
from streams.exceptions import InvalidStateError, ProducerFencedError, TransactionStalledError
from streams.kafka_calls import (
    TIMEOUT_S,
    on_changelog_delivery,
    produce_to,
    resume_while_retriable,
)
from streams.state.base import NO_OFFSET, PartitionStore, StateTransaction

log = logging.getLogger(__name__)


# topic, key, value (None: a tombstone), partition
_Record = tuple[str, bytes | None, bytes | None, int | None]
# topic, key, value, partition, and the caller's datagram address (`streams.datagrams`)
_Ack = tuple[str, bytes | None, bytes, int | None, str | None]


@dataclass(frozen=True)
class Savepoint:
    """How far the open transaction had come; see `Transactions.rollback_to`."""

    outputs: int
    after_commit: int
    states: dict[int, int]


@dataclass
class _Flight:
    """A sealed transaction whose steps 1-3 run on the commit worker."""

    producer: Producer
    outputs: list[_Record]
    after_commit: list[_Ack]
    positions: dict[tuple[str, int], int]
    states: dict[int, StateTransaction]
    group_metadata: Any
    direct: list[DirectRecord] = field(default_factory=list)
    direct_received: Any = None  # what the direct input had taken when it was sealed
    opened: float = 0.0  # time.monotonic() when its transaction opened (shard latency)
    changelog_offsets: dict[int, int] = field(default_factory=dict)
    began: bool = False  # its Kafka transaction began: an abort must end it
    committed: bool = False  # step 3 returned: later acknowledgements leave at once
    lock: threading.Lock = field(default_factory=threading.Lock)


class Transactions:
    """The open transaction of one StreamApp instance, the one committing, and their producers.

    Life cycle: `init` once, then any number of transactions, each begun implicitly by the
    first output (`produce`) or by a commit, and ended by `commit` (synchronous, steps 1-4),
    by `start_commit` + `reap` (pipelined), or by `abort`; `close` last.
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
        self._backup_acks = Producer(config.ack_producer_settings(backup=True))
        self._datagrams = DatagramSender()
        self._worker = CommitWorker(f"{config.app_id}-commit")
        self._flight: _Flight | None = None
        self._group_metadata: Any = None  # the consumer's, read once per generation
        self.states: dict[int, StateTransaction] = {}
        self.committed: dict[tuple[str, int], int] = {}
        self._positions: dict[tuple[str, int], int] = {}
        self._direct: list[DirectRecord] = []  # direct inputs that changed something
        self._outputs: list[_Record] = []
        self._after_commit: list[_Ack] = []
        self.is_open = False
        self._began = 0.0
        self.inputs = 0
        self.uncommitted_since: float | None = None
        self.deferral = Deferral()  # of the open transaction
        self.stats = {"commits": 0, "aborts": 0}
        # Told of every abort: a processor's memory decided on the dropped state must go too.
        self.on_abort: Callable[[], None] | None = None
        # The direct input's count of records taken, read when a transaction is sealed, and
        # told that count once that transaction committed (`streams.direct`, acknowledgements).
        self.direct_received: Callable[[], Any] | None = None
        self.on_direct_committed: Callable[[Any], None] | None = None
        self._spilled = False  # spills produced but not yet known delivered

    def init(self) -> None:
        """Fences an earlier incarnation of this instance and aborts its open transactions.

        At once, instead of letting them block readers until they time out.
        """
        for producer in self._producers:
            producer.init_transactions(TIMEOUT_S)

    @property
    def uncommitted(self) -> bool:
        """True while a transaction is open or committing, or positions await their commit."""
        return self.is_open or bool(self._positions) or self._flight is not None

    @property
    def pending_outputs(self) -> int:
        """Records produced in the open transaction so far."""
        return len(self._outputs)

    @property
    def in_flight(self) -> bool:
        """True from `start_commit` until `reap` collected that commit."""
        return self._flight is not None

    @property
    def open_ms(self) -> float:
        """How long the open transaction has been open, in milliseconds."""
        return (time.monotonic() - self._began) * 1000

    def changed_since(self, savepoint: Savepoint) -> bool:
        """Whether outputs, acknowledgements or state changes were added after `savepoint`."""
        return (
            len(self._outputs) > savepoint.outputs
            or self.replied_since(savepoint)
            or any(
                state.savepoint() > savepoint.states.get(partition, 0)
                for partition, state in self.states.items()
            )
        )

    def replied_since(self, savepoint: Savepoint) -> bool:
        """Whether an acknowledgement now waits for the open transaction's commit."""
        return len(self._after_commit) > savepoint.after_commit

    def state(self, partition: int, store: PartitionStore) -> StateTransaction:
        """The pending state changes of a partition in the open transaction.

        While a commit is in flight they read through that transaction's changes.
        """
        state = self.states.get(partition)
        if state is None:
            base = self._flight.states.get(partition) if self._flight is not None else None
            state = StateTransaction(store, base)
            self.states[partition] = state
        return state

    def consumed(self, topic: str, partition: int, offset: int) -> None:
        """Records that the input at `offset` was processed in this transaction."""
        self._positions[(topic, partition)] = offset + 1
        if self.uncommitted_since is None:
            self.uncommitted_since = time.monotonic()
        self.inputs += 1

    def consumed_direct(self, record: DirectRecord, changed: bool) -> None:
        """Records that a direct input was processed in this transaction; one that `changed`
        something is spilled to its topic if the transaction aborts."""
        if changed:
            self._direct.append(record)
            if self.uncommitted_since is None:
                self.uncommitted_since = time.monotonic()
        self.inputs += 1

    def spill(self, record: DirectRecord) -> None:
        """Produces a direct input to its topic partition, to be read again from there."""
        metrics.direct_input("spilled")
        self._spilled = True
        try:
            produce_to(self._acks, record.topic(), record.key(), record.value(), record.partition())
        except KafkaException as exc:  # its caller produces it when no answer comes
            log.warning("direct input for %s[%d] not spilled: %s", record.topic(),
                        record.partition(), exc)  # fmt: skip

    def produce(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None
    ) -> None:
        """Adds an output to the transaction (produced at commit, step 1)."""
        self._open()
        self._outputs.append((topic, key, value, partition))

    def send_after_commit(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        partition: int | None,
        datagram: str | None = None,
    ) -> None:
        """Produces an acknowledgement once everything seen so far is committed.

        With `datagram` ("host:port") it is also sent there as a UDP datagram, at the same
        moment (`streams.datagrams`).
        """
        record: _Ack = (topic, key, value, partition, datagram)
        if self.is_open:
            self._after_commit.append(record)
            return
        flight = self._flight
        if flight is not None:
            with flight.lock:  # the worker reads the list once step 3 returned
                if not flight.committed:
                    flight.after_commit.append(record)
                    return
        self._acknowledge(*record)

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
        if self._flight is not None:
            raise InvalidStateError("partitions released while a commit is in flight")
        for tp in partitions:
            self.states.pop(tp.partition, None)
            self.committed.pop((tp.topic, tp.partition), None)

    def poll_acks(self) -> None:
        """Serves the delivery reports of acknowledgements."""
        self._acks.poll(0)
        self._backup_acks.poll(0)

    def commit(self, stores: dict[int, PartitionStore]) -> None:
        """Commits everything uncommitted before returning: a commit in flight, then steps
        1-4 of the open transaction.

        Raises:
            ProducerFencedError: this instance was fenced; it must stop.
            TransactionStalledError: a commit or abort never completed; it must stop.
        """
        self.reap(stores, wait=None)
        if self.uncommitted:
            self.start_commit(stores)
            self.reap(stores, wait=None)

    def start_commit(self, stores: dict[int, PartitionStore]) -> None:
        """Seals the open transaction and begins steps 1-3 of its commit on the worker.

        A new, empty transaction is open at once; `reap` collects the commit (step 4).

        Raises:
            InvalidStateError: a commit is still in flight (collect it with `reap` first).
        """
        if self._flight is not None:
            raise InvalidStateError("a commit is still in flight")
        for state in self.states.values():
            state.seal()
        positions = self._positions or self._fencing_positions()
        metadata = self._current_group_metadata() if positions else None
        flight = _Flight(
            self._producer,
            self._outputs,
            self._after_commit,
            positions,
            self.states,
            metadata,
            self._direct,
            self.direct_received() if self.direct_received is not None else None,
            self._began,
        )
        self._flight = flight
        self._reset()
        self._turn = (self._turn + 1) % len(self._producers)
        self._producer = self._producers[self._turn]
        self._worker.submit(partial(self._send, flight))

    def _fencing_positions(self) -> dict[tuple[str, int], int]:
        """For a transaction that consumed nothing from the topics: the committed positions of
        the partitions it changed, so that step 2 still checks this instance's generation.

        A partition without a committed position gets 0, which a restarted consumer reads
        from as it would from the beginning (an offset below the log's start resets to it).
        """
        if not self._outputs and not any(s.dirty for s in self.states.values()):
            return {}
        changed = {p for p, s in self.states.items() if s.dirty} or set(self.states)
        positions = {
            tp: max(offset, 0) for tp, offset in self.committed.items() if tp[1] in changed
        }
        if not positions and self.committed:  # outputs without state: any owned partition
            tp, offset = min(self.committed.items())
            positions = {tp: max(offset, 0)}
        return positions

    def reap(self, stores: dict[int, PartitionStore], wait: float | None = 0.0) -> bool:
        """Collects the commit in flight once it has returned: step 4, or the abort.

        Args:
            stores: The owned partitions' stores.
            wait: Seconds to wait for the commit to return (None: until it does); 0 only
                looks.

        Returns:
            True when a commit was collected (committed or aborted).

        Raises:
            ProducerFencedError: this instance was fenced; it must stop.
            TransactionStalledError: a commit or abort never completed; it must stop.
        """
        flight = self._flight
        if flight is None:
            return False
        finished, error = self._worker.wait(wait)
        if not finished:
            return False
        if error is None:
            self._finish(flight, stores)
        else:
            self._abort(flight, error, stores)
            if not isinstance(error, KafkaException):
                raise error  # not a failed commit but a bug: stop, after the abort
        return True

    def abort(self, cause: Exception, stores: dict[int, PartitionStore]) -> None:
        """Aborts the open transaction and rewinds the consumer to the committed positions.

        A commit in flight is awaited first: if it committed, it is kept (step 4); if not, it
        is aborted together with the open transaction.

        Raises:
            ProducerFencedError: this instance was fenced; it must stop.
            TransactionStalledError: a commit or abort never completed; it must stop.
        """
        flight = self._flight
        if flight is not None:
            _, error = self._worker.wait()
            if error is None:
                self._finish(flight, stores)
            else:
                self._abort(flight, error, stores)
                return
        self._abort(None, cause, stores)

    def close(self) -> None:
        """Lets a commit in flight end, then flushes every producer."""
        self._worker.close(TIMEOUT_S)
        for producer in [*self._producers, self._acks, self._backup_acks]:
            producer.flush(5)
        self._datagrams.close()

    def group_changed(self) -> None:
        """The consumer's group membership may have changed (an assignment, a revocation, a
        loss): the next commit reads the group metadata again."""
        self._group_metadata = None

    def _current_group_metadata(self) -> Any:
        """The group metadata sent with the input positions (step 2).

        Read from the consumer once per generation rather than at every commit: the read is a
        round trip to librdkafka's main thread with the GIL held. Only a rebalance changes the
        generation, and `group_changed` (called from every rebalance callback) and every abort
        drop the copy. A copy older than the group is only ever refused by the coordinator,
        never accepted, so fencing holds (invariant 3); that abort drops it.
        """
        if self._group_metadata is None:
            self._group_metadata = self._consumer.consumer_group_metadata()
        return self._group_metadata

    def _send(self, flight: _Flight) -> None:
        """Steps 1-3 and the acknowledgements, on the worker thread."""
        producer = flight.producer
        producer.begin_transaction()
        flight.began = True
        # Step 1: the outputs, produced together; they may still be in flight in step 2.
        changelog = self._config.changelog_topic
        on_changelog = partial(on_changelog_delivery, flight.changelog_offsets)
        for topic, key, value, partition in flight.outputs:
            on_delivery = on_changelog if topic == changelog else None
            produce_to(producer, topic, key, value, partition, on_delivery)
        # Step 2: input positions join the transaction, checked against our generation.
        offsets = [TopicPartition(t, p, o) for (t, p), o in flight.positions.items()]
        if offsets:
            metadata = flight.group_metadata
            resume_while_retriable(
                lambda: producer.send_offsets_to_transaction(offsets, metadata, TIMEOUT_S),
                "sending the input positions",
            )
        # Step 3: outputs and offsets become visible together.
        committing = time.monotonic()
        resume_while_retriable(lambda: producer.commit_transaction(TIMEOUT_S), "the commit")
        metrics.transaction_committed(flight.opened, committing)
        with flight.lock:
            flight.committed = True
            acks = list(flight.after_commit)
        for record in acks:
            self._acknowledge(*record)
        producer.flush(TIMEOUT_S)  # serves the delivery reports: the changelog offsets

    def _finish(self, flight: _Flight, stores: dict[int, PartitionStore]) -> None:
        """Step 4 of a committed flight, on the loop's thread."""
        self._flight = None
        # Step 4: local state written with the offset of the changelog records it folds.
        for partition, state in flight.states.items():
            offset = flight.changelog_offsets.get(partition)
            if offset is None and not state.dirty:
                state.flush(NO_OFFSET)  # read-only in this transaction: nothing to write
                continue
            if offset is None:
                offset = stores[partition].applied_offset()
            state.flush(offset)
        for state in self.states.values():
            state.rebase()  # the store now holds what the open transaction read through
        self.committed.update(flight.positions)
        self.stats["commits"] += 1
        if flight.direct_received is not None and self.on_direct_committed is not None:
            if self._spilled:  # what was spilled before it counts as taken, once delivered
                self._acks.flush(TIMEOUT_S)
                self._spilled = False
            self.on_direct_committed(flight.direct_received)

    def _abort(
        self, flight: _Flight | None, cause: BaseException, stores: dict[int, PartitionStore]
    ) -> None:
        """Drops the flight (if any) and the open transaction; rewinds to the commit."""
        if self.on_abort is not None:
            self.on_abort()
        self._flight = None
        self._group_metadata = None  # refused for a stale generation? read it afresh
        dropped = [*(flight.states.values() if flight else ()), *self.states.values()]
        rewind = {**(flight.positions if flight else {}), **self._positions}
        spilled = [*(flight.direct if flight else ()), *self._direct]
        err = cause.args[0] if isinstance(cause, KafkaException) else None
        if isinstance(cause, TransactionStalledError):
            self._reset(dropped)
            raise cause  # no abort can follow a call still pending: the instance stops
        if isinstance(err, KafkaError) and err.fatal():
            self._reset(dropped)
            raise ProducerFencedError(f"transactional producer is fenced: {err}") from cause
        log.warning("aborting transaction: %s", cause)
        metrics.transaction_aborted()
        if flight is not None and flight.began:
            producer = flight.producer
            try:
                resume_while_retriable(lambda: producer.abort_transaction(TIMEOUT_S), "the abort")
            except KafkaException as exc:
                inner = exc.args[0]
                if isinstance(inner, KafkaError) and inner.fatal():
                    self._reset(dropped)
                    raise ProducerFencedError(f"transactional producer is fenced: {inner}") from exc
                log.warning("abort failed: %s", exc)
        self.stats["aborts"] += 1
        self._reset(dropped)
        for record in spilled:  # no position to rewind to: read again from the topic
            self.spill(record)
        for topic, partition in rewind:
            if partition in stores:
                offset = self.committed.get((topic, partition), OFFSET_BEGINNING)
                try:
                    self._consumer.seek(TopicPartition(topic, partition, offset))
                except KafkaException as exc:
                    log.warning("rewind of %s[%d] failed: %s", topic, partition, exc)

    def _open(self) -> None:
        if not self.is_open:
            self.is_open = True
            self._began = time.monotonic()

    def _acknowledge(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        partition: int | None,
        datagram: str | None,
    ) -> None:
        # The datagram first: it does not wait for the broker. Once it left, the Kafka copy
        # is the fallback and may wait for company (`streams.datagrams`).
        sent = datagram is not None and self._datagrams.send(value, datagram)
        try:
            produce_to(self._backup_acks if sent else self._acks, topic, key, value, partition)
        except KafkaException as exc:
            # Lost like an answer in a crash: the caller retries. Never a reason to stop.
            log.warning("acknowledgement to %s[%s] not sent: %s", topic, partition, exc)

    def _reset(self, discard: list[StateTransaction] | None = None) -> None:
        """A new, empty open transaction; `discard` lists state transactions to drop."""
        for state in discard or ():
            state.discard()
        self.states = {}
        self._positions = {}
        self._direct = []
        self.is_open = False
        self.inputs = 0
        self.uncommitted_since = None
        self.deferral = Deferral()
        self._outputs = []
        self._after_commit = []
