"""Direct inputs in the commit protocol, without a broker (`commit_standins`): fencing of
transactions without consumed inputs, spills on abort and for partitions not owned."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException

import streams.app
from streams import MemoryStore, StreamApp, StreamsConfig
from streams.commit import Transactions
from streams.direct import DirectRecord, encode_frame
from streams.state.base import PartitionStore
from tests.unit.streams.commit_standins import (
    ACKS,
    CHANGELOG,
    INPUT,
    Broker,
    Counter,
    NoRestorer,
    StandInConsumer,
    broker,
    spin,
    stores,
    txns,
    wait_for,
)

__all__ = ["broker", "stores", "txns"]  # fixtures


def _direct_input(
    txns: Transactions, stores: dict[int, PartitionStore], value: bytes, changes: bool = True
) -> DirectRecord:
    """One direct input, processed as a processor does; `changes`: it changed state."""
    record = DirectRecord(INPUT, 0, b"count", value)
    if changes:
        txns.state(0, stores[0]).put(b"count", value)
        txns.produce(CHANGELOG, b"count", value, 0)
        txns.send_after_commit(ACKS, None, b"ack-" + value, 0)
    txns.consumed_direct(record, changes)
    return record


def _sent_offsets(broker: Broker) -> list[list[tuple[int, int]]]:
    return [arg for call, arg in broker.calls if call == "offsets"]


def test_a_transaction_of_direct_inputs_sends_the_committed_position_for_fencing(
    broker: Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    _direct_input(txns, stores, b"1")
    txns.start_commit(stores)
    wait_for(broker, "commit")
    # The position is unchanged (10): nothing was read from the topic, but the group
    # coordinator checks this instance's generation with it, so a zombie cannot commit.
    assert _sent_offsets(broker) == [[(0, 10)]]
    assert [arg for call, arg in broker.calls if call == "metadata"] == ["generation-1"]
    broker.gate.release()
    assert txns.reap(stores, wait=5)
    assert broker.acks == [b"ack-1"] and stores[0].get(b"count") == b"1"
    assert txns.committed[(INPUT, 0)] == 10


def test_a_timer_transaction_is_fenced_too_and_a_partition_never_committed_sends_zero(
    broker: Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    txns.committed[(INPUT, 0)] = -2  # OFFSET_BEGINNING: the group has no position yet
    txns.state(0, stores[0]).put(b"count", b"7")  # what a fired timer decides
    txns.produce(CHANGELOG, b"count", b"7", 0)
    txns.start_commit(stores)
    wait_for(broker, "commit")
    assert _sent_offsets(broker) == [[(0, 0)]]
    broker.gate.release()
    assert txns.reap(stores, wait=5)


def test_an_aborted_transaction_spills_its_direct_inputs_that_changed_something(
    broker: Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    _direct_input(txns, stores, b"1")
    _direct_input(txns, stores, b"read-only", changes=False)
    txns.start_commit(stores)
    wait_for(broker, "commit")
    broker.fail_next = KafkaException(
        KafkaError(KafkaError._FENCED, "fenced", txn_requires_abort=True)
    )
    broker.gate.release()
    assert txns.reap(stores, wait=5)
    # Not acknowledged, not in the store; produced to the input topic instead, to be read
    # again from there. The read-only input changed nothing and is not spilled.
    assert broker.acks == [b"1"]
    assert stores[0].get(b"count") == b"0"
    assert ("abort", "app-i") in broker.calls


def test_a_transaction_without_direct_inputs_spills_nothing_on_abort(
    broker: Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    txns.state(0, stores[0]).put(b"count", b"1")
    txns.produce(CHANGELOG, b"count", b"1", 0)
    txns.consumed(INPUT, 0, 10)
    txns.start_commit(stores)
    wait_for(broker, "commit")
    broker.fail_next = KafkaException(KafkaError(KafkaError._FENCED, "x", txn_requires_abort=True))
    broker.gate.release()
    assert txns.reap(stores, wait=5)
    assert broker.acks == []


@pytest.fixture
def app(
    broker: Broker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[StreamApp, StandInConsumer]:
    consumer = StandInConsumer(broker)
    monkeypatch.setattr(streams.app, "Consumer", lambda settings: consumer)
    monkeypatch.setattr(streams.app, "Restorer", lambda settings, topic: NoRestorer())
    config = StreamsConfig(
        "unused:9092", "app", "i", (INPUT,), CHANGELOG, tmp_path, direct_host="127.0.0.1"
    )
    counter = Counter()
    application = StreamApp(config, counter, MemoryStore())
    counter.app = application
    application.transactions.init()
    application.partitions.stores[0] = MemoryStore().open_partition(0)
    application.transactions.committed[(INPUT, 0)] = 5
    return application, consumer


def test_the_loop_processes_direct_inputs_and_spills_those_of_partitions_it_does_not_own(
    broker: Broker, app: tuple[StreamApp, StandInConsumer]
) -> None:
    import socket

    application, _ = app
    assert application._direct is not None
    host, port = application._direct.address.rsplit(":", 1)
    caller = socket.create_connection((host, int(port)))
    try:
        caller.sendall(encode_frame(0, b"k", b"mine") + encode_frame(3, b"k", b"not-mine"))
        spin(application, lambda: any(call == "commit" for call, _ in broker.calls))
        assert broker.acks == [b"not-mine"]  # spilled at once, to partition 3 of its topic
        broker.gate.release()
        spin(application, lambda: not application.transactions.in_flight)
        assert broker.acks == [b"not-mine", b"mine"]  # the counter's reply, after the commit
        assert _sent_offsets(broker) == [[(0, 5)]]
        assert application.stats["records"] == 1
    finally:
        caller.close()
        for _ in range(4):
            broker.gate.release()
        application.transactions.close()
        application._direct.close()
