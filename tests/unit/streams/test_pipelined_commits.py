"""Pipelined commits without a broker: `Transactions` over stand-in producers and consumer.

The stand-in producer's `commit_transaction` blocks until the test lets it return (or fail),
so each test can act while a commit is in flight and check what leaves, and when.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

import streams.app
import streams.commit
import streams.datagrams
from streams import Context, MemoryStore, StateTransaction, StreamApp, StreamsConfig
from streams.commit import Transactions
from streams.exceptions import InvalidStateError, ProducerFencedError, TransactionStalledError
from streams.state.base import PartitionStore, TransactionStatus

CHANGELOG, INPUT, OUT, ACKS = "log", "in", "out", "acks"


class _Message:
    def __init__(self, partition: int, offset: int, value: bytes = b"", topic: str = "") -> None:
        self._partition, self._offset, self._value, self._topic = partition, offset, value, topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def topic(self) -> str:
        return self._topic

    def key(self) -> bytes:
        return b"count"

    def value(self) -> bytes:
        return self._value

    def error(self) -> None:
        return None

    def latency(self) -> float:
        return 0.001  # produce-to-acknowledgement seconds, as librdkafka's Message reports


class _Broker:
    """What the stand-ins did, in order, and the gate of the next commits."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.generation = 1  # the consumer group's, as the stand-in consumer reports it
        self.generation_reads = 0
        self.visible: list[tuple[str, bytes]] = []  # records of committed transactions
        self.acks: list[bytes] = []
        self.gate = threading.Semaphore(0)  # one release lets one commit return
        self.fail_next: KafkaException | None = None
        self.stalled = False  # every commit times out at once, as against a frozen broker
        self.offsets = 0
        self.lock = threading.Lock()

    def log(self, call: str, arg: Any = None) -> None:
        with self.lock:
            self.calls.append((call, arg))


class _Producer:
    def __init__(self, broker: _Broker, settings: dict[str, Any]) -> None:
        self._broker = broker
        self._tid = settings.get("transactional.id")
        self._pending: list[tuple[str, bytes, int | None, Any]] = []

    def init_transactions(self, timeout: float) -> None:
        return

    def begin_transaction(self) -> None:
        self._broker.log("begin", self._tid)

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        partition: int | None = None,
        on_delivery: Any = None,
    ) -> None:
        if self._tid is None:  # the acknowledgement producer
            self._broker.acks.append(value)
            return
        self._pending.append((topic, value, partition, on_delivery))

    def send_offsets_to_transaction(
        self, offsets: list[TopicPartition], meta: Any, t: float
    ) -> None:
        self._broker.log("offsets", [(tp.partition, tp.offset) for tp in offsets])
        self._broker.log("metadata", meta)

    def commit_transaction(self, timeout: float) -> None:
        self._broker.log("commit", self._tid)
        if self._broker.stalled:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "stalled", retriable=True))
        assert self._broker.gate.acquire(timeout=5), "the test never let the commit return"
        failure, self._broker.fail_next = self._broker.fail_next, None
        if failure is not None:
            raise failure
        for topic, value, partition, on_delivery in self._pending:
            self._broker.visible.append((topic, value))
            if on_delivery is not None:
                self._broker.offsets += 1
                on_delivery(None, _Message(partition or 0, self._broker.offsets))
        self._pending = []
        self._broker.log("committed", self._tid)

    def abort_transaction(self, timeout: float) -> None:
        self._pending = []
        self._broker.log("abort", self._tid)

    def flush(self, timeout: float = 0) -> int:
        return 0

    def poll(self, timeout: float = 0) -> int:
        return 0


class _Consumer:
    def __init__(self, broker: _Broker) -> None:
        self._broker = broker
        self.waiting: list[_Message] = []  # input records the next poll or consume returns

    def poll(self, timeout: float) -> _Message | None:
        return self.waiting.pop(0) if self.waiting else None

    def consume(self, count: int, timeout: float) -> list[_Message]:
        taken, self.waiting = self.waiting[:count], self.waiting[count:]
        return taken

    def consumer_group_metadata(self) -> str:
        self._broker.generation_reads += 1
        return f"generation-{self._broker.generation}"

    def seek(self, tp: TopicPartition) -> None:
        self._broker.log("seek", (tp.partition, tp.offset))


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> _Broker:
    made = _Broker()
    monkeypatch.setattr(streams.commit, "Producer", lambda settings: _Producer(made, settings))
    return made


