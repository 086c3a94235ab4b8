"""Partition life cycle without a broker: a store written with another key layout is rebuilt."""

from __future__ import annotations

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
