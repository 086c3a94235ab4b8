"""Unit tests of matching's pure queues: sync match, backlog FIFO, expiry, watermarks, revoke."""

from __future__ import annotations

from typing import Any

import pytest

from matching_processor.exceptions import InvalidStateError
from matching_processor.queues import (
    PartitionWatermark,
    Poller,
    PollerState,
    QueuedTask,
    QueueKey,
    TaskQueues,
    TaskState,
)

NS = "default"
Q = "orders"


def key(p: int = 0, kind: str = "workflow", queue: str = Q) -> QueueKey:
    return QueueKey(NS, queue, kind, p)


def all_keys(kind: str = "workflow") -> tuple[QueueKey, ...]:
    return tuple(key(p, kind) for p in range(4))


def record(
    wf: str = "wf", p: int = 0, kind: str = "workflow", scheduled: int = 1000, timeout: int = 0
) -> dict[str, Any]:
    return {
        "task_kind": kind,
        "namespace": NS,
        "task_queue": Q,
        "task_queue_kind": "normal",
        "task_queue_partition": p,
        "workflow_id": wf,
        "run_id": "run",
        "scheduled_event_id": 2,
        "attempt": 1,
        "task_token": b"tok",
        "schedule_time_ms": scheduled,
        "schedule_to_start_timeout_ms": timeout,
        "payload": b"",
    }


def task(offset: int, kafka_partition: int = 0, **kw: Any) -> QueuedTask:
    """A task of its own workflow (same-workflow records are revisions of one task)."""
    kw.setdefault("wf", f"wf-{offset}")
    return QueuedTask(record(**kw), kafka_partition, offset)


def queues() -> TaskQueues:
    # Partition p of the queue lives on Kafka partition p, to make revoke tests readable.
    return TaskQueues(lambda k: k.tq_partition)


def test_offer_without_poller_goes_to_backlog_and_poll_takes_it() -> None:
    q = queues()
    t = task(0)
    assert q.offer(t, now_ms=1000) is None
    assert t.state is TaskState.BACKLOG
    assert q.backlog_len(key()) == 1
    poller = Poller(all_keys())
    assert q.poll(poller, now_ms=1000) is t
    assert poller.state is PollerState.MATCHED and poller.task is t
    assert t.state is TaskState.DISPATCHING
    assert q.metrics.backlog_dispatches == 1 and q.metrics.sync_matches == 0
    assert q.backlog_len(key()) == 0


def test_waiting_poller_gets_task_at_once_sync_match() -> None:
    q = queues()
    poller = Poller(all_keys())
    assert q.poll(poller, now_ms=0) is None
    assert poller.state is PollerState.WAITING
    assert all(q.waiting_pollers(k) == 1 for k in all_keys())
    t = task(0, p=2)
    assert q.offer(t, now_ms=1000) is poller
    assert poller.task is t and poller.state is PollerState.MATCHED
    assert q.metrics.sync_matches == 1
    # A matched poller waits nowhere any more.
    assert all(q.waiting_pollers(k) == 0 for k in all_keys())
    assert q.backlog_len(key(2)) == 0


def test_oldest_waiting_poller_is_served_first() -> None:
    q = queues()
    first, second = Poller(all_keys()), Poller(all_keys())
    q.poll(first, 0)
    q.poll(second, 0)
    assert q.offer(task(0), 1000) is first
    assert q.offer(task(1), 1000) is second
    assert q.offer(task(2), 1000) is None


def test_backlog_is_fifo() -> None:
    q = queues()
    tasks = [task(i, wf=f"wf{i}", scheduled=1000 + i) for i in range(5)]
    for t in tasks:
        q.offer(t, 2000)
    got = [q.poll(Poller(all_keys()), 2000) for _ in tasks]
    assert got == tasks


def test_poll_across_partitions_takes_oldest_scheduled() -> None:
    q = queues()
    late = task(0, kafka_partition=1, p=1, scheduled=5000)
    early = task(0, kafka_partition=3, p=3, scheduled=1000)
    q.offer(late, 6000)
    q.offer(early, 6000)
    assert q.poll(Poller(all_keys()), 6000) is early
    assert q.poll(Poller(all_keys()), 6000) is late


