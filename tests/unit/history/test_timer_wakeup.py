"""The loop wakes up when the next timer is due: TimerWakeup and the processor's hint."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History, HistoryEvent

import schemas
from history_processor import store
from history_processor.processor import HistoryProcessor
from history_processor.timer_wakeup import TimerWakeup
from schemas.topics import Topology
from streams import MemoryStore, StateTransaction
from tests.unit.history.harness import NAMESPACE, NAMESPACE_ID, Glue
from tests.unit.history.test_timers import start_timer, with_timers


def test_an_unknown_partition_is_due_at_once() -> None:
    wakeup = TimerWakeup()
    assert wakeup.next_ms({3}) == 0
    assert wakeup.needs_look(3, now_ms=1)
    wakeup.lower(3, 5_000)  # still unknown: its first round scans everything
    assert wakeup.next_ms({3}) == 0


def test_the_bound_is_the_smallest_of_scan_and_additions() -> None:
    wakeup = TimerWakeup()
    wakeup.scanned(0, 5_000)
    wakeup.lower(0, 7_000)
    assert wakeup.next_ms({0}) == 5_000
    wakeup.lower(0, 4_000)
    assert wakeup.next_ms({0}) == 4_000
    assert not wakeup.needs_look(0, now_ms=3_999)
    assert wakeup.needs_look(0, now_ms=4_000)


def test_a_partition_without_timers_does_not_wake_the_loop() -> None:
    wakeup = TimerWakeup()
    wakeup.scanned(0, None)
    assert wakeup.next_ms({0}) is None
    assert not wakeup.needs_look(0, now_ms=10**15)
    wakeup.lower(0, 9_000)
    assert wakeup.next_ms({0}) == 9_000


def test_the_earliest_owned_partition_wins_and_forgotten_ones_drop_out() -> None:
    wakeup = TimerWakeup()
    wakeup.scanned(0, 8_000)
    wakeup.scanned(1, 6_000)
    assert wakeup.next_ms({0, 1}) == 6_000
    wakeup.forget({0})
    assert wakeup.next_ms({0}) == 8_000
    assert wakeup.next_ms({1}) == 0  # owned again later: unknown, scanned at once


class _Context:
    """The streams Context of one partition, minus Kafka."""

    direct = False  # an input read from the inbox, not sent directly

    def __init__(self, processor: HistoryProcessor, state: StateTransaction) -> None:
        self.partition = state.partition
        self.state = state
        self._processor = processor
        self.emitted: list[HistoryEvent] = []

    def emit(self, key: bytes | None, value: bytes) -> None:
        batch = schemas.decode(value, schemas.EVENT_BATCH)
        self.emitted.extend(History.FromString(batch["events"]).events)
        self._processor.apply(self.state, key, value)

    def send(self, *args: Any, **kw: Any) -> None:
        pass

    def send_after_commit(self, *args: Any, **kw: Any) -> None:
        pass

    def savepoint(self) -> int:
        return self.state.savepoint()

    def rollback_to(self, savepoint: int) -> None:
        self.state.rollback_to(savepoint)


def _fold_glue(processor: HistoryProcessor, state: StateTransaction, glue: Glue) -> None:
    """Applies the glue's batches to the processor's store as committed EventBatches."""
    assert glue.state is not None
    for index, (events, updates) in enumerate(glue.batches):
        batch = {
            "namespace": NAMESPACE,
            "workflow_id": glue.workflow_id,
            "run_id": glue.state.run_id,
            "first_event_id": events[0].event_id if events else 0,
            "last_event_id": events[-1].event_id if events else 0,
            "events": History(events=events).SerializeToString(),
            "updates": [{"kind": k, "payload": p} for k, p in updates],
            "command_id": f"cmd-{index}",
        }
        key = f"{NAMESPACE}/{glue.workflow_id}/{glue.state.run_id}/{index}".encode()
        processor.apply(state, key, schemas.encode(schemas.EVENT_BATCH, batch))


def test_the_processor_wakes_for_a_user_timer_and_fires_it_on_time() -> None:
    glue = Glue()
    with_timers(glue, start_timer("1", 1_000), start_timer("2", 3_000))
    assert glue.state is not None
    first, second = sorted(t.expiry_time_ms for t in glue.state.timers.values())
    clock = [0.0]
    processor = HistoryProcessor(Topology(), lambda _: NAMESPACE_ID, clock=lambda: clock[0])
    state = StateTransaction(MemoryStore().open_partition(0))
    _fold_glue(processor, state, glue)
    context = _Context(processor, state)

    # Before the first round the partition is unknown; the round learns its next timer.
    assert processor.next_punctuate_ms({0}) == 0
    clock[0] = (first - 1) / 1000
    processor.punctuate(context, first - 1)  # type: ignore[arg-type]
    assert context.emitted == []
    assert processor.next_punctuate_ms({0}) == first
    assert store.next_timer_ms(state, 0) == first

    clock[0] = first / 1000
    processor.punctuate(context, first)  # type: ignore[arg-type]
    fired = [e for e in context.emitted if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED]
    assert [e.timer_fired_event_attributes.timer_id for e in fired] == ["1"]
    assert fired[0].event_time.ToMilliseconds() == first
    # The workflow task the fire scheduled times out on its sticky queue only 10 s later: the
    # next wake-up is the second user timer.
    assert processor.next_punctuate_ms({0}) == second


def test_a_bound_from_a_discarded_view_is_dropped_and_one_from_a_flushed_view_kept() -> None:
    partition = MemoryStore().open_partition(0)
    wakeup = TimerWakeup()
    view = StateTransaction(partition)
    view.delete(b"timer-fired-by-the-round")  # the round's uncommitted deletion
    wakeup.scanned(0, 9_000, view)
    assert not wakeup.needs_look(0, now_ms=1_000)
    view.discard()  # its transaction aborted: the fired timers are back in the store
    assert wakeup.next_ms({0}) == 0
    assert wakeup.needs_look(0, now_ms=1_000)

    kept = StateTransaction(partition)
    kept.delete(b"timer-fired-by-the-round")
    wakeup.scanned(0, 9_000, kept)
    kept.seal()
    kept.flush(1)
    assert wakeup.next_ms({0}) == 9_000
    assert not wakeup.needs_look(0, now_ms=1_000)


class _CountingState(StateTransaction):
    """A state transaction that counts the timer-index scans made through it."""

    scans = 0

    def items(self, *args: Any, **kw: Any) -> Any:
        type(self).scans += 1
        return super().items(*args, **kw)


def test_rounds_before_the_next_timer_do_not_scan_the_index() -> None:
    glue = Glue()
    with_timers(glue, start_timer("1", 60_000))
    assert glue.state is not None
    (fire_at,) = [t.expiry_time_ms for t in glue.state.timers.values()]
    clock = [0.0]
    processor = HistoryProcessor(Topology(), lambda _: NAMESPACE_ID, clock=lambda: clock[0])
    state = _CountingState(MemoryStore().open_partition(0))
    _fold_glue(processor, state, glue)
    context = _Context(processor, state)
    processor.punctuate(context, fire_at - 30_000)  # type: ignore[arg-type]
    scans = _CountingState.scans
    assert scans > 0, "the first round of a partition looks at the index"
    for step in range(1, 100):
        processor.punctuate(context, fire_at - 30_000 + step * 100)  # type: ignore[arg-type]
    assert _CountingState.scans == scans, "idle rounds before the bound scan nothing"
    clock[0] = fire_at / 1000
    processor.punctuate(context, fire_at)  # type: ignore[arg-type]
    fired = [e for e in context.emitted if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED]
    assert [e.timer_fired_event_attributes.timer_id for e in fired] == ["1"]
