"""The timer scan floor: never passes a timer still in the store, skips the fired ones."""

from __future__ import annotations

from history_processor.timer_floor import TimerFloor
from streams import MemoryStore, StateTransaction


def _txn(partition: int = 0) -> StateTransaction:
    return StateTransaction(MemoryStore().open_partition(partition))


def test_a_partition_without_a_floor_is_scanned_from_the_start() -> None:
    assert TimerFloor().start(_txn()) == 0


def test_the_floor_advances_once_the_rounds_transaction_is_flushed() -> None:
    floors = TimerFloor()
    first = _txn()
    assert floors.start(first) == 0
    floors.advance(first, 1_001, fired=True)
    assert floors.start(first) == 0  # still open: its deletions are visible through it
    first.flush(7)
    assert floors.start(_txn()) == 1_001


def test_an_aborted_round_leaves_the_floor_where_it_was() -> None:
    floors = TimerFloor()
    first = _txn()
    floors.advance(first, 1_001, fired=True)
    first.flush(7)
    assert floors.start(_txn()) == 1_001
    aborted = _txn()
    floors.advance(aborted, 2_001, fired=True)
    aborted.discard()  # the timers it deleted are still in the store
    assert floors.start(_txn()) == 1_001


def test_a_timer_added_below_the_floor_lowers_it_committed_or_pending() -> None:
    floors = TimerFloor()
    first = _txn()
    floors.advance(first, 1_001, fired=True)
    first.flush(7)
    floors.start(_txn())
    floors.lower(0, 900)
    assert floors.start(_txn()) == 900
    # Added while a round is pending (its handling scheduled a retry that is already due).
    round_two = _txn()
    floors.advance(round_two, 3_001, fired=True)
    floors.lower(0, 2_500)
    round_two.flush(8)
    assert floors.start(_txn()) == 2_500


def test_lowering_a_partition_without_a_floor_keeps_it_scanned_from_the_start() -> None:
    floors = TimerFloor()
    floors.lower(0, 5_000)
    assert floors.start(_txn()) == 0


def test_partitions_given_up_are_scanned_from_the_start_when_owned_again() -> None:
    floors = TimerFloor()
    for partition in (0, 1):
        txn = _txn(partition)
        floors.advance(txn, 1_001, fired=True)
        txn.flush(3)
    floors.forget({1})
    assert floors.start(_txn(0)) == 0
    assert floors.start(_txn(1)) == 1_001


def test_a_round_with_nothing_due_in_a_clean_view_advances_at_once() -> None:
    floors = TimerFloor()
    idle = _txn()
    floors.advance(idle, 1_001, fired=False)
    assert floors.start(idle) == 1_001  # no transaction needs to commit


def test_a_round_with_nothing_due_over_uncommitted_changes_waits_for_their_flush() -> None:
    floors = TimerFloor()
    busy = _txn()
    busy.delete(b"t-cancelled-timer")  # if this transaction aborts, the timer is back
    floors.advance(busy, 1_001, fired=False)
    assert floors.start(busy) == 0
    busy.discard()
    assert floors.start(_txn()) == 0
