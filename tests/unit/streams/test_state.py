"""State stores and state transactions, in memory and on RocksDB, without a broker."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams import NO_OFFSET, MemoryStore, RocksDBStore, StateTransaction, Store
from streams.exceptions import InvalidStateError, StoreClosedError


@pytest.fixture(params=["memory", "rocksdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return MemoryStore() if request.param == "memory" else RocksDBStore(tmp_path)


def test_new_partition_has_no_offset_and_no_data(store: Store) -> None:
    part = store.open_partition(3)
    assert part.applied_offset() == NO_OFFSET
    assert part.get(b"a") is None
    assert list(part.items(b"")) == []
    part.close()


def test_write_is_visible_after_reopen_with_its_offset(store: Store) -> None:
    part = store.open_partition(0)
    part.write({b"a": b"1", b"b": b"2"}, 41)
    part.write({b"a": None, b"c": b"3"}, 42)
    part.close()
    again = store.open_partition(0)
    assert again.applied_offset() == 42
    assert again.get(b"a") is None
    assert list(again.items(b"")) == [(b"b", b"2"), (b"c", b"3")]
    again.close()


def test_partitions_are_independent(store: Store) -> None:
    one, two = store.open_partition(1), store.open_partition(2)
    one.write({b"k": b"one"}, 5)
    assert two.get(b"k") is None
    assert two.applied_offset() == NO_OFFSET
    one.close()
    two.close()


def test_destroy_forgets_the_partition(store: Store) -> None:
    part = store.open_partition(0)
    part.write({b"k": b"v"}, 9)
    part.close()
    store.destroy_partition(0)
    again = store.open_partition(0)
    assert again.get(b"k") is None
    assert again.applied_offset() == NO_OFFSET
    again.close()


def test_transaction_reads_its_own_writes_and_merges_ranges(store: Store) -> None:
    part = store.open_partition(0)
    part.write({b"t/1": b"a", b"t/3": b"c", b"t/5": b"e", b"u/1": b"x"}, 1)
    txn = StateTransaction(part)
    txn.put(b"t/2", b"b")
    txn.delete(b"t/3")
    txn.put(b"t/5", b"E")
    assert txn.get(b"t/3") is None
    assert txn.get(b"t/5") == b"E"
    assert list(txn.items(b"t/", b"t0")) == [(b"t/1", b"a"), (b"t/2", b"b"), (b"t/5", b"E")]
    assert part.get(b"t/2") is None, "nothing reaches the store before flush"
    txn.flush(7)
    assert part.get(b"t/2") == b"b"
    assert part.get(b"t/3") is None
    assert part.applied_offset() == 7
    part.close()


def test_discarded_transaction_changes_nothing_and_refuses_use(store: Store) -> None:
    part = store.open_partition(0)
    txn = StateTransaction(part)
    txn.put(b"k", b"v")
    txn.discard()
    assert part.get(b"k") is None
    with pytest.raises(InvalidStateError):
        txn.get(b"k")
    part.close()


def test_reserved_keys_are_refused(store: Store) -> None:
    part = store.open_partition(0)
    with pytest.raises(ValueError):
        StateTransaction(part).put(b"\x00mine", b"v")
    part.close()


def test_closed_store_refuses_reads(store: Store) -> None:
    part = store.open_partition(0)
    part.close()
    with pytest.raises(StoreClosedError):
        part.get(b"k")


def test_rollback_to_a_savepoint_undoes_only_later_changes() -> None:
    store = MemoryStore().open_partition(0)
    store.write({b"a": b"stored", b"b": b"stored"}, 1)
    txn = StateTransaction(store)
    txn.put(b"a", b"first")
    savepoint = txn.savepoint()
    txn.put(b"a", b"second")
    txn.delete(b"b")
    txn.put(b"c", b"new")
    txn.rollback_to(savepoint)
    assert (txn.get(b"a"), txn.get(b"b"), txn.get(b"c")) == (b"first", b"stored", None)
    assert dict(txn.items(b"")) == {b"a": b"first", b"b": b"stored"}
    txn.rollback_to(0)
    assert not txn.dirty and txn.get(b"a") == b"stored"


def test_a_transaction_reads_through_the_committing_one_before_it() -> None:
    store = MemoryStore().open_partition(0)
    store.write({b"a": b"stored", b"b": b"stored", b"c": b"stored"}, 1)
    first = StateTransaction(store)
    first.put(b"a", b"first")
    first.delete(b"b")
    first.put(b"d", b"first")
    first.seal()
    second = StateTransaction(store, first)
    second.put(b"c", b"second")
    second.delete(b"d")
    assert [second.get(k) for k in (b"a", b"b", b"c", b"d")] == [b"first", None, b"second", None]
    assert list(second.items(b"")) == [(b"a", b"first"), (b"c", b"second")]
    assert second.dirty, "the view differs from the store through its base alone as well"
    with pytest.raises(InvalidStateError):
        first.put(b"a", b"late")  # sealed: its Kafka transaction is being committed
    with pytest.raises(InvalidStateError):
        second.flush(2)  # its base is not in the store yet
    with pytest.raises(InvalidStateError):
        second.rebase()
    first.flush(2)
    second.rebase()
    assert store.get(b"a") == b"first" and store.get(b"b") is None
    assert list(second.items(b"")) == [(b"a", b"first"), (b"c", b"second")]
    second.flush(3)
    assert dict(store.items(b"")) == {b"a": b"first", b"c": b"second"}
    assert store.applied_offset() == 3


def test_only_a_committing_transaction_can_be_read_through() -> None:
    store = MemoryStore().open_partition(0)
    with pytest.raises(InvalidStateError):
        StateTransaction(store, StateTransaction(store))


def test_discarding_the_base_and_its_follower_leaves_the_store_as_it_was() -> None:
    store = MemoryStore().open_partition(0)
    store.write({b"a": b"stored"}, 1)
    first = StateTransaction(store)
    first.put(b"a", b"first")
    first.seal()
    second = StateTransaction(store, first)
    second.put(b"b", b"second")
    first.discard()
    second.discard()
    assert dict(store.items(b"")) == {b"a": b"stored"} and store.applied_offset() == 1
    with pytest.raises(InvalidStateError):
        second.get(b"a")
