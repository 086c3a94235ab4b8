"""Unit tests of matching's per-queue progress: ack levels, restore after a restart, codec."""

from __future__ import annotations

from typing import Any

import pytest

from matching_processor import progress as codec
from matching_processor.queues import (
    PartitionProgress,
    Poller,
    Progress,
    QueuedTask,
    QueueKey,
    TaskQueues,
)

NS = "default"
BUSY = QueueKey(NS, "busy", "activity", 0)
IDLE = QueueKey(NS, "idle", "activity", 0)


def task(offset: int, key: QueueKey) -> QueuedTask:
    record: dict[str, Any] = {
        "task_kind": key.task_kind,
        "namespace": key.namespace,
        "task_queue": key.task_queue,
        "task_queue_kind": "normal",
        "task_queue_partition": key.tq_partition,
        "workflow_id": f"wf-{offset}",
        "run_id": "run",
        "scheduled_event_id": 5,
        "attempt": 1,
        "task_token": b"tok",
        "schedule_time_ms": 1000 + offset,
        "schedule_to_start_timeout_ms": 0,
        "payload": b"",
    }
    return QueuedTask(record, 0, offset)


def drain(q: TaskQueues, key: QueueKey) -> list[int]:
    """Hands out every backlog task of `key` (as a poller whose history said OK would)."""
    done = []
    while True:
        poller = Poller((key,))
        t = q.poll(poller, 0)
        if t is None:
            q.cancel(poller)
            return done
        assert isinstance(t, QueuedTask)
        q.complete(t)
        done.append(t.offset)


def read(q: TaskQueues, tasks: list[QueuedTask]) -> list[int]:
    """Offers what a consumer reads, as the dispatcher does; returns the offsets offered."""
    offered = []
    for t in tasks:
        if not q.skip_finished(0, t.key, t.offset):
            q.offer(t, 0)
            offered.append(t.offset)
    return offered


def interleaved(n: int) -> list[QueuedTask]:
    # Even offsets belong to the queue nobody polls, odd ones to the busy queue.
    return [task(o, IDLE if o % 2 == 0 else BUSY) for o in range(n)]


def test_an_unpolled_queue_holds_back_only_itself() -> None:
    q = TaskQueues(lambda k: 0)
    read(q, interleaved(10))
    assert drain(q, BUSY) == [1, 3, 5, 7, 9]
    # The group offset must stay at the idle queue's first task, but the progress says
    # that every busy task is finished.
    assert q.watermarks() == {0: 0}
    assert q.progress() == {0: Progress(10, {IDLE: 0})}


def test_a_new_owner_offers_only_what_was_not_finished() -> None:
    old = TaskQueues(lambda k: 0)
    read(old, interleaved(10))
    drain(old, BUSY)
    saved = old.progress()[0]
    new = TaskQueues(lambda k: 0)
    new.assign(0, codec.decode(codec.encode(saved)))
    # It reads again from the committed offset, and also sees two tasks that are new.
    offered = read(new, interleaved(12)[saved.commit_offset :])
    assert offered == [0, 2, 4, 6, 8, 10, 11]
    assert new.metrics.finished_before == 5
    assert drain(new, BUSY) == [11]
    assert new.progress() == {0: Progress(12, {IDLE: 0})}


def test_progress_while_catching_up_keeps_what_the_previous_owner_knew() -> None:
    lagging = QueueKey(NS, "lagging", "activity", 0)
    new = TaskQueues(lambda k: 0)
    new.assign(0, Progress(100, {IDLE: 0, lagging: 50}))
    read(new, [task(0, IDLE), task(1, BUSY)])  # a restart here must not forget offsets 2..99
    snap = new.progress()[0]
    assert snap == Progress(100, {IDLE: 0, lagging: 50})
    assert snap.is_finished(BUSY, 60) and not snap.is_finished(lagging, 60)


def test_out_of_order_finishing_within_a_queue_keeps_its_ack_at_the_oldest() -> None:
    q = TaskQueues(lambda k: 0)
    read(q, [task(0, BUSY), task(1, BUSY), task(2, BUSY)])
    first = q.poll(Poller((BUSY,)), 0)
    second = q.poll(Poller((BUSY,)), 0)
    assert isinstance(first, QueuedTask) and isinstance(second, QueuedTask)
    q.complete(second)
    assert q.progress() == {0: Progress(3, {BUSY: 0})}
    q.complete(first)
    assert q.progress() == {0: Progress(3, {BUSY: 2})}


