"""Stand-ins for the commit tests: a broker, producers and a consumer without Kafka.

The stand-in producer's `commit_transaction` blocks until the test lets it return (or fail),
so each test can act while a commit is in flight and check what leaves, and when.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

import streams.commit
from streams import Context, MemoryStore, StateTransaction, StreamApp, StreamsConfig
from streams.commit import Transactions
from streams.state.base import PartitionStore

CHANGELOG, INPUT, OUT, ACKS = "log", "in", "out", "acks"


class Message:
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


class Broker:
    """What the stand-ins did, in order, and the gate of the next commits."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.generation = 1  # the consumer group's, as the stand-in consumer reports it
        self.generation_reads = 0
        self.visible: list[tuple[str, bytes]] = []  # records of committed transactions
        self.acks: list[bytes] = []
        self.ack_lingers: list[int] = []  # linger.ms of the producer that carried each ack
        self.gate = threading.Semaphore(0)  # one release lets one commit return
        self.fail_next: KafkaException | None = None
        self.stalled = False  # every commit times out at once, as against a frozen broker
        self.offsets = 0
        self.lock = threading.Lock()

    def log(self, call: str, arg: Any = None) -> None:
        with self.lock:
            self.calls.append((call, arg))


class StandInProducer:
    def __init__(self, broker: Broker, settings: dict[str, Any]) -> None:
        self._broker = broker
        self._tid = settings.get("transactional.id")
        self._linger = int(settings.get("linger.ms", 0))
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
        if self._tid is None:  # an acknowledgement producer
            self._broker.acks.append(value)
            self._broker.ack_lingers.append(self._linger)
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
                on_delivery(None, Message(partition or 0, self._broker.offsets))
        self._pending = []
        self._broker.log("committed", self._tid)

    def abort_transaction(self, timeout: float) -> None:
        self._pending = []
        self._broker.log("abort", self._tid)

    def flush(self, timeout: float = 0) -> int:
        return 0

    def poll(self, timeout: float = 0) -> int:
        return 0


class StandInConsumer:
    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self.waiting: list[Message] = []  # input records the next poll or consume returns

    def poll(self, timeout: float) -> Message | None:
        return self.waiting.pop(0) if self.waiting else None

    def consume(self, count: int, timeout: float) -> list[Message]:
        taken, self.waiting = self.waiting[:count], self.waiting[count:]
        return taken

    def consumer_group_metadata(self) -> str:
        self._broker.generation_reads += 1
        return f"generation-{self._broker.generation}"

    def seek(self, tp: TopicPartition) -> None:
        self._broker.log("seek", (tp.partition, tp.offset))


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> Broker:
    made = Broker()
    monkeypatch.setattr(
        streams.commit, "Producer", lambda settings: StandInProducer(made, settings)
    )
    return made


@pytest.fixture
def txns(broker: Broker, tmp_path: Path) -> Iterator[Transactions]:
    config = StreamsConfig("unused:9092", "app", "i", (INPUT,), CHANGELOG, tmp_path)
    transactions = Transactions(config, StandInConsumer(broker))  # type: ignore[arg-type]
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


def add_input(txns: Transactions, stores: dict[int, PartitionStore], offset: int, n: bytes) -> None:
    """One input: state change, changelog record, outbox record and reply, as a processor does."""
    state = txns.state(0, stores[0])
    state.put(b"count", n)
    txns.produce(CHANGELOG, b"count", n, 0)
    txns.produce(OUT, None, b"out-" + n, None)
    txns.send_after_commit(ACKS, None, b"ack-" + n, 0)
    txns.consumed(INPUT, 0, offset)


def wait_for(broker: Broker, call: str, count: int = 1) -> None:
    for _ in range(500):
        if sum(1 for c, _ in broker.calls if c == call) >= count:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"{call!r} x{count} never happened: {broker.calls}")


class Counter:
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


def spin(app: StreamApp, done: Callable[[], bool]) -> None:
    """Runs the loop until `done` (the commit worker lands in its own time)."""
    deadline = time.monotonic() + 5
    while not done():
        assert time.monotonic() < deadline, "the loop never got there"
        app._run_once()


class NoRestorer:
    def close(self) -> None:
        return