def test_poller_only_sees_its_own_queue_and_kind() -> None:
    q = queues()
    q.offer(task(0, kind="activity"), 1000)
    poller = Poller(all_keys("workflow"))
    assert q.poll(poller, 1000) is None
    assert poller.state is PollerState.WAITING
    other = QueuedTask({**record(), "task_queue": "other"}, 0, 1)
    assert q.offer(other, 1000) is None
    assert poller.state is PollerState.WAITING


def test_sticky_poller_waits_on_one_partition() -> None:
    q = queues()
    sticky_key = QueueKey(NS, "sticky-worker-1", "workflow", 0)
    poller = Poller((sticky_key,))
    q.poll(poller, 0)
    t = QueuedTask({**record(), "task_queue": "sticky-worker-1", "task_queue_kind": "sticky"}, 0, 0)
    assert q.offer(t, 0) is poller


def test_cancelled_poller_gets_nothing() -> None:
    q = queues()
    poller = Poller(all_keys())
    q.poll(poller, 0)
    assert q.cancel(poller) is True
    assert poller.state is PollerState.CANCELLED
    assert q.offer(task(0), 0) is None
    assert q.backlog_len(key()) == 1
    assert q.cancel(poller) is False


def test_cancel_after_match_is_refused() -> None:
    q = queues()
    poller = Poller(all_keys())
    q.poll(poller, 0)
    q.offer(task(0), 0)
    assert q.cancel(poller) is False
    assert poller.state is PollerState.MATCHED


def test_expire_pollers_by_deadline() -> None:
    q = queues()
    soon, later = Poller(all_keys(), deadline_ms=100), Poller(all_keys(), deadline_ms=500)
    q.poll(soon, 0)
    q.poll(later, 0)
    assert q.expire_pollers(99) == []
    assert q.expire_pollers(100) == [soon]
    assert soon.state is PollerState.EXPIRED
    assert q.offer(task(0), 200) is later


def test_poller_cannot_poll_twice() -> None:
    q = queues()
    poller = Poller(all_keys())
    q.poll(poller, 0)
    with pytest.raises(InvalidStateError):
        q.poll(poller, 0)


def test_task_expired_on_arrival_is_dropped() -> None:
    q = queues()
    poller = Poller(all_keys())
    q.poll(poller, 0)
    t = task(0, scheduled=1000, timeout=500)
    assert q.offer(t, now_ms=1500) is None
    assert t.state is TaskState.EXPIRED
    assert poller.state is PollerState.WAITING
    assert q.metrics.expired == 1
    assert q.low_watermark(0) == 1


def test_task_expiring_in_backlog_is_skipped_by_poll() -> None:
    q = queues()
    stale = task(0, wf="a", scheduled=1000, timeout=500)
    fresh = task(1, wf="b", scheduled=1100)
    q.offer(stale, 1200)
    q.offer(fresh, 1200)
    assert q.poll(Poller(all_keys()), now_ms=1600) is fresh
    assert stale.state is TaskState.EXPIRED
    assert q.metrics.expired == 1


def test_expire_tasks_sweeps_backlogs_and_moves_watermark() -> None:
    q = queues()
    q.offer(task(0, scheduled=1000, timeout=100), 1000)
    q.offer(task(1, scheduled=1000, timeout=0), 1000)
    q.offer(task(2, scheduled=1000, timeout=100), 1000)
    assert q.low_watermark(0) == 0
    assert q.expire_tasks(1100) == 2
    assert q.backlog_len(key()) == 1
    assert q.low_watermark(0) == 1


def test_watermark_stays_at_oldest_undispatched_task() -> None:
    q = queues()
    t0, t1, t2 = task(10), task(11), task(12)
    for t in (t0, t1, t2):
        q.offer(t, 0)
    assert q.low_watermark(0) == 10
    first = q.poll(Poller(all_keys()), 0)
    assert first is t0
    # Dispatching is not done: the worker may still not get it.
    assert q.low_watermark(0) == 10
    q.complete(t0)
    assert q.low_watermark(0) == 11
    assert q.watermarks() == {0: 11}


