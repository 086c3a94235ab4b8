"""The transactional consume-process-produce loop shared by Strom's processors.

`StreamApp` runs a `Processor` over the input partitions its instance owns. Its seams:

- `streams.commit.Transactions`: the exactly-once commit protocol (written out, step by step,
  in that module's docstring), the transactional and acknowledgement producers.
- `streams.partitions.Partitions`: the life cycle of owned partitions (restore on assignment
  from the changelog, release on revocation or loss).
- This module: the loop itself (poll, process, punctuate, decide when to commit) and the
  `Context` through which a processor emits changelog records, outbox records and
  acknowledgements.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from confluent_kafka import Message

from streams import metrics
from streams.commit import Savepoint, Transactions
from streams.config import DIRECT_KAFKA_WAIT_S, StreamsConfig
from streams.connection import Consumer
from streams.direct import DirectInput, DirectRecord
from streams.exceptions import RejoinStalledError, StreamsError
from streams.partitions import Partitions
from streams.state.base import StateTransaction, Store
from streams.state.recovery import Restorer
from streams.throttle import ProduceThrottle

log = logging.getLogger(__name__)


class Processor(Protocol):
    """What a processor built on `StreamApp` implements. It must do no Kafka I/O itself."""

    def process(self, ctx: Context, record: Message) -> None:
        """Handles one input record of `ctx.partition`: a `Message` read from the input
        topic, or, when `ctx.direct`, a `streams.direct.DirectRecord` (no offset)."""

    def apply(self, state: StateTransaction, key: bytes | None, value: bytes | None) -> None:
        """Folds one changelog record (None: a tombstone) into state, live and on restore."""

    def punctuate(self, ctx: Context, now_ms: int) -> None:
        """Time-driven work of one owned partition (timers); called periodically.

        A processor may also define ``next_punctuate_ms(owned: set[int]) -> int | None``: the
        epoch ms at which it next has time-driven work (None: nothing known). The loop then
        punctuates as soon as that time comes instead of waiting for the next period.

        It may also define ``aborted() -> None``: called when a transaction aborts (its
        inputs are then processed again), for memory decided on the state it drops.

        It may also define ``hand_over(ctx: Context) -> None``: called for an owned partition
        this instance gives up (revoked, lost, or the instance stops), once its open work has
        committed (or aborted). It answers the callers still waiting on the partition through
        `ctx.send_after_commit` instead of leaving them to their timeouts.
        """

    def reject(self, ctx: Context, record: Message, error: Exception) -> None:
        """Handles an input whose `process` raised, after its effects were rolled back.

        The input's position still commits with the transaction, so one poison input cannot
        stop the partition. Write it to a dead-letter topic and answer its caller through
        `ctx`; raise only to stop the application (the input is then processed again).
        """


class Context:
    """The processor's handle on one partition within the open transaction."""

    def __init__(
        self, app: StreamApp, partition: int, state: StateTransaction, direct: bool = False
    ) -> None:
        self._app = app
        self.partition = partition
        self.state = state
        self.deferred = False
        self.direct = direct
        """The input being processed came directly (`streams.direct`), not from its topic."""

    def defer_commit(self) -> None:
        """Says that nobody waits for the effects of the input being processed.

        Its transaction may then wait up to `deferred_commit_ms` for more input before it
        commits; an input that somebody waits for commits it at once. An acknowledgement
        sent (`send_after_commit`) while this input is processed still goes without delay.
        """
        self.deferred = True

    def emit(self, key: bytes | None, value: bytes | None) -> None:
        """Appends a changelog record (None: a tombstone) to this partition and folds it."""
        self._app.transactions.produce(self._app.config.changelog_topic, key, value, self.partition)
        self._app.processor.apply(self.state, key, value)

    def send(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        partition: int | None = None,
    ) -> None:
        """Produces an outbox record within the transaction."""
        self._app.transactions.produce(topic, key, value, partition)

    def savepoint(self) -> Savepoint:
        """A mark of the transaction; `rollback_to` drops what came after it."""
        return self._app.transactions.savepoint()

    def rollback_to(self, savepoint: Savepoint) -> None:
        """Drops the outputs, acknowledgements and state changes made after `savepoint`."""
        self._app.transactions.rollback_to(savepoint)

    def send_after_commit(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        partition: int | None = None,
        datagram: str | None = None,
    ) -> None:
        """Produces a record outside the transaction, once everything seen so far is committed.

        For acknowledgements only: the record is lost if the process dies before the commit
        completes, and nothing may depend on it but the caller it answers. With `datagram`
        ("host:port") it is also sent there as a UDP datagram (`streams.datagrams`).
        """
        self._app.transactions.send_after_commit(topic, key, value, partition, datagram)