@pytest.fixture
def txns(broker: _Broker, tmp_path: Path) -> Iterator[Transactions]:
    config = StreamsConfig("unused:9092", "app", "i", (INPUT,), CHANGELOG, tmp_path)
    transactions = Transactions(config, _Consumer(broker))  # type: ignore[arg-type]
    transactions.init()
    transactions.committed[(INPUT, 0)] = 10
    yield transactions
    for _ in range(4):
        broker.gate.release()  # a test that failed mid-flight must not leave the worker waiting
    transactions.close()


@pytest.fixture
def stores() -> dict[int, PartitionStore]:
    store = MemoryStore().open_partition(0)
    store.write({b"count": b"0"}, 0)
    return {0: store}


def _input(txns: Transactions, stores: dict[int, PartitionStore], offset: int, n: bytes) -> None:
    """One input: state change, changelog record, outbox record and reply, as a processor does."""
    state = txns.state(0, stores[0])
    state.put(b"count", n)
    txns.produce(CHANGELOG, b"count", n, 0)
    txns.produce(OUT, None, b"out-" + n, None)
    txns.send_after_commit(ACKS, None, b"ack-" + n, 0)
    txns.consumed(INPUT, 0, offset)


def _wait_for(broker: _Broker, call: str, count: int = 1) -> None:
    for _ in range(500):
        if sum(1 for c, _ in broker.calls if c == call) >= count:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"{call!r} x{count} never happened: {broker.calls}")