def test_watermark_waits_for_out_of_order_completion() -> None:
    q = queues()
    ts = [task(i, wf=f"w{i}", scheduled=i) for i in range(3)]
    for t in ts:
        q.offer(t, 0)
    got = [q.poll(Poller(all_keys()), 0) for _ in range(3)]
    assert got == ts
    a, b, c = ts
    q.complete(c)
    q.complete(b)
    assert q.low_watermark(0) == 0
    q.complete(a)
    assert q.low_watermark(0) == 3


def test_watermark_is_per_kafka_partition_and_none_before_reading() -> None:
    q = queues()
    assert q.low_watermark(0) is None
    q.offer(task(5, kafka_partition=1, p=1), 0)
    q.offer(task(7, kafka_partition=2, p=2), 0)
    assert q.watermarks() == {1: 5, 2: 7}
    q.skip(3, 40)
    assert q.low_watermark(3) == 41


def test_partition_watermark_rejects_offsets_going_back() -> None:
    wm = PartitionWatermark()
    assert wm.low_watermark is None
    wm.add(4)
    with pytest.raises(InvalidStateError):
        wm.add(3)


def test_requeue_puts_task_back_at_head() -> None:
    q = queues()
    t0, t1 = task(0, wf="a", scheduled=1), task(1, wf="b", scheduled=2)
    q.offer(t0, 0)
    q.offer(t1, 0)
    got = q.poll(Poller(all_keys()), 0)
    assert got is t0
    assert q.requeue(t0, 0) is None
    assert t0.state is TaskState.BACKLOG
    assert q.metrics.requeued == 1
    assert q.poll(Poller(all_keys()), 0) is t0
    assert q.low_watermark(0) == 0


def test_requeue_hands_task_to_waiting_poller() -> None:
    q = queues()
    t = task(0)
    q.offer(t, 0)
    assert q.poll(Poller(all_keys()), 0) is t
    waiting = Poller(all_keys())
    q.poll(waiting, 0)
    assert q.requeue(t, 0) is waiting
    assert waiting.task is t and t.state is TaskState.DISPATCHING


def test_complete_requires_dispatching() -> None:
    q = queues()
    t = task(0)
    q.offer(t, 0)
    with pytest.raises(InvalidStateError):
        q.complete(t)


def test_complete_stale_counts() -> None:
    q = queues()
    t = task(0)
    q.offer(t, 0)
    q.poll(Poller(all_keys()), 0)
    q.complete(t, stale=True)
    assert q.metrics.stale == 1
    assert q.low_watermark(0) == 1


def test_revoke_drops_partition_backlog_and_fails_its_pollers() -> None:
    q = queues()
    on_1 = task(0, kafka_partition=1, p=1)
    on_2 = task(0, kafka_partition=2, p=2)
    q.offer(on_1, 0)
    q.offer(on_2, 0)
    activity_poller = Poller(all_keys("activity"))
    q.poll(activity_poller, 0)
    sticky_elsewhere = Poller((QueueKey(NS, "sticky", "workflow", 0),))
    q.poll(sticky_elsewhere, 0)
    revoked = q.revoke({1})
    assert revoked == [activity_poller]
    assert activity_poller.state is PollerState.REVOKED
    assert sticky_elsewhere.state is PollerState.WAITING
    assert on_1.state is TaskState.REVOKED
    assert q.backlog_len(key(1)) == 0 and q.backlog_len(key(2)) == 1
    assert q.low_watermark(1) is None and q.low_watermark(2) == 0
    assert q.metrics.revoked_tasks == 1


def test_in_flight_task_of_revoked_partition_does_not_touch_new_owner_state() -> None:
    q = queues()
    t = task(3, kafka_partition=1, p=1)
    q.offer(t, 0)
    assert q.poll(Poller(all_keys()), 0) is t
    q.revoke({1})
    # The partition comes back (eager rebalance) and is re-read from the committed offset 3.
    again = task(3, kafka_partition=1, p=1)
    q.offer(again, 0)
    q.complete(t)
    assert q.low_watermark(1) == 3
    assert again.state is TaskState.BACKLOG
    # In flight when revoked, then retried: it must not land in a backlog we no longer own.
    assert q.poll(Poller(all_keys()), 0) is again
    q.revoke({1})
    assert q.requeue(again, 0) is None
    assert again.state is TaskState.REVOKED
    assert q.backlog_len(key(1)) == 0
