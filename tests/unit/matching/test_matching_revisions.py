"""A workflow task sent again with a newer template: matching keeps one copy of it."""

from __future__ import annotations

from typing import Any

from matching_processor.queues import Poller, QueuedTask, QueueKey, TaskQueues, TaskState

NS, Q = "default", "orders"
KEYS = (QueueKey(NS, Q, "workflow", 0),)


def copy(offset: int, payload: bytes, wf: str = "wf", kind: str = "workflow") -> QueuedTask:
    record: dict[str, Any] = {
        "task_kind": kind,
        "namespace": NS,
        "task_queue": Q,
        "task_queue_kind": "normal",
        "task_queue_partition": 0,
        "workflow_id": wf,
        "run_id": "run",
        "scheduled_event_id": 2,
        "attempt": 1,
        "task_token": b"tok",
        "schedule_time_ms": 1000 + offset,
        "schedule_to_start_timeout_ms": 0,
        "payload": payload,
    }
    return QueuedTask(record, 0, offset)


def test_revision_of_a_waiting_task_updates_it_in_place() -> None:
    q = TaskQueues(lambda k: 0)
    first, other, revision = copy(0, b"v1"), copy(1, b"", wf="other"), copy(2, b"v2")
    for t in (first, other, revision):
        q.offer(t, now_ms=1000)
    assert revision.state is TaskState.DONE and q.metrics.revised == 1
    assert q.backlog_len(KEYS[0]) == 2
    # The first copy keeps its place in the queue, with the revision's template.
    handed = q.poll(Poller(KEYS), now_ms=1000)
    assert handed is first and first.record["payload"] == b"v2"
    q.complete(first)
    later = q.poll(Poller(KEYS), now_ms=1000)
    assert later is other
    q.complete(other)
    assert q.low_watermark(0) == 3  # the revision's offset needed no dispatch


def test_revision_during_a_classic_start_is_absorbed() -> None:
    q = TaskQueues(lambda k: 0)
    first = copy(0, b"v1")
    q.offer(first, now_ms=1000)
    assert q.poll(Poller(KEYS), now_ms=1000) is first  # started through history
    during = copy(1, b"v2")
    q.offer(during, now_ms=1000)
    assert during.state is TaskState.DONE and first.record["payload"] == b"v2"
    q.complete(first)
    assert q.low_watermark(0) == 2


def test_a_task_that_left_leaves_no_mark() -> None:
    # A speculative task that shipped a rejected update left no event: the next one has the
    # same scheduled event id and attempt, and must be dispatched.
    q = TaskQueues(lambda k: 0)
    first = copy(0, b"v1")
    q.offer(first, now_ms=1000)
    q.poll(Poller(KEYS), now_ms=1000)
    q.complete(first)
    following = copy(1, b"v1")
    q.offer(following, now_ms=1000)
    assert following.state is TaskState.BACKLOG
    assert q.poll(Poller(KEYS), now_ms=1000) is following


def test_revision_after_an_optimistic_hand_out_is_the_next_dispatch() -> None:
    # The template handed out showed less than the revision: history refuses that start.
    q = TaskQueues(lambda k: 0)
    first = copy(0, b"v1")
    q.offer(first, now_ms=1000)
    assert q.poll(Poller(KEYS), now_ms=1000) is first
    first.optimistic = True
    revision = copy(1, b"v2")
    q.offer(revision, now_ms=1000)
    assert revision.state is TaskState.BACKLOG and first.record["payload"] == b"v1"
    q.complete(first)
    # History's own re-send (no template) then only updates the waiting revision.
    resend = copy(2, b"")
    q.offer(resend, now_ms=1000)
    assert resend.state is TaskState.DONE and revision.record["payload"] == b""
    assert q.poll(Poller(KEYS), now_ms=1000) is revision


def test_activity_tasks_and_revoked_partitions_are_not_tracked() -> None:
    q = TaskQueues(lambda k: 0)
    a, b = copy(0, b"", kind="activity"), copy(1, b"", kind="activity")
    q.offer(a, now_ms=1000)
    q.offer(b, now_ms=1000)
    assert b.state is TaskState.BACKLOG
    first = copy(2, b"v1")
    q.offer(first, now_ms=1000)
    q.revoke([0])
    q.assign(0, None)
    reread = copy(2, b"v1")
    q.offer(reread, now_ms=1000)
    assert reread.state is TaskState.BACKLOG
