"""Activities: retries with backoff, retry policy limits, heartbeats, timeouts, stale tokens."""

from __future__ import annotations

from temporalio.api.enums.v1 import RetryState, TimeoutType
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    PollActivityTaskQueueResponse,
    RecordActivityTaskHeartbeatRequest,
    RecordActivityTaskHeartbeatResponse,
    RespondActivityTaskCompletedRequest,
)

from history_processor.deadlines import DeadlineKind, deadlines
from history_processor.updates import UpdateKind
from schemas import tokens
from schemas.reply import Code
from tests.unit.history.harness import Glue, app_failure, ok_payload, payloads, types, with_activity

RETRY = DeadlineKind.ACTIVITY_RETRY.value


def _retry_policy(**kw: object) -> dict[str, object]:
    return {"retry_policy": {"initial_interval": {"seconds": 1}, **kw}}


def test_activity_task_record_and_poll_payload() -> None:
    glue = Glue()
    with_activity(glue, heartbeat_timeout={"seconds": 3})
    task = glue.last_task("activity")
    assert (task["task_queue"], task["task_queue_kind"], task["attempt"]) == ("golden", "normal", 1)
    token = tokens.decode(task["task_token"])
    assert (token.kind, token.scheduled_event_id, token.attempt, token.activity_id) == (
        tokens.TaskKind.ACTIVITY,
        5,
        1,
        "1",
    )
    response = PollActivityTaskQueueResponse.FromString(task["payload"])
    assert response.activity_id == "1" and response.activity_type.name == "greet"
    assert response.workflow_execution.run_id == "run-0001" and response.attempt == 1
    assert response.start_to_close_timeout.seconds == 10 and response.heartbeat_timeout.seconds == 3
    assert response.retry_policy.maximum_interval.seconds == 100
    assert response.task_token == task["task_token"]