def test_the_next_inputs_are_decided_on_the_state_in_flight_and_commit_after_it(
    broker: _Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    _input(txns, stores, 10, b"1")
    txns.start_commit(stores)
    _wait_for(broker, "commit")
    # The loop goes on while the commit flies: the next input sees the uncommitted count.
    assert txns.state(0, stores[0]).get(b"count") == b"1"
    _input(txns, stores, 11, b"2")
    assert stores[0].get(b"count") == b"0", "nothing reaches RocksDB before its commit"
    assert broker.acks == [] and broker.visible == []
    with pytest.raises(InvalidStateError):
        txns.start_commit(stores)  # the next transaction begins only after this commit
    assert not txns.reap(stores), "still in flight"
    assert [c for c, _ in broker.calls].count("begin") == 1, "the second has not begun"
    broker.gate.release()
    assert txns.reap(stores, wait=None)
    assert broker.acks == [b"ack-1"], "only the committed input is answered"
    assert stores[0].get(b"count") == b"1" and stores[0].applied_offset() == 1
    assert txns.committed[(INPUT, 0)] == 11
    # The open transaction now reads the store directly and commits on the other producer.
    txns.start_commit(stores)
    broker.gate.release()
    assert txns.reap(stores, wait=None)
    assert broker.acks == [b"ack-1", b"ack-2"]
    assert stores[0].get(b"count") == b"2" and stores[0].applied_offset() == 2
    assert txns.committed[(INPUT, 0)] == 12
    begins = [arg for c, arg in broker.calls if c == "begin"]
    assert begins == ["app-i", "app-i.1"], "transactions take turns over the producers"
    order = [c for c, _ in broker.calls if c in ("begin", "committed")]
    assert order == ["begin", "committed", "begin", "committed"]
    assert broker.visible == [
        (CHANGELOG, b"1"),
        (OUT, b"out-1"),
        (CHANGELOG, b"2"),
        (OUT, b"out-2"),
    ]


def test_a_reply_sent_while_a_commit_flies_waits_for_that_commit(
    broker: _Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    _input(txns, stores, 10, b"1")
    txns.start_commit(stores)
    _wait_for(broker, "commit")
    # A read that produces nothing, answered from the state the flying commit wrote.
    assert txns.state(0, stores[0]).get(b"count") == b"1"
    txns.send_after_commit(ACKS, None, b"read-1", 0)
    txns.consumed(INPUT, 0, 11)
    assert broker.acks == []
    broker.gate.release()
    txns.reap(stores, wait=None)
    assert broker.acks == [b"ack-1", b"read-1"]
    # Once nothing is in flight and nothing open has output, a read is answered at once.
    txns.send_after_commit(ACKS, None, b"read-2", 0)
    assert broker.acks[-1] == b"read-2"


def test_a_failed_commit_drops_the_inputs_decided_on_it_and_rewinds(
    broker: _Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    _input(txns, stores, 10, b"1")
    first = txns.states[0]
    txns.start_commit(stores)
    _wait_for(broker, "commit")
    _input(txns, stores, 11, b"2")
    second = txns.states[0]
    broker.fail_next = KafkaException(
        KafkaError(KafkaError._TIMED_OUT, "broker went away", txn_requires_abort=True)
    )
    broker.gate.release()
    assert txns.reap(stores, wait=None)
    assert broker.acks == [] and broker.visible == [], "no reply, no output of either"
    assert ("abort", "app-i") in broker.calls
    assert ("seek", (0, 10)) in broker.calls, "rewound to the last committed position"
    assert first.status is second.status is TransactionStatus.DISCARDED
    assert stores[0].get(b"count") == b"0" and stores[0].applied_offset() == 0
    assert not txns.uncommitted and txns.stats == {"commits": 0, "aborts": 1}
    # The same inputs are processed again, from the committed state.
    assert txns.state(0, stores[0]).get(b"count") == b"0"
    _input(txns, stores, 10, b"1")
    txns.start_commit(stores)
    broker.gate.release()
    txns.reap(stores, wait=None)
    assert broker.acks == [b"ack-1"] and stores[0].get(b"count") == b"1"


def test_a_commit_that_timed_out_is_resumed_not_aborted(
    broker: _Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    # librdkafka goes on with a timed-out commit in the background; an abort in its place
    # would fail with a conflict and leave a commit the broker may still complete.
    _input(txns, stores, 10, b"1")
    txns.start_commit(stores)
    broker.fail_next = KafkaException(
        KafkaError(KafkaError._TIMED_OUT, "broker stalled", retriable=True)
    )
    broker.gate.release()
    _wait_for(broker, "commit", 2)
    broker.gate.release()
    assert txns.reap(stores, wait=None)
    assert [c for c, _ in broker.calls if c in ("commit", "abort", "committed")] == [
        "commit",
        "commit",
        "committed",
    ]
    assert broker.acks == [b"ack-1"] and stores[0].get(b"count") == b"1"
    assert txns.stats == {"commits": 1, "aborts": 0}


def test_a_commit_that_never_completes_stops_the_instance_without_an_abort(
    broker: _Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    _input(txns, stores, 10, b"1")
    broker.stalled = True
    txns.start_commit(stores)
    with pytest.raises(TransactionStalledError, match="the commit did not complete in 4"):
        txns.reap(stores, wait=None)
    commits = [c for c, _ in broker.calls if c == "commit"]
    assert len(commits) == streams.commit.RESUME_LIMIT
    assert ("abort", "app-i") not in broker.calls
    assert broker.acks == [] and stores[0].get(b"count") == b"0"


def test_a_fenced_commit_stops_the_instance(
    broker: _Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    _input(txns, stores, 10, b"1")
    txns.start_commit(stores)
    _input(txns, stores, 11, b"2")
    broker.fail_next = KafkaException(KafkaError(KafkaError._FENCED, "fenced", fatal=True))
    broker.gate.release()
    with pytest.raises(ProducerFencedError):
        txns.reap(stores, wait=None)
    assert broker.acks == [] and stores[0].get(b"count") == b"0"


def test_losing_the_partitions_keeps_a_commit_that_landed_and_drops_the_open_one(
    broker: _Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    _input(txns, stores, 10, b"1")
    txns.start_commit(stores)
    _input(txns, stores, 11, b"2")
    broker.gate.release()  # the flight commits, but the loop has not collected it yet
    txns.abort(RuntimeError("partitions lost"), stores)
    assert broker.acks == [b"ack-1"]
    assert stores[0].get(b"count") == b"1" and txns.committed[(INPUT, 0)] == 11
    assert ("seek", (0, 11)) in broker.calls
    assert not txns.uncommitted and txns.stats == {"commits": 1, "aborts": 1}


def test_a_synchronous_commit_settles_the_one_in_flight_first(
    broker: _Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    _input(txns, stores, 10, b"1")
    txns.start_commit(stores)
    _input(txns, stores, 11, b"2")
    broker.gate.release()
    broker.gate.release()
    txns.commit(stores)  # as a graceful hand-over does
    assert not txns.in_flight and not txns.uncommitted
    assert broker.acks == [b"ack-1", b"ack-2"] and stores[0].get(b"count") == b"2"
    assert txns.committed[(INPUT, 0)] == 12


class _Counter:
    """A processor: counts inputs, answers each after its commit, and has one timer."""

    def __init__(self) -> None:
        self.timer_at_ms: int | None = None
        self.fired_while: list[bool] = []  # per timer round: was a commit in flight?
        self.app: StreamApp | None = None

    def process(self, ctx: Context, record: Any) -> None:
        count = int(ctx.state.get(b"count") or b"0") + 1
        ctx.emit(b"count", str(count).encode())
        ctx.send_after_commit(ACKS, record.value())

    def apply(self, state: StateTransaction, key: bytes | None, value: bytes | None) -> None:
        assert key is not None and value is not None
        state.put(key, value)

    def next_punctuate_ms(self, owned: set[int]) -> int | None:
        return self.timer_at_ms

    def punctuate(self, ctx: Context, now_ms: int) -> None:
        if self.timer_at_ms is None or self.timer_at_ms > now_ms:
            return
        assert self.app is not None
        self.fired_while.append(self.app.transactions.in_flight)
        self.timer_at_ms = None
        count = int(ctx.state.get(b"count") or b"0")
        ctx.emit(b"count", str(count + 100).encode())

    def reject(self, ctx: Context, record: Any, error: Exception) -> None:
        raise error


def test_the_loop_fires_a_due_timer_while_a_commit_is_in_flight(
    broker: _Broker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    consumer = _Consumer(broker)
    monkeypatch.setattr(streams.app, "Consumer", lambda settings: consumer)
    monkeypatch.setattr(streams.app, "Restorer", lambda settings, topic: _NoRestorer())
    config = StreamsConfig("unused:9092", "app", "i", (INPUT,), CHANGELOG, tmp_path)
    counter = _Counter()
    app = StreamApp(config, counter, MemoryStore())
    counter.app = app
    app.transactions.init()
    store = MemoryStore().open_partition(0)
    app.partitions.stores[0] = store
    app.transactions.committed[(INPUT, 0)] = 0
    try:
        consumer.waiting = [_Message(0, 0, b"input-0", INPUT)]
        app._run_once()  # processed, and its commit starts at once
        _wait_for(broker, "commit")
        assert app.transactions.in_flight and broker.acks == []
        counter.timer_at_ms = int(time.time() * 1000)  # a timer comes due meanwhile
        consumer.waiting = [_Message(0, 1, b"input-1", INPUT)]
        app._run_once()
        assert counter.fired_while == [True], "fired without waiting for the commit"
        # Both decided on the uncommitted count; nothing of them is visible yet.
        assert app.transactions.state(0, store).get(b"count") == b"102"
        assert broker.acks == [] and store.get(b"count") is None
        broker.gate.release()
        # The first commit lands: step 4 and its reply, then the second begins.
        _spin(app, lambda: sum(c == "begin" for c, _ in broker.calls) == 2)
        assert broker.acks == [b"input-0"] and store.get(b"count") == b"1"
        broker.gate.release()
        _spin(app, lambda: not app.transactions.in_flight)
        assert broker.acks == [b"input-0", b"input-1"] and store.get(b"count") == b"102"
        assert app.transactions.committed[(INPUT, 0)] == 2
        assert not app.transactions.uncommitted
    finally:
        for _ in range(4):
            broker.gate.release()
        app.transactions.close()


def _spin(app: StreamApp, done: Callable[[], bool]) -> None:
    """Runs the loop until `done` (the commit worker lands in its own time)."""
    deadline = time.monotonic() + 5
    while not done():
        assert time.monotonic() < deadline, "the loop never got there"
        app._run_once()


class _NoRestorer:
    def close(self) -> None:
        return


def _metadata_sent(broker: _Broker) -> list[Any]:
    return [arg for call, arg in broker.calls if call == "metadata"]


def test_the_group_metadata_is_read_once_per_generation_and_again_after_a_change_or_abort(
    broker: _Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    for offset in (10, 11):
        _input(txns, stores, offset, str(offset).encode())
        broker.gate.release()
        txns.commit(stores)
    assert broker.generation_reads == 1, "not read again while the group is unchanged"
    broker.generation = 2
    txns.group_changed()  # a rebalance callback
    _input(txns, stores, 12, b"12")
    broker.gate.release()
    txns.commit(stores)
    assert broker.generation_reads == 2
    assert _metadata_sent(broker) == ["generation-1", "generation-1", "generation-2"]
    # A commit refused (e.g. for a stale generation) drops the copy with the transaction.
    broker.generation = 3
    _input(txns, stores, 13, b"13")
    broker.fail_next = KafkaException(
        KafkaError(KafkaError._TIMED_OUT, "refused", txn_requires_abort=True)
    )
    broker.gate.release()
    txns.commit(stores)
    _input(txns, stores, 13, b"13")
    broker.gate.release()
    txns.commit(stores)
    assert _metadata_sent(broker)[-1] == "generation-3"


class _Deferring(_Counter):
    """A processor whose "quiet" inputs nobody waits for (`defer_commit`); "quiet-ack" ones
    ask for deferral but are answered all the same."""

    def process(self, ctx: Context, record: Any) -> None:
        value: bytes = record.value()
        if not value.startswith(b"quiet"):
            super().process(ctx, record)
            return
        ctx.defer_commit()
        count = int(ctx.state.get(b"count") or b"0") + 1
        ctx.emit(b"count", str(count).encode())
        if value == b"quiet-ack":
            ctx.send_after_commit(ACKS, value)


@pytest.fixture
def deferring_app(
    broker: _Broker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[StreamApp, _Consumer]]:
    consumer = _Consumer(broker)
    monkeypatch.setattr(streams.app, "Consumer", lambda settings: consumer)
    monkeypatch.setattr(streams.app, "Restorer", lambda settings, topic: _NoRestorer())
    config = StreamsConfig(
        "unused:9092", "app", "i", (INPUT,), CHANGELOG, tmp_path, deferred_commit_ms=300
    )
    app = StreamApp(config, _Deferring(), MemoryStore())
    app.transactions.init()
    app.partitions.stores[0] = MemoryStore().open_partition(0)
    app.transactions.committed[(INPUT, 0)] = 0
    yield app, consumer
    for _ in range(4):
        broker.gate.release()
    app.transactions.close()


def _begins(broker: _Broker) -> int:
    return sum(1 for call, _ in broker.calls if call == "begin")


def test_a_deferred_input_rides_in_the_transaction_of_the_next_answered_one(
    broker: _Broker, deferring_app: tuple[StreamApp, _Consumer]
) -> None:
    app, consumer = deferring_app
    consumer.waiting = [_Message(0, 0, b"quiet", INPUT)]
    app._run_once()
    app._run_once()  # idle: a transaction nobody waits for is not committed yet
    assert _begins(broker) == 0 and app.transactions.uncommitted
    consumer.waiting = [_Message(0, 1, b"answered", INPUT)]
    app._run_once()
    _wait_for(broker, "commit")
    broker.gate.release()
    _spin(app, lambda: not app.transactions.in_flight)
    assert _begins(broker) == 1, "both inputs committed in one transaction"
    assert broker.visible == [(CHANGELOG, b"1"), (CHANGELOG, b"2")]
    assert broker.acks == [b"answered"]
    assert app.transactions.committed[(INPUT, 0)] == 2


def test_a_deferred_input_alone_commits_once_its_wait_is_over(
    broker: _Broker, deferring_app: tuple[StreamApp, _Consumer]
) -> None:
    app, consumer = deferring_app
    began = time.monotonic()
    consumer.waiting = [_Message(0, 0, b"quiet", INPUT)]
    app._run_once()
    _spin(app, lambda: _begins(broker) == 1)
    waited = time.monotonic() - began
    assert 0.3 <= waited < 3, f"committed after {waited:.3f} s, not after the 0.3 s wait"
    broker.gate.release()
    _spin(app, lambda: not app.transactions.in_flight)
    assert broker.visible == [(CHANGELOG, b"1")] and not app.transactions.uncommitted


def test_a_deferred_input_that_answers_a_caller_commits_at_once(
    broker: _Broker, deferring_app: tuple[StreamApp, _Consumer]
) -> None:
    app, consumer = deferring_app
    consumer.waiting = [_Message(0, 0, b"quiet-ack", INPUT)]
    began = time.monotonic()
    app._run_once()
    _wait_for(broker, "commit")
    assert time.monotonic() - began < 0.3, "the answer did not wait for the deferral"
    broker.gate.release()
    _spin(app, lambda: not app.transactions.in_flight)
    assert broker.acks == [b"quiet-ack"]


def test_a_timer_that_fires_ends_the_deferral(
    broker: _Broker, deferring_app: tuple[StreamApp, _Consumer]
) -> None:
    app, consumer = deferring_app
    counter = app.processor
    assert isinstance(counter, _Deferring)
    counter.app = app
    consumer.waiting = [_Message(0, 0, b"quiet", INPUT)]
    app._run_once()
    assert _begins(broker) == 0
    counter.timer_at_ms = int(time.time() * 1000)
    began = time.monotonic()
    _spin(app, lambda: _begins(broker) == 1)
    assert time.monotonic() - began < 0.3, "what a timer decided waited for the deferral"
    broker.gate.release()
    _spin(app, lambda: not app.transactions.in_flight)
    assert broker.visible == [(CHANGELOG, b"1"), (CHANGELOG, b"101")]


def test_an_acknowledgement_with_a_datagram_address_leaves_both_ways_after_the_commit(
    broker: _Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.2)
    address = f"127.0.0.1:{receiver.getsockname()[1]}"
    try:
        _input(txns, stores, 10, b"1")
        txns.send_after_commit(ACKS, None, b"reply-1", 0, address)
        with pytest.raises(TimeoutError):
            receiver.recv(100)  # the transaction it waits for is still open
        txns.start_commit(stores)
        _wait_for(broker, "commit")
        with pytest.raises(TimeoutError):
            receiver.recv(100)  # nor before the commit returned
        broker.gate.release()
        txns.reap(stores, wait=None)
        receiver.settimeout(5)
        assert receiver.recv(100) == b"reply-1"
        assert broker.acks == [b"ack-1", b"reply-1"], "the topic gets its copy as well"
        # With nothing open or in flight it leaves at once; a bad address sends no datagram.
        txns.send_after_commit(ACKS, None, b"reply-2", 0, address)
        txns.send_after_commit(ACKS, None, b"reply-3", 0, "not an address")
        assert receiver.recv(100) == b"reply-2"
        assert broker.acks[-2:] == [b"reply-2", b"reply-3"]
    finally:
        receiver.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:4000", ("127.0.0.1", 4000)),
        ("localhost:4000", ("127.0.0.1", 4000)),
        ("127.0.0.1", None),
        ("127.0.0.1:0", None),
        ("127.0.0.1:70000", None),
        (":4000", None),
        ("no-such-host.invalid:4000", None),
    ],
)
def test_datagram_addresses_are_host_and_port(text: str, expected: tuple[str, int] | None) -> None:
    assert streams.datagrams.parse_address(text) == expected
