"""The *ById activity RPCs: the activity found by its id, then the token handlers' logic."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import RetryState
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueResponse,
    RecordActivityTaskHeartbeatByIdRequest,
    RecordActivityTaskHeartbeatResponse,
    RespondActivityTaskCanceledByIdRequest,
    RespondActivityTaskCompletedByIdRequest,
    RespondActivityTaskFailedByIdRequest,
)

from history_processor.updates import UpdateKind
from schemas.reply import Code
from tests.unit.history.harness import (
    Glue,
    app_failure,
    complete_workflow,
    ok_payload,
    payloads,
    types,
    with_activity,
)
from tests.unit.history.test_activity_cancellation import SLOW, cancel, two_activities

NOT_STARTED = "invalid activityID or activity already timed out or invoking workflow is completed"


def _complete(glue: Glue, activity_id: str = "1", run_id: str = "", workflow_id: str = "") -> Any:
    request = RespondActivityTaskCompletedByIdRequest(
        namespace="default",
        workflow_id=workflow_id or glue.workflow_id,
        run_id=run_id,
        activity_id=activity_id,
        result=payloads(b"done"),
        identity="by-id-client",
    )
    return glue.submit("RespondActivityTaskCompletedById", request)


def _error(decision: Any) -> tuple[int, str]:
    assert decision.events == [] and decision.reply is not None
    return decision.reply.status_code, decision.reply.message


def test_completion_by_id_of_a_started_activity() -> None:
    glue = Glue()
    with_activity(glue)
    glue.start_activity(5)
    done = _complete(glue, run_id="run-0001")
    assert types(done) == [
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    started, completed, _ = done.events
    assert started.activity_task_started_event_attributes.identity == "worker-1"
    attrs = completed.activity_task_completed_event_attributes
    assert (attrs.identity, attrs.result.payloads[0].data) == ("by-id-client", b"done")
    assert attrs.started_event_id == started.event_id
    assert glue.restore() == glue.state


def test_completion_by_id_before_any_worker_took_it_makes_up_the_start() -> None:
    glue = Glue()
    with_activity(glue)
    done = _complete(glue)
    assert types(done)[:2] == ["ACTIVITY_TASK_STARTED", "ACTIVITY_TASK_COMPLETED"]
    started = done.events[0].activity_task_started_event_attributes
    assert (started.identity, started.request_id, started.attempt) == ("by-id-client", "", 1)


def test_heartbeat_fail_and_cancel_need_a_started_attempt() -> None:
    glue = Glue()
    with_activity(glue)
    common = {"namespace": "default", "workflow_id": glue.workflow_id, "activity_id": "1"}
    requests = {
        "RecordActivityTaskHeartbeatById": RecordActivityTaskHeartbeatByIdRequest(**common),
        "RespondActivityTaskFailedById": RespondActivityTaskFailedByIdRequest(**common),
        "RespondActivityTaskCanceledById": RespondActivityTaskCanceledByIdRequest(**common),
    }
    for kind, request in requests.items():
        assert _error(glue.submit(kind, request)) == (Code.NOT_FOUND, NOT_STARTED), kind


def test_heartbeat_by_id_records_details_and_reports_a_cancel_request() -> None:
    glue = Glue()
    with_activity(glue)
    glue.start_activity(5)
    request = RecordActivityTaskHeartbeatByIdRequest(
        namespace="default",
        workflow_id=glue.workflow_id,
        activity_id="1",
        details=payloads(b"half"),
    )
    decision = glue.submit("RecordActivityTaskHeartbeatById", request)
    assert [kind for kind, _ in decision.updates] == [UpdateKind.ACTIVITY_HEARTBEAT.value]
    answer = ok_payload(decision, RecordActivityTaskHeartbeatResponse)
    assert answer.cancel_requested is False
    assert glue.state is not None
    assert glue.state.activities[5].heartbeat_details == payloads(b"half").SerializeToString()


def test_failure_by_id_goes_through_the_retry_policy() -> None:
    glue = Glue()
    with_activity(glue, retry_policy={"maximum_attempts": 2})
    glue.start_activity(5)
    request = RespondActivityTaskFailedByIdRequest(
        namespace="default",
        workflow_id=glue.workflow_id,
        activity_id="1",
        failure=app_failure("once"),
        last_heartbeat_details=payloads(b"hb"),
    )
    retried = glue.submit("RespondActivityTaskFailedById", request)
    assert retried.events == []
    assert glue.state is not None and glue.state.activities[5].awaiting_retry
    assert glue.state.activities[5].heartbeat_details == payloads(b"hb").SerializeToString()
    glue.fire("activity_retry")
    glue.start_activity(5)
    final = glue.submit("RespondActivityTaskFailedById", request)
    attrs = final.events[1].activity_task_failed_event_attributes
    assert attrs.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED


def test_lookup_errors_in_temporals_words() -> None:
    glue = Glue()
    assert _error(_complete(glue)) == (Code.NOT_FOUND, "workflow not found for ID: wf-1")
    assert _error(_complete(glue, run_id="r-9")) == (
        Code.NOT_FOUND,
        'workflow execution not found for workflow ID "wf-1" and run ID "r-9"',
    )
    with_activity(glue)
    assert _error(_complete(glue, activity_id="other")) == (
        Code.NOT_FOUND,
        "cannot find pending activity with ActivityID other, check workflow execution history "
        "for more details",
    )
    assert _error(_complete(glue, activity_id="")) == (
        Code.INVALID_ARGUMENT,
        "activityID cannot be empty",
    )
    assert _error(_complete(glue, run_id="an-older-run")) == (
        Code.NOT_FOUND,
        "workflow execution already completed",
    )


def test_completion_by_id_of_a_closed_run() -> None:
    glue = Glue()
    with_activity(glue)
    glue.start_activity(5)
    _complete(glue)
    poll = ok_payload(glue.poll_workflow_task(), PollWorkflowTaskQueueResponse)
    glue.complete_workflow_task(poll, complete_workflow())
    assert _error(_complete(glue)) == (Code.NOT_FOUND, "workflow execution already completed")


def test_cancel_by_id_after_a_request() -> None:
    glue = Glue()
    poll = two_activities(glue)
    glue.start_activity(SLOW)
    cancel(glue, poll)
    request = RespondActivityTaskCanceledByIdRequest(
        namespace="default",
        workflow_id=glue.workflow_id,
        activity_id="slow",
        details=payloads(b"bye"),
        identity="by-id-client",
    )
    canceled = glue.submit("RespondActivityTaskCanceledById", request)
    assert types(canceled) == [
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_CANCELED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    attrs = canceled.events[1].activity_task_canceled_event_attributes
    assert (attrs.identity, attrs.details.payloads[0].data) == ("by-id-client", b"bye")
