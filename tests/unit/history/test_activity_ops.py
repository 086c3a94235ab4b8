"""The operator's activity RPCs: PauseActivity, UnpauseActivity, ResetActivity and
UpdateActivityOptions, decided on state like Temporal's workflow/activity.go."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask
from temporalio.api.activity.v1 import ActivityOptions
from temporalio.api.common.v1 import RetryPolicy, WorkflowExecution
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    PauseActivityRequest,
    PollActivityTaskQueueResponse,
    PollWorkflowTaskQueueResponse,
    RecordActivityTaskHeartbeatRequest,
    RecordActivityTaskHeartbeatResponse,
    ResetActivityRequest,
    UnpauseActivityRequest,
    UpdateActivityOptionsRequest,
    UpdateActivityOptionsResponse,
)

from history_processor.activity_ops import MSG_ACTIVITY_NOT_FOUND
from history_processor.deadlines import DeadlineKind, deadlines
from history_processor.handlers.pause_activity import MSG_ALREADY_PAUSED
from history_processor.handlers.update_activity_options import MSG_BOTH, MSG_NO_MASK
from history_processor.model import Decision
from history_processor.state import ExecutionState
from schemas.inbox import ActivityTaskStarted
from schemas.reply import Code
from tests.unit.history.harness import (
    Glue,
    app_failure,
    complete_workflow,
    ok_payload,
    seconds,
    with_activity,
)

SID = 5
RETRY = DeadlineKind.ACTIVITY_RETRY.value
EXECUTION = WorkflowExecution(workflow_id="wf-1")


def _pause(glue: Glue, request_id: str = "pause-1", **kw: Any) -> Decision:
    kw.setdefault("id", "1")
    request = PauseActivityRequest(
        namespace="default",
        execution=EXECUTION,
        identity="operator",
        reason="maintenance",
        request_id=request_id,
        **kw,
    )
    return glue.submit("PauseActivity", request)


def _unpause(glue: Glue, **kw: Any) -> Decision:
    if not {"id", "type", "unpause_all"} & kw.keys():
        kw["id"] = "1"
    request = UnpauseActivityRequest(namespace="default", execution=EXECUTION, **kw)
    return glue.submit("UnpauseActivity", request)


def _reset(glue: Glue, **kw: Any) -> Decision:
    if not {"id", "type", "match_all"} & kw.keys():
        kw["id"] = "1"
    request = ResetActivityRequest(namespace="default", execution=EXECUTION, **kw)
    return glue.submit("ResetActivity", request)


def _heartbeat(glue: Glue) -> RecordActivityTaskHeartbeatResponse:
    request = RecordActivityTaskHeartbeatRequest(
        task_token=glue.activity_task(SID)["task_token"], identity="worker-1"
    )
    return ok_payload(
        glue.submit("RecordActivityTaskHeartbeat", request), RecordActivityTaskHeartbeatResponse
    )


def _describe(glue: Glue) -> Any:
    request = DescribeWorkflowExecutionRequest(namespace="default", execution=EXECUTION)
    response = ok_payload(
        glue.submit("DescribeWorkflowExecution", request), DescribeWorkflowExecutionResponse
    )
    (pending,) = response.pending_activities
    return pending


def _error(decision: Decision) -> tuple[int, str]:
    assert decision.events == [] and decision.updates == [] and decision.reply is not None
    return decision.reply.status_code, decision.reply.message


def _kinds(glue: Glue) -> set[str]:
    return {d.kind for d in deadlines(glue.state)}


def _activity_tasks(glue: Glue) -> list[dict[str, Any]]:
    return [t for t in glue.tasks if t["task_kind"] == "activity"]


def _record_started(glue: Glue, task: dict[str, Any], request_id: str) -> Decision:
    message = ActivityTaskStarted.for_task(task, "worker-1", request_id, 0)
    return glue.submit("RecordActivityTaskStarted", message)


def _assert_restorable(glue: Glue) -> None:
    restored = glue.restore()
    assert restored is not None and glue.state is not None
    assert restored.to_bytes() == glue.state.to_bytes()


def test_pause_of_a_running_activity_holds_its_next_attempt_until_the_unpause() -> None:
    glue = Glue()
    with_activity(glue, heartbeat_timeout=seconds(2), retry_policy=RetryPolicy(maximum_attempts=1))
    glue.start_activity(SID)
    paused = _pause(glue)
    assert paused.reply is not None and paused.reply.ok and paused.events == []
    assert _heartbeat(glue).activity_paused
    info = _describe(glue)
    assert info.paused and info.state == PendingActivityState.PENDING_ACTIVITY_STATE_PAUSE_REQUESTED
    assert info.pause_info.manual.identity == "operator"
    assert info.pause_info.manual.reason == "maintenance"
    # A paused activity has no timers: no heartbeat or start-to-close timeout.
    assert not {k for k in _kinds(glue) if k.startswith("activity")}
    # The failed attempt is retried although it was the last one (Temporal skips the
    # attempts check for a paused activity), but nothing is dispatched.
    tasks_before = len(_activity_tasks(glue))
    failed = glue.fail_activity(SID, app_failure("paused"))
    assert failed.events == []
    info = _describe(glue)
    assert info.attempt == 2 and info.state == PendingActivityState.PENDING_ACTIVITY_STATE_PAUSED
    assert info.last_failure.message == "paused"
    assert not info.HasField("next_attempt_schedule_time")
    assert RETRY not in _kinds(glue) and len(_activity_tasks(glue)) == tasks_before
    unpaused = _unpause(glue)
    assert unpaused.reply is not None and unpaused.reply.ok and unpaused.events == []
    assert glue.deadline(RETRY).fire_at_ms == glue.now_ms
    glue.fire(RETRY)
    task = _activity_tasks(glue)[-1]
    assert task["attempt"] == 2
    assert not _describe(glue).paused
    _assert_restorable(glue)


def test_pause_is_refused_twice_unless_it_is_the_same_request() -> None:
    glue = Glue()
    with_activity(glue)
    _pause(glue)
    assert _pause(glue).reply.ok  # type: ignore[union-attr]
    assert _error(_pause(glue, request_id="other")) == (
        Code.FAILED_PRECONDITION,
        MSG_ALREADY_PAUSED,
    )


def test_a_paused_activity_waiting_in_matching_is_not_started() -> None:
    glue = Glue()
    with_activity(glue)
    queued = _activity_tasks(glue)[-1]
    _pause(glue)
    refused = _record_started(glue, queued, "dispatch-1")
    assert refused.reply is not None and refused.reply.status_code == Code.NOT_FOUND
    _unpause(glue, jitter=seconds(4))
    # The jitter delays the new dispatch by less than its length.
    at = glue.deadline(RETRY).fire_at_ms
    assert glue.now_ms <= at < glue.now_ms + 4000
    glue.fire(RETRY)
    # The task from before the pause is still queued: the unpause moved the stamp on.
    assert _error(_record_started(glue, queued, "dispatch-1"))[0] == Code.FAILED_PRECONDITION
    started = _record_started(glue, _activity_tasks(glue)[-1], "dispatch-2")
    assert started.reply is not None and started.reply.ok


def test_unpause_leaves_an_activity_that_is_not_paused_alone() -> None:
    glue = Glue()
    with_activity(glue)
    decision = _unpause(glue)
    assert decision.reply is not None and decision.reply.ok and decision.updates == []


def test_missing_activities_and_workflows_are_not_found() -> None:
    glue = Glue()
    with_activity(glue)
    for decision in (
        _pause(glue, id="nope"),
        _pause(glue, id=None, type="unknown-type"),
        _unpause(glue, id="nope"),
        _reset(glue, type="unknown-type"),
    ):
        assert _error(decision) == (Code.NOT_FOUND, MSG_ACTIVITY_NOT_FOUND)
    other = Glue(workflow_id="never-started")
    assert _error(_pause(other))[0] == Code.NOT_FOUND


def test_a_closed_workflow_is_not_found() -> None:
    glue = Glue()
    with_activity(glue)
    glue.start_activity(SID)
    glue.complete_activity(SID)
    task = ok_payload(glue.poll_workflow_task("poll-2"), PollWorkflowTaskQueueResponse)
    glue.complete_workflow_task(task, complete_workflow())
    assert _error(_pause(glue)) == (Code.NOT_FOUND, "workflow execution already completed")


def test_pause_by_type_pauses_every_pending_activity_of_that_type() -> None:
    glue = Glue()
    with_activity(glue, activity_type="greet")
    decision = _pause(glue, id=None, type="greet")
    assert decision.reply is not None and decision.reply.ok
    assert _describe(glue).paused


def test_reset_of_a_running_activity_is_told_to_the_worker_and_starts_at_attempt_one() -> None:
    glue = Glue()
    with_activity(glue, retry_policy=RetryPolicy(maximum_attempts=5))
    glue.start_activity(SID)
    assert not _heartbeat(glue).activity_reset
    reset = _reset(glue, reset_heartbeat=True)
    assert reset.reply is not None and reset.reply.ok and reset.events == []
    response = _heartbeat(glue)
    assert response.activity_reset and not response.activity_paused
    # The worker's cancellation fails the attempt: a normal retry, the flags cleared and,
    # with reset_heartbeat, the details dropped for the next attempt.
    glue.fail_activity(SID, app_failure("reset"))
    assert glue.state is not None
    info = glue.state.activities[SID]
    assert info.attempt == 2 and not info.activity_reset and info.heartbeat_details == b""
    _assert_restorable(glue)


def test_reset_of_an_activity_in_backoff_dispatches_attempt_one_now() -> None:
    glue = Glue()
    policy = RetryPolicy(initial_interval=seconds(100), maximum_attempts=10)
    with_activity(glue, retry_policy=policy)
    glue.start_activity(SID)
    glue.fail_activity(SID, app_failure())
    assert glue.deadline(RETRY).fire_at_ms > glue.now_ms + 90_000
    _reset(glue)
    assert glue.deadline(RETRY).fire_at_ms == glue.now_ms
    glue.fire(RETRY)
    task = _activity_tasks(glue)[-1]
    assert task["attempt"] == 1
    assert PollActivityTaskQueueResponse.FromString(task["payload"]).attempt == 1


def test_reset_keeps_a_paused_activity_paused_when_asked() -> None:
    glue = Glue()
    with_activity(glue)
    _pause(glue)
    _reset(glue, keep_paused=True)
    assert _describe(glue).paused and RETRY not in _kinds(glue)
    _reset(glue)
    assert not _describe(glue).paused and RETRY in _kinds(glue)


def _update(glue: Glue, paths: list[str] | None, **kw: Any) -> Decision:
    kw.setdefault("id", "1")
    request = UpdateActivityOptionsRequest(namespace="default", execution=EXECUTION, **kw)
    if paths is not None:
        request.update_mask.CopyFrom(FieldMask(paths=paths))
    return glue.submit("UpdateActivityOptions", request)


def test_update_options_changes_the_running_attempts_timeout() -> None:
    glue = Glue()
    with_activity(glue, start_to_close_ms=10_000)
    glue.start_activity(SID)
    options = ActivityOptions(start_to_close_timeout=seconds(30))
    decision = _update(glue, ["start_to_close_timeout"], activity_options=options)
    response = ok_payload(decision, UpdateActivityOptionsResponse)
    assert response.activity_options.start_to_close_timeout.seconds == 30
    deadline = glue.deadline(DeadlineKind.ACTIVITY_START_TO_CLOSE.value)
    assert glue.state is not None
    assert deadline.fire_at_ms == glue.state.activities[SID].started_time_ms + 30_000
    assert _describe(glue).activity_options.start_to_close_timeout.seconds == 30
    restored = _update(glue, None, restore_original=True)
    assert (
        ok_payload(
            restored, UpdateActivityOptionsResponse
        ).activity_options.start_to_close_timeout.seconds
        == 10
    )
    _assert_restorable(glue)


def test_update_options_moves_a_waiting_activity_to_another_queue() -> None:
    glue = Glue()
    with_activity(glue)
    options = ActivityOptions(task_queue=TaskQueue(name="elsewhere"))
    _update(glue, ["task_queue.name"], activity_options=options)
    glue.fire(RETRY)
    task = _activity_tasks(glue)[-1]
    assert task["task_queue"] == "elsewhere" and task["attempt"] == 1


def test_update_options_refuses_bad_requests() -> None:
    glue = Glue()
    with_activity(glue)
    options = ActivityOptions(start_to_close_timeout=seconds(30))
    assert _error(_update(glue, ["start_to_close_timeout"], restore_original=True)) == (
        Code.INVALID_ARGUMENT,
        MSG_BOTH,
    )
    assert _error(_update(glue, None, activity_options=options)) == (
        Code.INVALID_ARGUMENT,
        MSG_NO_MASK,
    )
    bad_policy = ActivityOptions(retry_policy=RetryPolicy(backoff_coefficient=0.5))
    assert _error(
        _update(glue, ["retry_policy.backoff_coefficient"], activity_options=bad_policy)
    ) == (Code.INVALID_ARGUMENT, "BackoffCoefficient cannot be less than 1 on retry policy.")
    no_timeouts = ActivityOptions()
    code, message = _error(
        _update(
            glue,
            ["start_to_close_timeout", "schedule_to_close_timeout"],
            activity_options=no_timeouts,
        )
    )
    assert code == Code.INVALID_ARGUMENT and "StartToCloseTimeout" in message


def test_reset_restores_the_scheduled_options_when_asked() -> None:
    glue = Glue()
    with_activity(glue, start_to_close_ms=10_000)
    options = ActivityOptions(start_to_close_timeout=seconds(40))
    _update(glue, ["startToCloseTimeout"], activity_options=options)  # camelCase paths too
    assert _describe(glue).activity_options.start_to_close_timeout.seconds == 40
    _reset(glue, restore_original_options=True)
    assert _describe(glue).activity_options.start_to_close_timeout.seconds == 10
    _assert_restorable(glue)


def test_update_options_of_all_pending_activities() -> None:
    glue = Glue()
    with_activity(glue)
    options = ActivityOptions(retry_policy=RetryPolicy(maximum_attempts=7))
    decision = _update(
        glue, ["retry_policy.maximum_attempts"], id=None, match_all=True, activity_options=options
    )
    response = ok_payload(decision, UpdateActivityOptionsResponse)
    assert response.activity_options.retry_policy.maximum_attempts == 7
    assert _describe(glue).maximum_attempts == 7
    # The next attempt's task carries the new policy.
    glue.fire(RETRY)
    payload = PollActivityTaskQueueResponse.FromString(_activity_tasks(glue)[-1]["payload"])
    assert payload.retry_policy.maximum_attempts == 7


def test_a_state_written_before_the_operator_fields_still_loads() -> None:
    glue = Glue()
    with_activity(glue)
    assert glue.state is not None
    data = json.loads(glue.state.to_bytes())
    for info in data["activities"].values():
        for name in ("pause", "activity_reset", "reset_heartbeats", "priority", "stamp"):
            del info[name]
    loaded = ExecutionState.from_bytes(json.dumps(data).encode())
    assert not loaded.activities[SID].paused and not loaded.activities[SID].activity_reset
    assert loaded.activities[SID].stamp == 0


def _stale_task_is_refused(glue: Glue, stale: dict[str, Any]) -> None:
    """`stale` (queued before an operator sent the activity out again) cannot start it;
    the task sent out since can, and the first refusal changed nothing."""
    fresh = _activity_tasks(glue)[-1]
    assert fresh["stamp"] == stale["stamp"] + 1 and fresh["attempt"] == stale["attempt"]
    assert glue.state is not None
    stamp = glue.state.activities[SID].stamp
    code, message = _error(_record_started(glue, stale, "dispatch-old"))
    assert code == Code.FAILED_PRECONDITION
    assert message == (
        "Activity task rejected; stamp has changed. Id: 1,: type: "
        f"{glue.state.activities[SID].activity_type}, current stamp: {stamp}"
    )
    # The fire-and-forget notice of an older matching changes nothing either.
    notice = ActivityTaskStarted.for_task(stale, "worker-1", "dispatch-old", 0)
    assert glue.submit("ActivityTaskStarted", notice).updates == []
    started = _record_started(glue, fresh, "dispatch-new")
    assert started.reply is not None and started.reply.ok
    assert glue.state.activities[SID].request_id == "dispatch-new"
    _assert_restorable(glue)


def test_a_task_queued_before_new_options_cannot_start_the_activity() -> None:
    glue = Glue()
    with_activity(glue)
    stale = _activity_tasks(glue)[-1]
    options = ActivityOptions(task_queue=TaskQueue(name="elsewhere"))
    _update(glue, ["task_queue.name"], activity_options=options)
    # Before the new task goes out the activity waits for its retry deadline.
    assert _error(_record_started(glue, stale, "early"))[0] == Code.NOT_FOUND
    glue.fire(RETRY)
    assert _activity_tasks(glue)[-1]["task_queue"] == "elsewhere"
    _stale_task_is_refused(glue, stale)


def test_a_task_queued_before_a_reset_cannot_start_the_activity() -> None:
    glue = Glue()
    with_activity(glue)
    stale = _activity_tasks(glue)[-1]
    _reset(glue)
    glue.fire(RETRY)
    _stale_task_is_refused(glue, stale)


def test_a_started_attempt_keeps_its_stamp_and_its_retry_of_the_same_dispatch() -> None:
    glue = Glue()
    with_activity(glue)
    task = _activity_tasks(glue)[-1]
    first = _record_started(glue, task, "dispatch-1")
    assert first.reply is not None and first.reply.ok
    # New options for a running attempt send nothing out again: its stamp stays.
    options = ActivityOptions(start_to_close_timeout=seconds(30))
    _update(glue, ["start_to_close_timeout"], activity_options=options)
    assert glue.state is not None and glue.state.activities[SID].stamp == task["stamp"]
    again = _record_started(glue, task, "dispatch-1")
    assert again.reply is not None and again.reply.ok