def test_finished_queues_cost_no_memory_and_skips_move_the_position() -> None:
    p = PartitionProgress()
    wm = p.add(BUSY, 0)
    p.skip(1)
    p.finish(BUSY, wm, 0)
    assert p.snapshot() == Progress(2, {})
    assert p._queues == {}
    with pytest.raises(Exception, match="arrived after"):
        p.add(IDLE, 1)


def test_revoked_then_reassigned_partition_ignores_late_outcomes() -> None:
    q = TaskQueues(lambda k: 0)
    read(q, [task(0, BUSY)])
    in_flight = q.poll(Poller((BUSY,)), 0)
    assert isinstance(in_flight, QueuedTask)
    q.revoke({0})
    q.assign(0, Progress(0))
    read(q, [task(0, BUSY)])
    q.complete(in_flight)  # the old owner's outcome must not finish the new copy
    assert q.progress() == {0: Progress(1, {BUSY: 0})}


def test_codec_round_trip_and_bad_records() -> None:
    snap = Progress(42, {IDLE: 7, QueueKey("ns\x00x", "q/é", "workflow", 3): 9})
    assert codec.decode(codec.encode(snap)) == snap
    for bad in (b"", b"{}", b'{"v": 99, "next": 1, "acks": []}', b'{"v":1,"next":1,"acks":[1]}'):
        with pytest.raises(ValueError):
            codec.decode(bad)


def test_an_unpolled_queue_keeps_only_offsets_beyond_its_bound() -> None:
    q = TaskQueues(lambda k: 0, max_backlog=4)
    read(q, [task(o, IDLE) for o in range(10)])
    assert q.in_memory(IDLE) == 4 and q.backlog_len(IDLE) == 10
    assert q.metrics.spilled == 6
    # Spilled tasks are still unfinished: the ack level and the commit offset do not move.
    assert q.progress() == {0: Progress(10, {IDLE: 0})}
    assert q.reload_requests() == {}  # the backlog has not drained yet


def test_spilled_tasks_are_read_again_in_order_when_the_backlog_drains() -> None:
    q = TaskQueues(lambda k: 0, max_backlog=4)
    read(q, [task(o, IDLE) for o in range(8)])
    got = [drained for _ in range(2) for drained in take(q, IDLE)]
    assert got == [0, 1]
    assert q.reload_requests() == {0: [4, 5]}
    assert q.reload_requests() == {}  # asked for once
    read(q, [task(8, IDLE)])  # arrives while 4 and 5 are being read: it waits behind them
    q.reload_missed(0, [5])  # 5 could not be read this time: first in line again
    assert q.reload(task(4, IDLE), 0) is None
    assert q.reload(task(9, IDLE), 0) is None  # nobody asked for it: ignored
    assert q.metrics.reloaded == 1
    assert q.reload_requests() == {}  # 2, 3 and 4 are in memory: more than half the bound
    assert take(q, IDLE) == [2]
    assert q.reload_requests() == {0: [5, 6]}
    for o in (5, 6):
        q.reload(task(o, IDLE), 0)
    assert drain(q, IDLE) == [3, 4, 5, 6]
    assert q.reload_requests() == {0: [7, 8]}
    for o in (7, 8):
        q.reload(task(o, IDLE), 0)
    assert drain(q, IDLE) == [7, 8]
    assert q.backlog_len(IDLE) == 0 and q.progress() == {0: Progress(9, {})}


def test_a_reloaded_task_goes_straight_to_a_waiting_poller() -> None:
    q = TaskQueues(lambda k: 0, max_backlog=2)
    read(q, [task(o, IDLE) for o in range(3)])
    drain(q, IDLE)
    assert q.reload_requests() == {0: [2]}
    poller = Poller((IDLE,))
    assert q.poll(poller, 0) is None
    assert q.reload(task(2, IDLE), 0) is poller
    assert isinstance(poller.task, QueuedTask) and poller.task.offset == 2


def test_revoke_forgets_spilled_tasks() -> None:
    q = TaskQueues(lambda k: 0, max_backlog=2)
    read(q, [task(o, IDLE) for o in range(5)])
    q.revoke({0})
    assert q.backlog_len(IDLE) == 0 and q.reload_requests() == {}


def take(q: TaskQueues, key: QueueKey) -> list[int]:
    t = q.poll(Poller((key,)), 0)
    assert isinstance(t, QueuedTask)
    q.complete(t)
    return [t.offset]