class StreamApp:
    """Runs one processor over the input partitions this instance owns, exactly once.

    Life cycle: `run()` blocks until `stop()`; partitions are restored when assigned and
    closed when revoked or lost. A fenced producer ends `run()` with ProducerFencedError.
    """

    def __init__(self, config: StreamsConfig, processor: Processor, store: Store) -> None:
        self.config = config
        self.processor = processor
        self._stop = threading.Event()
        self._last_punctuate = 0.0
        self._records = 0
        self._throttle = ProduceThrottle(config.max_produce_records_per_second, time.monotonic())
        self._throttled_until = 0.0
        self._direct: DirectInput | None = None
        if config.direct_host is not None:
            self._direct = DirectInput(config.direct_host)
        advertised = self._direct.address if self._direct is not None else None
        self._consumer = Consumer(config.consumer_settings(advertised))
        self.transactions = Transactions(config, self._consumer)
        self.transactions.on_abort = getattr(processor, "aborted", None)
        if self._direct is not None:
            self.transactions.direct_received = self._direct.received
            self.transactions.on_direct_committed = self._direct.acknowledge
        restorer = Restorer(config.restore_consumer_settings(), config.changelog_topic)
        self._restorer = restorer
        self.partitions = Partitions(
            store,
            restorer,
            self.transactions,
            processor.apply,
            config.state_format,
            incremental=config.incremental_rebalance,
        )
        self.partitions.on_hand_over = self._hand_over

    @property
    def on_partitions_changed(self) -> Callable[[set[int]], None] | None:
        """Called with the owned partition numbers after every assignment change."""
        return self.partitions.on_changed

    @on_partitions_changed.setter
    def on_partitions_changed(self, callback: Callable[[set[int]], None] | None) -> None:
        self.partitions.on_changed = callback

    @property
    def owned_partitions(self) -> set[int]:
        """Partition numbers this instance currently owns."""
        return self.partitions.owned

    @property
    def stats(self) -> dict[str, int]:
        """Counters: commits, aborts, input records processed, changelog records restored."""
        return {
            **self.transactions.stats,
            "records": self._records,
            "restored": self.partitions.restored_records,
        }

    def stop(self) -> None:
        """Asks `run()` to finish its transaction and return."""
        self._stop.set()

    def run(self) -> None:
        """Consumes, processes and commits until `stop()` is called."""
        self.transactions.init()
        self._consumer.subscribe(
            list(self.config.input_topics),
            on_assign=self.partitions.on_assign,
            on_revoke=self.partitions.on_revoke,
            on_lost=self.partitions.on_lost,
        )
        try:
            while not self._stop.is_set():
                self._run_once()
            if self.transactions.uncommitted:
                self.transactions.commit(self.partitions.stores)
            # Stopping hands every partition over: waiting callers are answered now, before
            # the consumer leaves the group, rather than time out.
            for partition in sorted(self.partitions.stores):
                self._hand_over(partition)
        finally:
            self._close()

    def _hand_over(self, partition: int) -> None:
        hand_over = getattr(self.processor, "hand_over", None)
        if hand_over is not None:
            hand_over(self._context(partition))

    def _run_once(self) -> None:
        self._check_membership()
        self.transactions.poll_acks()
        self.transactions.reap(self.partitions.stores)  # a commit that landed: step 4
        self.partitions.restore_step(self._consumer, self.config.restore_batch_records)
        records: list[Message | DirectRecord] = []
        if not self._throttled():
            records.extend(self._poll())
            records.extend(self._drain_direct())
        outputs_before = self.transactions.pending_outputs
        for record in records:
            self._process(record)
            if self._wake_due():  # a due timer must not wait for the rest of a long batch
                self._punctuate()
        now = time.monotonic()
        period_over = (now - self._last_punctuate) * 1000 >= self.config.punctuate_interval_ms
        if period_over or self._wake_due():
            self._punctuate()
        # Charged as produced, not at commit: with a commit in flight the open transaction
        # keeps taking input, and a charge at its commit would come after the whole burst.
        produced = self.transactions.pending_outputs - outputs_before
        wait = self._throttle.charge(produced, now)
        self._throttled_until = max(self._throttled_until, now + wait)
        if self._due_for_commit(bool(records), now):
            self._commit()

    def _check_membership(self) -> None:
        """Stops the instance when its consumer lost its partitions and never rejoined.

        Raises:
            RejoinStalledError: no assignment came within `rejoin_patience_s` of the loss.
        """
        lost_since = self.partitions.lost_since
        if lost_since is None:
            return
        waited = time.monotonic() - lost_since
        if waited > self.config.rejoin_patience_s:
            raise RejoinStalledError(
                f"partitions lost {waited:.0f}s ago and the consumer has not rejoined group "
                f"{self.config.app_id}; stopping so that a fresh instance joins"
            )

    def _commit(self) -> None:
        """Commits the open transaction: at once, or pipelined behind the one in flight."""
        txn, stores = self.transactions, self.partitions.stores
        if not self.config.pipelined_commits:
            txn.commit(stores)
        else:
            if txn.in_flight and not txn.reap(stores):
                if txn.inputs < self.config.max_batch_records:
                    return  # it starts once the commit in flight has landed
                txn.reap(stores, wait=None)  # a full batch: stop taking input until it lands
            # Asked again: the state read through the landed commit no longer counts as a
            # change, and an abort of that commit dropped the open transaction with it.
            if not self._due_for_commit(True, time.monotonic()):
                return
            txn.start_commit(stores)

    def _throttled(self) -> bool:
        """Over the produce-rate limit: waits a little instead of polling input, so acks,
        timers and commits go on while the debt is paid."""
        wait = self._throttled_until - time.monotonic()
        if wait <= 0:
            return False
        self._stop.wait(min(wait, self.config.poll_timeout_s))
        return True

    def _punctuate(self) -> None:
        self._last_punctuate = time.monotonic()
        savepoint = self.transactions.savepoint()
        for partition in sorted(self.partitions.stores):
            self.processor.punctuate(self._context(partition), int(time.time() * 1000))
        if self.transactions.changed_since(savepoint):
            self.transactions.deferral.hurry()  # what timers decide is due now

    def _deferral_left_s(self) -> float | None:
        """Seconds the open transaction may still wait for more input (None: no deferral)."""
        return self.transactions.deferral.left_s(self.config.deferred_commit_ms)

    def _wake_at_ms(self) -> int | None:
        """When the processor next has time-driven work (epoch ms), if it says."""
        hint = getattr(self.processor, "next_punctuate_ms", None)
        return hint(self.partitions.owned) if hint is not None else None

    def _wake_due(self) -> bool:
        wake = self._wake_at_ms()
        return wake is not None and wake <= time.time() * 1000

    def _due_for_commit(self, polled: bool, now: float) -> bool:
        txn = self.transactions
        deferral = self._deferral_left_s()
        if deferral and txn.inputs < self.config.max_batch_records:
            return False  # nobody waits for what it holds: it waits for company
        if txn.is_open:
            if self.config.pipelined_commits and self.config.commit_when_idle:
                # Group commit: whatever gathered while the last commit flew goes at once.
                return True
            return (
                (not polled and self.config.commit_when_idle)
                or txn.inputs >= self.config.max_batch_records
                or txn.open_ms >= self.config.max_batch_ms
            )
        if any(s.dirty for s in txn.states.values()):
            return True  # state changed without output (timers): no reason to wait
        if txn.uncommitted_since is None:
            return False
        return (now - txn.uncommitted_since) * 1000 >= self.config.offsets_commit_interval_ms

    def _poll(self) -> list[Message]:
        # With a transaction open, only drain what has already arrived: an empty drain means
        # the input is idle, and the transaction commits at once instead of waiting for more.
        # When idle, poll() waits for the first record and consume(n, 0) drains the rest,
        # because consume(n, timeout) would wait out the whole timeout to fill n.
        txn = self.transactions
        wake = self._wake_at_ms()
        until_wake = None if wake is None else max(0.0, (wake - time.time() * 1000) / 1000)
        if txn.in_flight:
            # Nothing decided now becomes visible before the commit in flight: wait for it to
            # land (the next one then starts at once) rather than poll, at most until a timer
            # is due, then take what arrived meanwhile.
            wait = self.config.in_flight_wait_ms / 1000
            txn.reap(self.partitions.stores, wait if until_wake is None else min(wait, until_wake))
            return self._consumer.consume(self._batch_limit(), 0)
        deferral = self._deferral_left_s()
        if txn.is_open and self.config.commit_when_idle and deferral is None:
            return self._consumer.consume(self._batch_limit(), 0)
        timeout = self.config.poll_timeout_s
        if until_wake is not None:  # wake up when the processor's next timer is due
            timeout = min(timeout, until_wake)
        if deferral is not None:  # a deferred transaction commits when its wait is over
            timeout = min(timeout, deferral)
        if self._direct is not None:
            # A Kafka poll cannot be woken by a direct input: wait on the connections instead.
            records = self._consumer.consume(self._batch_limit(), 0)
            if records:
                return records
            self._direct.wait(min(timeout, DIRECT_KAFKA_WAIT_S))
            return self._consumer.consume(self._batch_limit(), 0)
        first = self._consumer.poll(timeout)
        if first is None:
            return []
        more = self._batch_limit() - 1
        rest = self._consumer.consume(more, 0) if more > 0 else []
        return [first, *rest]

    def _batch_limit(self) -> int:
        """Inputs to take in one poll: a batch, fewer when the produce-rate limit is near."""
        return self._throttle.allowance(self.config.max_batch_records, time.monotonic())

    def _drain_direct(self) -> list[DirectRecord]:
        """The direct inputs that arrived, as records of the first input topic."""
        if self._direct is None:
            return []
        topic = self.config.input_topics[0]
        return [DirectRecord(topic, p, key, value) for p, key, value in self._direct.drain()]

    def _process_direct(self, record: DirectRecord) -> None:
        partition = record.partition()
        if partition not in self.partitions.stores:
            # Not ours (the caller's map of owners is stale), or not readable yet: its topic
            # partition takes it to whoever owns it once the state is restored.
            self.transactions.spill(record)
            return
        ctx = self._context(partition, direct=True)
        txn = self.transactions
        savepoint = txn.savepoint()
        self._decide(ctx, record, savepoint)
        txn.consumed_direct(record, txn.changed_since(savepoint))
        self._records += 1
        metrics.direct_input("processed")

    def _decide(self, ctx: Context, record: Message | DirectRecord, savepoint: Savepoint) -> None:
        """Processes one input within the open transaction (a failing one is rejected)."""
        txn = self.transactions
        try:
            self.processor.process(ctx, record)  # type: ignore[arg-type]
        except Exception as exc:  # a poison input must not stop the partition
            log.exception(
                "input %s[%d]@%s failed; rejecting it",
                record.topic(), record.partition(), record.offset(),
            )  # fmt: skip
            txn.rollback_to(savepoint)
            ctx.deferred = False
            self.processor.reject(ctx, record, exc)  # type: ignore[arg-type]
        if ctx.deferred and not txn.replied_since(savepoint):
            if txn.changed_since(savepoint):
                txn.deferral.defer()
        elif txn.changed_since(savepoint):
            txn.deferral.hurry()

    def _process(self, record: Message | DirectRecord) -> None:
        if isinstance(record, DirectRecord):
            self._process_direct(record)
            return
        err = record.error()
        if err is not None:
            if err.fatal():
                raise StreamsError(f"consumer failed: {err}")
            log.warning("consumer error: %s", err)
            return
        topic, partition, offset = record.topic(), record.partition(), record.offset()
        assert topic is not None and partition is not None and offset is not None
        if partition not in self.partitions.stores:
            return  # fetched before its partition was revoked
        ctx = self._context(partition)
        txn = self.transactions
        savepoint = txn.savepoint()
        self._decide(ctx, record, savepoint)
        txn.consumed(topic, partition, offset)
        self._records += 1

    def _context(self, partition: int, direct: bool = False) -> Context:
        state = self.transactions.state(partition, self.partitions.stores[partition])
        return Context(self, partition, state, direct)

    def _close(self) -> None:
        try:
            if self._direct is not None:
                self._direct.close()  # callers produce what they still wait for
            self._consumer.close()
        finally:
            self._restorer.close()
            self.partitions.close()
            self.transactions.close()
