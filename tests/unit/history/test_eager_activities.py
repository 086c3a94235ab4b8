"""Eager activity dispatch: activities started in RespondWorkflowTaskCompleted and returned in
its reply instead of going through matching."""

from __future__ import annotations

from typing import Any

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.common.v1 import WorkerVersionStamp
from temporalio.api.enums.v1 import EventType, PendingActivityState, RetryState, TimeoutType
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    PollActivityTaskQueueResponse,
    RecordActivityTaskHeartbeatRequest,
    RecordActivityTaskHeartbeatResponse,
    RespondActivityTaskCompletedRequest,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskCompletedResponse,
)

from history_processor import eager_activities
from history_processor.deadlines import DeadlineKind, deadlines
from history_processor.model import Decision
from history_processor.updates import UpdateKind
from schemas import tokens
from tests.unit.history.golden import drive, load
from tests.unit.history.harness import (
    Glue,
    app_failure,
    complete_workflow,
    first_task,
    ok_payload,
    payloads,
    schedule_activity,
    seconds,
    types,
)

RETRY = DeadlineKind.ACTIVITY_RETRY.value
START_TO_CLOSE = DeadlineKind.ACTIVITY_START_TO_CLOSE.value


def _eager(activity_id: str = "1", **kw: Any) -> WorkflowCommand:
    return schedule_activity(activity_id, request_eager_execution=True, **kw)


def _complete(glue: Glue, *commands: WorkflowCommand, **kw: Any) -> Decision:
    """Runs the first workflow task, completing it with `commands`."""
    poll = first_task(glue)
    return glue.complete_workflow_task(poll, *commands, **kw)


def _activity_tasks(decision: Decision) -> list[PollActivityTaskQueueResponse]:
    return list(ok_payload(decision, RespondWorkflowTaskCompletedResponse).activity_tasks)


def _activity_records(decision: Decision) -> list[dict[str, Any]]:
    return [t for t in decision.tasks if t["task_kind"] == "activity"]


def test_eager_request_starts_the_activity_and_returns_it() -> None:
    glue = Glue()
    decision = _complete(glue, _eager(heartbeat_timeout=seconds(3), input=payloads(b"in")))
    now = glue.now_ms
    assert types(decision) == ["WORKFLOW_TASK_COMPLETED", "ACTIVITY_TASK_SCHEDULED"]
    assert _activity_records(decision) == []
    assert UpdateKind.ACTIVITY_STARTED.value in [kind for kind, _ in decision.updates]
    (task,) = _activity_tasks(decision)
    token = tokens.decode(task.task_token)
    assert (token.kind, token.run_id, token.scheduled_event_id, token.attempt) == (
        tokens.TaskKind.ACTIVITY,
        "run-0001",
        5,
        1,
    )
    assert token.activity_id == "1" and token.namespace_id == "ns-0001"
    assert (task.activity_id, task.activity_type.name, task.attempt) == ("1", "greet", 1)
    assert task.workflow_execution.workflow_id == "wf-1"
    assert task.workflow_execution.run_id == "run-0001"
    assert (task.workflow_type.name, task.workflow_namespace) == ("OneActivityWorkflow", "default")
    assert task.input == payloads(b"in")
    assert task.started_time.ToMilliseconds() == now
    assert task.scheduled_time.ToMilliseconds() == now
    assert task.current_attempt_scheduled_time.ToMilliseconds() == now
    assert task.start_to_close_timeout.seconds == 10 and task.heartbeat_timeout.seconds == 3
    assert task.retry_policy.maximum_interval.seconds == 100
    # The attempt is started in mutable state: its timeouts run from now, none waits for a start.
    assert glue.state is not None
    info = glue.state.activities[5]
    assert info.is_started and info.attempt == 1
    assert (info.started_time_ms, info.started_identity) == (now, "worker-1")
    assert info.request_id
    kinds = {d.kind: d.fire_at_ms for d in deadlines(glue.state)}
    assert kinds[START_TO_CLOSE] == now + 10_000
    assert kinds[DeadlineKind.ACTIVITY_HEARTBEAT.value] == now + 3_000
    assert DeadlineKind.ACTIVITY_SCHEDULE_TO_START.value not in kinds
    describe = glue.submit(
        "DescribeWorkflowExecution", DescribeWorkflowExecutionRequest(namespace="default")
    )
    (pending,) = ok_payload(describe, DescribeWorkflowExecutionResponse).pending_activities
    assert pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    assert glue.restore() == glue.state


