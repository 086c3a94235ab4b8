"""Pipelined commits without a broker: `Transactions` over stand-in producers and consumer
(`commit_standins`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

import streams.app
import streams.kafka_calls
from streams import MemoryStore, StreamApp, StreamsConfig
from streams.commit import Transactions
from streams.exceptions import InvalidStateError, ProducerFencedError, TransactionStalledError
from streams.state.base import PartitionStore, TransactionStatus
from tests.unit.streams.commit_standins import (
    ACKS,
    CHANGELOG,
    INPUT,
    OUT,
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


def test_the_next_inputs_are_decided_on_the_state_in_flight_and_commit_after_it(
    broker: Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    add_input(txns, stores, 10, b"1")
    txns.start_commit(stores)
    wait_for(broker, "commit")
    # The loop goes on while the commit flies: the next input sees the uncommitted count.
    assert txns.state(0, stores[0]).get(b"count") == b"1"
    add_input(txns, stores, 11, b"2")
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
    broker: Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    add_input(txns, stores, 10, b"1")
    txns.start_commit(stores)
    wait_for(broker, "commit")
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
    broker: Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    add_input(txns, stores, 10, b"1")
    first = txns.states[0]
    txns.start_commit(stores)
    wait_for(broker, "commit")
    add_input(txns, stores, 11, b"2")
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
    add_input(txns, stores, 10, b"1")
    txns.start_commit(stores)
    broker.gate.release()
    txns.reap(stores, wait=None)
    assert broker.acks == [b"ack-1"] and stores[0].get(b"count") == b"1"


def test_a_commit_that_timed_out_is_resumed_not_aborted(
    broker: Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    # librdkafka goes on with a timed-out commit in the background; an abort in its place
    # would fail with a conflict and leave a commit the broker may still complete.
    add_input(txns, stores, 10, b"1")
    txns.start_commit(stores)
    broker.fail_next = KafkaException(
        KafkaError(KafkaError._TIMED_OUT, "broker stalled", retriable=True)
    )
    broker.gate.release()
    wait_for(broker, "commit", 2)
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
    broker: Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    add_input(txns, stores, 10, b"1")
    broker.stalled = True
    txns.start_commit(stores)
    with pytest.raises(TransactionStalledError, match="the commit did not complete in 4"):
        txns.reap(stores, wait=None)
    commits = [c for c, _ in broker.calls if c == "commit"]
    assert len(commits) == streams.kafka_calls.RESUME_LIMIT
    assert ("abort", "app-i") not in broker.calls
    assert broker.acks == [] and stores[0].get(b"count") == b"0"


def test_a_fenced_commit_stops_the_instance(
    broker: Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    add_input(txns, stores, 10, b"1")
    txns.start_commit(stores)
    add_input(txns, stores, 11, b"2")
    broker.fail_next = KafkaException(KafkaError(KafkaError._FENCED, "fenced", fatal=True))
    broker.gate.release()
    with pytest.raises(ProducerFencedError):
        txns.reap(stores, wait=None)
    assert broker.acks == [] and stores[0].get(b"count") == b"0"


def test_losing_the_partitions_keeps_a_commit_that_landed_and_drops_the_open_one(
    broker: Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    add_input(txns, stores, 10, b"1")
    txns.start_commit(stores)
    add_input(txns, stores, 11, b"2")
    broker.gate.release()  # the flight commits, but the loop has not collected it yet
    txns.abort(RuntimeError("partitions lost"), stores)
    assert broker.acks == [b"ack-1"]
    assert stores[0].get(b"count") == b"1" and txns.committed[(INPUT, 0)] == 11
    assert ("seek", (0, 11)) in broker.calls
    assert not txns.uncommitted and txns.stats == {"commits": 1, "aborts": 1}


def test_a_synchronous_commit_settles_the_one_in_flight_first(
    broker: Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    add_input(txns, stores, 10, b"1")
    txns.start_commit(stores)
    add_input(txns, stores, 11, b"2")
    broker.gate.release()
    broker.gate.release()
    txns.commit(stores)  # as a graceful hand-over does
    assert not txns.in_flight and not txns.uncommitted
    assert broker.acks == [b"ack-1", b"ack-2"] and stores[0].get(b"count") == b"2"
    assert txns.committed[(INPUT, 0)] == 12


def test_the_loop_fires_a_due_timer_while_a_commit_is_in_flight(
    broker: Broker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    consumer = StandInConsumer(broker)
    monkeypatch.setattr(streams.app, "Consumer", lambda settings: consumer)
    monkeypatch.setattr(streams.app, "Restorer", lambda settings, topic: NoRestorer())
    config = StreamsConfig("unused:9092", "app", "i", (INPUT,), CHANGELOG, tmp_path)
    counter = Counter()
    app = StreamApp(config, counter, MemoryStore())
    counter.app = app
    app.transactions.init()
    store = MemoryStore().open_partition(0)
    app.partitions.stores[0] = store
    app.transactions.committed[(INPUT, 0)] = 0
    try:
        consumer.waiting = [Message(0, 0, b"input-0", INPUT)]
        app._run_once()  # processed, and its commit starts at once
        wait_for(broker, "commit")
        assert app.transactions.in_flight and broker.acks == []
        counter.timer_at_ms = int(time.time() * 1000)  # a timer comes due meanwhile
        consumer.waiting = [Message(0, 1, b"input-1", INPUT)]
        app._run_once()
        assert counter.fired_while == [True], "fired without waiting for the commit"
        # Both decided on the uncommitted count; nothing of them is visible yet.
        assert app.transactions.state(0, store).get(b"count") == b"102"
        assert broker.acks == [] and store.get(b"count") is None
        broker.gate.release()
        # The first commit lands: step 4 and its reply, then the second begins.
        spin(app, lambda: sum(c == "begin" for c, _ in broker.calls) == 2)
        assert broker.acks == [b"input-0"] and store.get(b"count") == b"1"
        broker.gate.release()
        spin(app, lambda: not app.transactions.in_flight)
        assert broker.acks == [b"input-0", b"input-1"] and store.get(b"count") == b"102"
        assert app.transactions.committed[(INPUT, 0)] == 2
        assert not app.transactions.uncommitted
    finally:
        for _ in range(4):
            broker.gate.release()
        app.transactions.close()


def _metadata_sent(broker: Broker) -> list[Any]:
    return [arg for call, arg in broker.calls if call == "metadata"]


def test_the_group_metadata_is_read_once_per_generation_and_again_after_a_change_or_abort(
    broker: Broker, txns: Transactions, stores: dict[int, PartitionStore]
) -> None:
    for offset in (10, 11):
        add_input(txns, stores, offset, str(offset).encode())
        broker.gate.release()
        txns.commit(stores)
    assert broker.generation_reads == 1, "not read again while the group is unchanged"
    broker.generation = 2
    txns.group_changed()  # a rebalance callback
    add_input(txns, stores, 12, b"12")
    broker.gate.release()
    txns.commit(stores)
    assert broker.generation_reads == 2
    assert _metadata_sent(broker) == ["generation-1", "generation-1", "generation-2"]
    # A commit refused (e.g. for a stale generation) drops the copy with the transaction.
    broker.generation = 3
    add_input(txns, stores, 13, b"13")
    broker.fail_next = KafkaException(
        KafkaError(KafkaError._TIMED_OUT, "refused", txn_requires_abort=True)
    )
    broker.gate.release()
    txns.commit(stores)
    add_input(txns, stores, 13, b"13")
    broker.gate.release()
    txns.commit(stores)
    assert _metadata_sent(broker)[-1] == "generation-3"
