"""Partition life cycle without a broker: a store of another key layout is rebuilt; a partition
given up is handed over to the processor between its commit (or abort) and its release; an
instance whose partitions were lost stops when it does not rejoin in time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition

from streams import StreamApp, StreamsConfig
from streams.exceptions import RejoinStalledError
from streams.partitions import Partitions
from streams.state.base import STATE_FORMAT_KEY, PartitionStore
from streams.state.memory import MemoryStore


class _Restorer:
    """Stands in for the changelog: never behind."""

    def is_ahead(self, store: PartitionStore) -> bool:
        return False


def _partitions(memory: MemoryStore, state_format: str) -> Partitions:
    return Partitions(memory, _Restorer(), None, lambda *_: None, state_format)  # type: ignore[arg-type]


def test_store_of_another_layout_is_destroyed_and_marked() -> None:
    memory = MemoryStore()
    old = memory.open_partition(3)
    old.write({b"r-old-layout-key": b"state"}, 41)
    old.close()
    partitions = _partitions(memory, "history/2")
    store = partitions._open(3)
    assert store.get(b"r-old-layout-key") is None, "the old layout's keys are gone"
    assert store.get(STATE_FORMAT_KEY) == b"history/2"


def test_store_of_the_same_layout_is_kept() -> None:
    memory = MemoryStore()
    store = memory.open_partition(1)
    store.write({b"k": b"v", STATE_FORMAT_KEY: b"history/2"}, 7)
    store.close()
    kept = _partitions(memory, "history/2")._open(1)
    assert kept.get(b"k") == b"v" and kept.applied_offset() == 7


def test_without_a_format_nothing_is_checked() -> None:
    memory = MemoryStore()
    store = memory.open_partition(0)
    store.write({b"k": b"v"}, 5)
    store.close()
    assert _partitions(memory, "")._open(0).get(b"k") == b"v"


class _Transactions:
    """Records the order of commits, aborts and hand-overs."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.uncommitted = True

    def commit(self, stores: object) -> None:
        self.log.append("commit")
        self.uncommitted = False

    def abort(self, cause: Exception, stores: object) -> None:
        self.log.append("abort")
        self.uncommitted = False

    def forget(self, partitions: object) -> None:
        self.log.append("forget")

    def group_changed(self) -> None:
        """Not part of the order these tests check (test_pipelined_commits covers it)."""


def _owning(log: list[str], numbers: list[int]) -> Partitions:
    partitions = Partitions(MemoryStore(), _Restorer(), _Transactions(log), lambda *_: None)  # type: ignore[arg-type]
    for number in numbers:
        partitions.stores[number] = partitions._open(number)
    partitions.on_hand_over = lambda number: log.append(f"hand over {number}")
    return partitions


def test_revoked_partitions_are_handed_over_after_the_commit_and_before_release() -> None:
    log: list[str] = []
    partitions = _owning(log, [0, 1, 2])
    revoked = [TopicPartition("inbox", 2), TopicPartition("inbox", 1), TopicPartition("inbox", 7)]
    partitions.on_revoke(None, revoked)  # type: ignore[arg-type]
    # Partition 7 was never owned here: nobody can wait on it.
    assert log == ["commit", "hand over 1", "hand over 2", "forget"]
    assert partitions.owned == {0}


def test_lost_partitions_are_handed_over_after_the_abort() -> None:
    log: list[str] = []
    partitions = _owning(log, [4])
    partitions.on_lost(None, [TopicPartition("inbox", 4)])  # type: ignore[arg-type]
    assert log == ["abort", "hand over 4", "forget"]
    assert partitions.owned == set()


class _Consumer:
    """Records assignment calls; every partition's committed position is 5."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[int]]] = []

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition, 5) for tp in partitions]

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.calls.append(("assign", [tp.partition for tp in partitions]))

    def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        self.calls.append(("incremental_assign", [tp.partition for tp in partitions]))

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.calls.append(("pause", [tp.partition for tp in partitions]))


class _Restoring(_Restorer):
    def begin(self, store: PartitionStore) -> None:
        pass


class _Committed:
    def __init__(self) -> None:
        self.committed: dict[tuple[str, int], int] = {}

    def group_changed(self) -> None:
        """Not what these tests check."""


def test_an_incremental_assignment_adds_partitions_and_keeps_the_owned_ones() -> None:
    consumer = _Consumer()
    transactions = _Committed()
    partitions = Partitions(
        MemoryStore(),
        _Restoring(),
        transactions,  # type: ignore[arg-type]
        lambda *_: None,
        incremental=True,
    )
    partitions.stores[0] = partitions._open(0)
    partitions.on_assign(consumer, [])  # type: ignore[arg-type]  # a round that moves nothing
    partitions.on_assign(consumer, [TopicPartition("inbox", 3)])  # type: ignore[arg-type]
    assert consumer.calls == [("incremental_assign", [3]), ("pause", [3])]
    assert partitions.owned == {0} and partitions.restoring == {3}
    assert transactions.committed == {("inbox", 3): 5}


def test_an_eager_assignment_replaces_the_whole_assignment() -> None:
    consumer = _Consumer()
    partitions = Partitions(MemoryStore(), _Restoring(), _Committed(), lambda *_: None)  # type: ignore[arg-type]
    partitions.on_assign(consumer, [TopicPartition("inbox", 1), TopicPartition("inbox", 2)])  # type: ignore[arg-type]
    assert consumer.calls == [("assign", [1, 2]), ("pause", [1, 2])]


def test_a_loss_starts_the_rejoin_clock_and_the_next_assignment_stops_it() -> None:
    partitions = _owning([], [4])
    assert partitions.lost_since is None
    partitions.on_lost(None, [TopicPartition("inbox", 4)])  # type: ignore[arg-type]
    assert partitions.lost_since is not None
    partitions._transactions = _Committed()  # type: ignore[assignment]
    partitions.on_assign(_Consumer(), [])  # type: ignore[arg-type]  # rejoined, nothing given
    assert partitions.lost_since is None


def _app_lost(seconds_ago: float | None, patience_s: float) -> StreamApp:
    app = StreamApp.__new__(StreamApp)  # only what _check_membership reads
    app.config = StreamsConfig(
        "kafka:9092", "history", "0", ("inbox",), "events", Path("unused"),
        rejoin_patience_s=patience_s,
    )  # fmt: skip
    app.partitions = _owning([], [])
    if seconds_ago is not None:
        app.partitions.lost_since = time.monotonic() - seconds_ago
    return app


def test_an_instance_that_does_not_rejoin_in_time_stops() -> None:
    _app_lost(None, 120)._check_membership()  # never lost
    _app_lost(30, 120)._check_membership()  # still within its patience
    with pytest.raises(RejoinStalledError, match="has not rejoined group history"):
        _app_lost(121, 120)._check_membership()