def test_completing_an_eager_activity_writes_started_and_completed() -> None:
    glue = Glue(identity="wf-worker")
    (task,) = _activity_tasks(_complete(glue, _eager()))
    started_ms = glue.now_ms
    request_id = glue.state.activities[5].request_id if glue.state else ""
    heartbeat = RecordActivityTaskHeartbeatRequest(task_token=task.task_token, identity="act")
    ok_payload(
        glue.submit("RecordActivityTaskHeartbeat", heartbeat), RecordActivityTaskHeartbeatResponse
    )
    request = RespondActivityTaskCompletedRequest(
        task_token=task.task_token, result=payloads(b"done"), identity="activity-worker"
    )
    done = glue.submit("RespondActivityTaskCompleted", request)
    assert types(done) == [
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert [e.event_id for e in done.events] == [6, 7, 8]
    started_event, completed_event = done.events[:2]
    started = started_event.activity_task_started_event_attributes
    assert (started.scheduled_event_id, started.attempt) == (5, 1)
    # Temporal: the worker that completed the workflow task started the attempt.
    assert (started.identity, started.request_id) == ("wf-worker", request_id)
    assert started_event.event_time.ToMilliseconds() == started_ms
    completed = completed_event.activity_task_completed_event_attributes
    assert (completed.scheduled_event_id, completed.started_event_id) == (5, 6)
    assert completed.identity == "activity-worker" and completed.result == payloads(b"done")
    assert glue.state is not None and glue.state.activities == {}
    assert glue.restore() == glue.state


def test_activity_on_another_task_queue_goes_through_matching() -> None:
    glue = Glue()
    other = _eager("other")
    other.schedule_activity_task_command_attributes.task_queue.name = "elsewhere"
    default_queue = _eager("default")  # an empty queue means the workflow's own
    default_queue.schedule_activity_task_command_attributes.ClearField("task_queue")
    decision = _complete(glue, other, default_queue)
    (record,) = _activity_records(decision)
    assert (record["scheduled_event_id"], record["task_queue"], record["attempt"]) == (
        5,
        "elsewhere",
        1,
    )
    assert [t.activity_id for t in _activity_tasks(decision)] == ["default"]
    assert glue.state is not None
    assert not glue.state.activities[5].is_started and glue.state.activities[6].is_started


def test_activity_without_eager_request_goes_through_matching() -> None:
    glue = Glue()
    decision = _complete(glue, schedule_activity())
    assert [t["scheduled_event_id"] for t in _activity_records(decision)] == [5]
    assert _activity_tasks(decision) == []
    assert glue.state is not None and not glue.state.activities[5].is_started


def test_at_most_the_limit_of_activities_is_dispatched_eagerly() -> None:
    limit = eager_activities.MAX_ACTIVITIES_PER_WORKFLOW_TASK
    glue = Glue()
    decision = _complete(glue, *(_eager(str(i)) for i in range(limit + 2)))
    eager = _activity_tasks(decision)
    assert [t.activity_id for t in eager] == [str(i) for i in range(limit)]  # in command order
    assert [tokens.decode(t.task_token).scheduled_event_id for t in eager] == list(
        range(5, 5 + limit)
    )
    assert [t["scheduled_event_id"] for t in _activity_records(decision)] == [
        5 + limit,
        6 + limit,
    ]
    assert glue.restore() == glue.state


def test_eager_reply_stays_within_its_byte_budget() -> None:
    big = payloads(b"x" * (eager_activities.MAX_REPLY_BYTES // 3))
    glue = Glue()
    decision = _complete(glue, *(_eager(str(i), input=big) for i in range(4)))
    assert [t.activity_id for t in _activity_tasks(decision)] == ["0", "1"]
    assert [t["scheduled_event_id"] for t in _activity_records(decision)] == [7, 8]
    assert ok_payload(decision, RespondWorkflowTaskCompletedResponse).ByteSize() < (
        eager_activities.MAX_REPLY_BYTES
    )


def test_retry_after_a_failed_eager_attempt_goes_through_matching() -> None:
    glue = Glue()
    first = _complete(glue, _eager(retry_policy={"initial_interval": {"seconds": 1}}))
    assert len(_activity_tasks(first)) == 1 and _activity_records(first) == []
    failed = glue.fail_activity(5, app_failure("first"))
    assert failed.events == [] and failed.tasks == []
    fired = glue.fire(RETRY)
    (record,) = fired.tasks
    assert (record["task_kind"], record["scheduled_event_id"], record["attempt"]) == (
        "activity",
        5,
        2,
    )
    assert PollActivityTaskQueueResponse.FromString(record["payload"]).attempt == 2
    glue.identity = "matching-poller"
    glue.start_activity(5)
    done = glue.complete_activity(5)
    assert types(done)[:2] == ["ACTIVITY_TASK_STARTED", "ACTIVITY_TASK_COMPLETED"]
    started = done.events[0].activity_task_started_event_attributes
    assert (started.attempt, started.identity, started.request_id) == (
        2,
        "matching-poller",
        "act-5-2",
    )
    assert started.last_failure.message == "first"
    assert glue.restore() == glue.state


def test_start_to_close_timeout_of_an_eager_attempt_runs_from_the_start() -> None:
    glue = Glue()
    _complete(glue, _eager(retry_policy={"maximum_attempts": 1}))
    started_ms = glue.now_ms
    assert glue.deadline(START_TO_CLOSE).fire_at_ms == started_ms + 10_000
    timed_out = glue.fire(START_TO_CLOSE)
    assert types(timed_out) == [
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_TIMED_OUT",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert timed_out.events[0].activity_task_started_event_attributes.identity == "worker-1"
    assert timed_out.events[0].event_time.ToMilliseconds() == started_ms
    attrs = timed_out.events[1].activity_task_timed_out_event_attributes
    assert (
        attrs.failure.timeout_failure_info.timeout_type == TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
    )
    assert attrs.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    assert attrs.started_event_id == 6
    assert glue.restore() == glue.state


def test_no_eager_start_when_the_same_task_closes_the_run() -> None:
    glue = Glue()
    decision = _complete(glue, _eager(), complete_workflow())
    assert types(decision)[-1] == "WORKFLOW_EXECUTION_COMPLETED"
    assert _activity_tasks(decision) == [] and _activity_records(decision) == []
    assert [kind for kind, _ in decision.updates if kind == UpdateKind.ACTIVITY_STARTED.value] == []


def test_versioned_worker_runs_only_activities_on_its_build_id_eagerly() -> None:
    glue = Glue()
    stamp = WorkerVersionStamp(build_id="b1", use_versioning=True)
    decision = _complete(
        glue,
        _eager("default-version"),
        _eager("own-build", use_workflow_build_id=True),
        worker_version_stamp=stamp,
    )
    assert [t.activity_id for t in _activity_tasks(decision)] == ["own-build"]
    assert [t["scheduled_event_id"] for t in _activity_records(decision)] == [5]


def test_disabled_namespace_takes_nothing() -> None:
    glue = Glue()
    _complete(glue, schedule_activity())
    assert glue.state is not None
    request = RespondWorkflowTaskCompletedRequest(identity=glue.identity)
    dispatch = eager_activities.EagerDispatch(request, enabled=False)
    attrs = _eager().schedule_activity_task_command_attributes
    assert not dispatch.take(glue.state, attrs, glue.state.activities[5])
    assert dispatch.selected == []
    assert eager_activities.EagerDispatch(request).take(glue.state, attrs, glue.state.activities[5])


def test_golden_first_attempts_were_eager_and_are_eager_in_strom() -> None:
    for name in ("one_activity", "parallel_activities", "sync_activity", "retry_activity"):
        golden = load(name)
        scheduled = {
            e.event_id: e.event_time.ToNanoseconds()
            for e in golden.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        }
        glue = drive(golden)
        # Temporal started every first attempt within a millisecond of scheduling it.
        for event in golden.events:
            started = event.activity_task_started_event_attributes
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED and (
                started.attempt == 1
            ):
                assert event.event_time.ToNanoseconds() - scheduled[started.scheduled_event_id] < (
                    1_000_000
                )
        # Strom dispatched all of them eagerly too: only retries went through matching.
        assert sorted(t["scheduled_event_id"] for t in glue.eager) == sorted(scheduled), name
        assert all(t["attempt"] > 1 for t in glue.tasks if t["task_kind"] == "activity"), name
        ours = {e.event_id: e for e in glue.events}
        for event in glue.events:
            started = event.activity_task_started_event_attributes
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED and (
                started.attempt == 1
            ):
                scheduled_event = ours[started.scheduled_event_id]
                assert event.event_time == scheduled_event.event_time, name