def test_failed_attempts_retry_with_exponential_backoff() -> None:
    glue = Glue()
    with_activity(glue, **_retry_policy(backoff_coefficient=3.0, maximum_interval={"seconds": 5}))
    backoffs = []
    for attempt in (1, 2, 3):
        glue.start_activity(5)
        failed = glue.fail_activity(5, app_failure(f"fail {attempt}"))
        assert failed.events == [] and failed.tasks == []  # a retry writes no history
        assert [kind for kind, _ in failed.updates] == [UpdateKind.ACTIVITY_RETRY.value]
        backoffs.append(glue.deadline(RETRY).fire_at_ms - glue.now_ms)
        fired = glue.fire(RETRY)
        (task,) = fired.tasks
        assert task["attempt"] == attempt + 1
        assert tokens.decode(task["task_token"]).attempt == attempt + 1
        assert not [d for d in deadlines(glue.state) if d.kind == RETRY]
    assert backoffs == [1000, 3000, 5000]  # 1s, 3s, then capped at the maximum interval
    glue.start_activity(5)
    done = glue.complete_activity(5)
    assert types(done) == [
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    started = done.events[0].activity_task_started_event_attributes
    assert started.attempt == 4 and started.last_failure.message == "fail 3"
    assert started.request_id == "act-5-4"
    assert glue.restore() == glue.state


def test_stale_attempt_token_is_not_found() -> None:
    glue = Glue()
    with_activity(glue)
    old_token = glue.last_task("activity")["task_token"]
    glue.start_activity(5)
    glue.fail_activity(5, app_failure())
    # During the backoff, and after the next attempt was dispatched, attempt 1's token is stale.
    for fire_retry in (True, False):
        stale = glue.submit(
            "RespondActivityTaskCompleted",
            RespondActivityTaskCompletedRequest(task_token=old_token),
        )
        assert stale.events == [] and stale.reply is not None
        assert stale.reply.status_code == Code.NOT_FOUND
        assert stale.reply.message == (
            "invalid activityID or activity already timed out or invoking workflow is completed"
        )
        if fire_retry:
            glue.fire(RETRY)


def test_non_retryable_error_type_fails_at_once() -> None:
    glue = Glue()
    with_activity(glue, **_retry_policy(non_retryable_error_types=["Fatal"]))
    glue.start_activity(5)
    failed = glue.fail_activity(5, app_failure(error_type="Fatal"))
    assert types(failed) == [
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_FAILED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    attrs = failed.events[1].activity_task_failed_event_attributes
    assert attrs.retry_state == RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE
    assert (attrs.scheduled_event_id, attrs.started_event_id) == (5, 6)
    assert attrs.failure.application_failure_info.type == "Fatal"


def test_non_retryable_flag_and_maximum_attempts() -> None:
    glue = Glue()
    with_activity(glue, **_retry_policy())
    glue.start_activity(5)
    failed = glue.fail_activity(5, app_failure(non_retryable=True))
    assert failed.events[1].activity_task_failed_event_attributes.retry_state == (
        RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE
    )
    glue = Glue()
    with_activity(glue, **_retry_policy(maximum_attempts=2))
    glue.start_activity(5)
    glue.fail_activity(5, app_failure())
    glue.fire(RETRY)
    glue.start_activity(5)
    failed = glue.fail_activity(5, app_failure())
    assert failed.events[1].activity_task_failed_event_attributes.retry_state == (
        RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    )


def test_heartbeat_stores_details_and_moves_the_timeout() -> None:
    glue = Glue()
    with_activity(glue, heartbeat_timeout={"seconds": 2})
    glue.start_activity(5)
    first = glue.deadline(DeadlineKind.ACTIVITY_HEARTBEAT.value)
    assert first.fire_at_ms == glue.now_ms + 2000
    token = glue.last_task("activity")["task_token"]
    request = RecordActivityTaskHeartbeatRequest(
        task_token=token, details=payloads(b"progress"), identity="worker-1"
    )
    decision = glue.submit("RecordActivityTaskHeartbeat", request, advance_ms=500)
    assert decision.events == []
    response = ok_payload(decision, RecordActivityTaskHeartbeatResponse)
    assert response.cancel_requested is False
    moved = glue.deadline(DeadlineKind.ACTIVITY_HEARTBEAT.value)
    assert moved.fire_at_ms == glue.now_ms + 2000 > first.fire_at_ms
    # The old heartbeat deadline is stale now.
    assert glue.submit("TimerFired", first).events == []
    described = glue.submit("DescribeWorkflowExecution", DescribeWorkflowExecutionRequest())
    (pending,) = ok_payload(described, DescribeWorkflowExecutionResponse).pending_activities
    assert pending.heartbeat_details.payloads[0].data == b"progress"
    # A heartbeat timeout retries the activity; the details go to the next attempt.
    glue.fire(DeadlineKind.ACTIVITY_HEARTBEAT.value)
    fired = glue.fire(RETRY)
    payload = PollActivityTaskQueueResponse.FromString(fired.tasks[0]["payload"])
    assert payload.attempt == 2 and payload.heartbeat_details.payloads[0].data == b"progress"


def test_start_to_close_timeout_after_the_last_attempt() -> None:
    glue = Glue()
    with_activity(glue, **_retry_policy(maximum_attempts=2))
    glue.start_activity(5)
    glue.fail_activity(5, app_failure("first"))
    glue.fire(RETRY)
    glue.start_activity(5)
    timed_out = glue.fire(DeadlineKind.ACTIVITY_START_TO_CLOSE.value)
    assert types(timed_out) == [
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_TIMED_OUT",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    attrs = timed_out.events[1].activity_task_timed_out_event_attributes
    assert attrs.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    assert attrs.failure.message == "activity StartToClose timeout"
    assert attrs.failure.source == "Server"
    assert (
        attrs.failure.timeout_failure_info.timeout_type == TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
    )
    assert attrs.failure.cause.message == "first"  # the last attempt's failure
    assert attrs.started_event_id == timed_out.events[0].event_id


def test_schedule_to_close_timeout_stops_retries() -> None:
    glue = Glue()
    with_activity(glue, schedule_to_close_timeout={"seconds": 3}, **_retry_policy())
    glue.start_activity(5)
    glue.fail_activity(5, app_failure())
    glue.fire(RETRY)
    timed_out = glue.fire(DeadlineKind.ACTIVITY_SCHEDULE_TO_CLOSE.value)
    # Not started: no ActivityTaskStarted event.
    assert types(timed_out) == ["ACTIVITY_TASK_TIMED_OUT", "WORKFLOW_TASK_SCHEDULED"]
    attrs = timed_out.events[0].activity_task_timed_out_event_attributes
    assert attrs.retry_state == RetryState.RETRY_STATE_TIMEOUT and attrs.started_event_id == 0
    assert attrs.failure.message == (
        "Not enough time to schedule next retry before activity ScheduleToClose timeout, "
        "giving up retrying"
    )


def test_completion_before_the_started_notice_and_a_late_notice() -> None:
    glue = Glue()
    with_activity(glue)
    done = glue.complete_activity(5)  # matching's ActivityTaskStarted has not arrived yet
    assert types(done) == [
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert done.events[0].activity_task_started_event_attributes.identity == "worker-1"
    late = glue.start_activity(5)
    assert late.events == [] and late.updates == []
