"""Deferred commits and acknowledgement datagrams, over the stand-ins of `commit_standins`."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import streams.app
import streams.datagrams
from streams import Context, MemoryStore, StreamApp, StreamsConfig
from streams.commit import Transactions
from streams.config import BACKUP_ACK_LINGER_MS
from streams.state.base import PartitionStore
from tests.unit.streams.commit_standins import (
    ACKS,
    CHANGELOG,
    INPUT,
    Broker,
    Counter,
    Message,
    NoRestorer,
    StandInConsumer,
    add_input,
    broker,
    spin,
    stores,
    txns,
    wait_for,
)

__all__ = ["broker", "stores", "txns"]  # fixtures


class _Deferring(Counter):
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
    broker: Broker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[StreamApp, StandInConsumer]]:
    consumer = StandInConsumer(broker)
    monkeypatch.setattr(streams.app, "Consumer", lambda settings: consumer)
    monkeypatch.setattr(streams.app, "Restorer", lambda settings, topic: NoRestorer())
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


def _begins(broker: Broker) -> int:
    return sum(1 for call, _ in broker.calls if call == "begin")


def test_a_deferred_input_rides_in_the_transaction_of_the_next_answered_one(
    broker: Broker, deferring_app: tuple[StreamApp, StandInConsumer]
) -> None:
    app, consumer = deferring_app
    consumer.waiting = [Message(0, 0, b"quiet", INPUT)]
    app._run_once()
    app._run_once()  # idle: a transaction nobody waits for is not committed yet
    assert _begins(broker) == 0 and app.transactions.uncommitted
    consumer.waiting = [Message(0, 1, b"answered", INPUT)]
    app._run_once()
    wait_for(broker, "commit")
    broker.gate.release()
    spin(app, lambda: not app.transactions.in_flight)
    assert _begins(broker) == 1, "both inputs committed in one transaction"
    assert broker.visible == [(CHANGELOG, b"1"), (CHANGELOG, b"2")]
    assert broker.acks == [b"answered"]
    assert app.transactions.committed[(INPUT, 0)] == 2


def test_a_deferred_input_alone_commits_once_its_wait_is_over(
    broker: Broker, deferring_app: tuple[StreamApp, StandInConsumer]
) -> None:
    app, consumer = deferring_app
    began = time.monotonic()
    consumer.waiting = [Message(0, 0, b"quiet", INPUT)]
    app._run_once()
    spin(app, lambda: _begins(broker) == 1)
    waited = time.monotonic() - began
    assert 0.3 <= waited < 3, f"committed after {waited:.3f} s, not after the 0.3 s wait"
    broker.gate.release()
    spin(app, lambda: not app.transactions.in_flight)
    assert broker.visible == [(CHANGELOG, b"1")] and not app.transactions.uncommitted


def test_a_deferred_input_that_answers_a_caller_commits_at_once(
    broker: Broker, deferring_app: tuple[StreamApp, StandInConsumer]
) -> None:
    app, consumer = deferring_app
    consumer.waiting = [Message(0, 0, b"quiet-ack", INPUT)]
    began = time.monotonic()
    app._run_once()
    wait_for(broker, "commit")
    assert time.monotonic() - began < 0.3, "the answer did not wait for the deferral"
    broker.gate.release()
    spin(app, lambda: not app.transactions.in_flight)
    assert broker.acks == [b"quiet-ack"]


def test_a_timer_that_fires_ends_the_deferral(
    broker: Broker, deferring_app: tuple[StreamApp, StandInConsumer]
) -> None:
    app, consumer = deferring_app
    counter = app.processor
    assert isinstance(counter, _Deferring)
    counter.app = app
    consumer.waiting = [Message(0, 0, b"quiet", INPUT)]
    app._run_once()
    assert _begins(broker) == 0
    counter.timer_at_ms = int(time.time() * 1000)
    began = time.monotonic()
    spin(app, lambda: _begins(broker) == 1)
    assert time.monotonic() - began < 0.3, "what a timer decided waited for the deferral"
    broker.gate.release()
    spin(app, lambda: not app.transactions.in_flight)
    assert broker.visible == [(CHANGELOG, b"1"), (CHANGELOG, b"101")]


def test_an_acknowledgement_with_a_datagram_address_leaves_both_ways_after_the_commit(
    broker: Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.2)
    address = f"127.0.0.1:{receiver.getsockname()[1]}"
    try:
        add_input(txns, stores, 10, b"1")
        txns.send_after_commit(ACKS, None, b"reply-1", 0, address)
        with pytest.raises(TimeoutError):
            receiver.recv(100)  # the transaction it waits for is still open
        txns.start_commit(stores)
        wait_for(broker, "commit")
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
        # The copy of an acknowledgement whose datagram left may wait for company; one
        # without a datagram is the only copy and leaves at once.
        lingers = dict(zip(broker.acks, broker.ack_lingers, strict=True))
        assert lingers[b"reply-1"] == lingers[b"reply-2"] == BACKUP_ACK_LINGER_MS > 0
        assert lingers[b"reply-3"] == lingers[b"ack-1"] == 0
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
