"""Workflow tasks: start, poll response, stale tokens, failures, transient attempts, timeouts."""

from __future__ import annotations

from temporalio.api.enums.v1 import TaskQueueKind, TimeoutType, WorkflowTaskFailedCause
from temporalio.api.failure.v1 import Failure
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedResponse,
    RespondWorkflowTaskFailedRequest,
)

from history_processor.deadlines import DeadlineKind
from schemas import tokens
from schemas.reply import Code
from tests.unit.history.harness import (
    Glue,
    complete_workflow,
    first_task,
    ok_payload,
    schedule_activity,
    sticky,
    types,
)


def _fail(glue: Glue, poll: PollWorkflowTaskQueueResponse) -> None:
    request = RespondWorkflowTaskFailedRequest(
        task_token=poll.task_token,
        cause=WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
        failure=Failure(message="bug"),
        identity="worker-1",
    )
    reply = glue.submit("RespondWorkflowTaskFailed", request).reply
    assert reply is not None and reply.ok, reply


def _poll(glue: Glue, request_id: str = "poll-1") -> PollWorkflowTaskQueueResponse:
    return ok_payload(glue.poll_workflow_task(request_id=request_id), PollWorkflowTaskQueueResponse)


def test_poll_response_has_full_history_and_task_fields() -> None:
    glue = Glue()
    glue.start()
    decision = glue.poll_workflow_task()
    assert types(decision) == ["WORKFLOW_TASK_STARTED"]
    started = decision.events[0]
    assert started.event_id == 3
    assert started.workflow_task_started_event_attributes.scheduled_event_id == 2
    assert started.workflow_task_started_event_attributes.identity == "worker-1"
    assert started.workflow_task_started_event_attributes.request_id == "poll-1"
    response = ok_payload(decision, PollWorkflowTaskQueueResponse)
    assert [e.event_id for e in response.history.events] == [1, 2, 3]
    assert response.started_event_id == 3 and response.previous_started_event_id == 0
    assert response.attempt == 1 and response.next_page_token == b""
    assert response.workflow_type.name == "OneActivityWorkflow"
    assert response.workflow_execution.run_id == "run-0001"
    assert response.workflow_execution_task_queue.name == "golden"
    assert response.scheduled_time.ToMilliseconds() < response.started_time.ToMilliseconds()
    token = tokens.decode(response.task_token)
    assert (token.kind, token.scheduled_event_id, token.started_event_id) == (
        tokens.TaskKind.WORKFLOW,
        2,
        3,
    )
    assert (
        glue.deadline(DeadlineKind.WORKFLOW_TASK_START_TO_CLOSE.value).fire_at_ms
        == glue.now_ms + 10_000
    )


def test_record_started_is_idempotent_per_request_id() -> None:
    glue = Glue()
    glue.start()
    first = _poll(glue, "poll-1")
    again = glue.poll_workflow_task(request_id="poll-1")
    assert again.events == [] and again.reply is not None and again.reply.ok
    assert ok_payload(again, PollWorkflowTaskQueueResponse).task_token == first.task_token
    other = glue.poll_workflow_task(request_id="poll-2").reply
    assert other is not None and other.status_code == Code.ALREADY_EXISTS
    assert other.message == "Workflow task already started."


def test_stale_record_started_is_not_found() -> None:
    glue = Glue()
    poll = first_task(glue)
    glue.complete_workflow_task(poll, schedule_activity())
    # The old workflow task record comes back from matching.
    task = glue.last_task("workflow")
    glue.tasks.append({**task, "scheduled_event_id": 2})
    reply = glue.poll_workflow_task().reply
    assert reply is not None and reply.status_code == Code.NOT_FOUND
    assert reply.message == "Workflow task not found."


def test_stale_and_forged_tokens() -> None:
    glue = Glue()
    poll = first_task(glue)
    done = glue.complete_workflow_task(poll, schedule_activity())
    assert done.reply is not None and done.reply.ok
    again = glue.complete_workflow_task(poll, complete_workflow())
    assert again.events == [] and again.reply is not None
    assert (again.reply.status_code, again.reply.message) == (
        Code.NOT_FOUND,
        "Workflow task not found.",
    )
    forged = PollWorkflowTaskQueueResponse(task_token=b"not a token")
    bad = glue.complete_workflow_task(forged, complete_workflow()).reply
    assert bad is not None and (bad.status_code, bad.message) == (
        Code.INVALID_ARGUMENT,
        "error deserializing task token",
    )
    activity_token = PollWorkflowTaskQueueResponse(
        task_token=glue.last_task("activity")["task_token"]
    )
    wrong_kind = glue.complete_workflow_task(activity_token, complete_workflow()).reply
    assert wrong_kind is not None and wrong_kind.status_code == Code.INVALID_ARGUMENT


def test_completion_schedules_activities_and_sets_sticky() -> None:
    glue = Glue()
    poll = first_task(glue)
    decision = glue.complete_workflow_task(
        poll, schedule_activity("a"), schedule_activity("b"), sticky_attributes=sticky()
    )
    assert types(decision) == [
        "WORKFLOW_TASK_COMPLETED",
        "ACTIVITY_TASK_SCHEDULED",
        "ACTIVITY_TASK_SCHEDULED",
    ]
    assert [t["scheduled_event_id"] for t in decision.tasks] == [5, 6]
    assert not ok_payload(decision, RespondWorkflowTaskCompletedResponse).HasField("workflow_task")
    assert glue.state is not None and glue.state.sticky_task_queue == "worker-1-sticky"
    assert glue.state.last_completed_wft_started_event_id == 3
    # The next workflow task goes to the sticky queue with a schedule-to-start timeout.
    glue.complete_activity(5)
    wft = glue.last_task("workflow")
    assert (wft["task_queue"], wft["task_queue_kind"], wft["task_queue_partition"]) == (
        "worker-1-sticky",
        "sticky",
        0,
    )
    assert wft["schedule_to_start_timeout_ms"] == 10_000
    response = _poll_sticky(glue)
    # A sticky poller gets only what happened after its previous task.
    assert [e.event_id for e in response.history.events] == [4, 5, 6, 7, 8, 9, 10]
    assert response.previous_started_event_id == 3


def _poll_sticky(glue: Glue) -> PollWorkflowTaskQueueResponse:
    return _poll(glue, "poll-sticky")


def test_sticky_schedule_to_start_timeout_falls_back_to_normal_queue() -> None:
    glue = Glue()
    poll = first_task(glue)
    glue.complete_workflow_task(
        poll, schedule_activity(), sticky_attributes=sticky(timeout_ms=5_000)
    )
    glue.complete_activity(5)
    fired = glue.fire(DeadlineKind.WORKFLOW_TASK_SCHEDULE_TO_START.value)
    assert types(fired) == ["WORKFLOW_TASK_TIMED_OUT", "WORKFLOW_TASK_SCHEDULED"]
    timed_out = fired.events[0].workflow_task_timed_out_event_attributes
    assert timed_out.timeout_type == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START
    assert timed_out.started_event_id == 0
    scheduled = fired.events[1].workflow_task_scheduled_event_attributes
    assert (
        scheduled.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_NORMAL and scheduled.attempt == 1
    )
    assert glue.state is not None and glue.state.sticky_task_queue == ""
    assert fired.tasks[0]["task_queue_kind"] == "normal"


def test_failed_task_retries_as_transient_task() -> None:
    glue = Glue()
    poll = first_task(glue)
    _fail(glue, poll)
    # Attempt 2 is transient: only the failure is written, the retry is not (yet).
    assert types(glue.decisions[-1]) == ["WORKFLOW_TASK_FAILED"]
    failed = glue.decisions[-1].events[0].workflow_task_failed_event_attributes
    assert (failed.scheduled_event_id, failed.started_event_id) == (2, 3)
    assert failed.failure.message == "bug" and failed.identity == "worker-1"
    (task,) = glue.decisions[-1].tasks
    assert (task["scheduled_event_id"], task["attempt"], task["task_queue_kind"]) == (
        5,
        2,
        "normal",
    )
    second = _poll(glue, "poll-2")
    assert glue.decisions[-1].events == []
    assert second.attempt == 2 and second.started_event_id == 6
    # The poll response shows the transient events after the stored ones.
    assert [e.event_id for e in second.history.events] == [1, 2, 3, 4, 5, 6]
    assert types(second.history.events)[-2:] == ["WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED"]
    assert second.history.events[4].workflow_task_scheduled_event_attributes.attempt == 2
    _fail(glue, second)
    assert glue.decisions[-1].events == []
    third = _poll(glue, "poll-3")
    assert glue.decisions[-1].events == []
    assert (third.attempt, third.started_event_id) == (3, 6)
    # The stale attempt-2 token is rejected.
    stale = glue.complete_workflow_task(second, complete_workflow()).reply
    assert stale is not None and stale.status_code == Code.NOT_FOUND
    # Completing the transient task writes its scheduled and started events.
    done = glue.complete_workflow_task(third, complete_workflow())
    assert types(done) == [
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    assert [e.event_id for e in done.events] == [5, 6, 7, 8]
    assert done.events[0].workflow_task_scheduled_event_attributes.attempt == 3
    assert done.events[1].workflow_task_started_event_attributes.request_id == "poll-3"
    assert glue.restore() == glue.state


def test_failure_on_sticky_queue_does_not_count_an_attempt() -> None:
    glue = Glue()
    poll = first_task(glue)
    glue.complete_workflow_task(poll, schedule_activity(), sticky_attributes=sticky())
    glue.complete_activity(5)
    sticky_poll = _poll(glue, "poll-2")
    _fail(glue, sticky_poll)
    scheduled = glue.decisions[-1].events[-1].workflow_task_scheduled_event_attributes
    assert (
        scheduled.attempt == 1 and scheduled.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    )


def test_start_to_close_timeout_and_attempt_backoff() -> None:
    glue = Glue()
    first_task(glue)
    fired = glue.fire(DeadlineKind.WORKFLOW_TASK_START_TO_CLOSE.value)
    assert types(fired) == ["WORKFLOW_TASK_TIMED_OUT"]
    timed_out = fired.events[0].workflow_task_timed_out_event_attributes
    assert timed_out.timeout_type == TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
    assert (timed_out.scheduled_event_id, timed_out.started_event_id) == (2, 3)
    assert fired.tasks[0]["attempt"] == 2
    timeouts = []
    for attempt in range(2, 7):
        poll = _poll(glue, f"poll-{attempt}")
        assert poll.attempt == attempt
        deadline = glue.deadline(DeadlineKind.WORKFLOW_TASK_START_TO_CLOSE.value)
        timeouts.append(deadline.fire_at_ms - glue.now_ms)
        fired = glue.fire(DeadlineKind.WORKFLOW_TASK_START_TO_CLOSE.value)
        assert fired.events == []  # transient attempts time out silently
        assert fired.tasks[0]["attempt"] == attempt + 1
    # Attempts above 3 get longer timeouts (Temporal paces retries this way).
    assert timeouts == [10_000, 10_000, 15_000, 20_000, 30_000]
    assert glue.state is not None and glue.state.workflow_task is not None
    assert glue.state.workflow_task.attempt == 7 and glue.state.workflow_task.transient
    assert glue.restore() == glue.state


def test_stale_timer_is_a_no_op() -> None:
    glue = Glue()
    first_task(glue)
    deadline = glue.deadline(DeadlineKind.WORKFLOW_TASK_START_TO_CLOSE.value)
    glue.fire(DeadlineKind.WORKFLOW_TASK_START_TO_CLOSE.value)
    again = glue.submit("TimerFired", deadline)
    assert again.events == [] and again.updates == [] and again.tasks == []


def test_transient_task_becomes_normal_when_events_arrive() -> None:
    glue = Glue()
    poll = first_task(glue)
    glue.complete_workflow_task(poll, schedule_activity("a"), schedule_activity("b"))
    glue.complete_activity(5)  # 7, 8 and the workflow task 9
    _fail(glue, _poll(glue, "poll-2"))  # 10 started, 11 failed; attempt 2 is transient
    assert glue.state is not None and glue.state.workflow_task is not None
    assert glue.state.workflow_task.transient
    # Activity b completes while the transient task waits (not started): written at once.
    assert types(glue.complete_activity(6)) == ["ACTIVITY_TASK_STARTED", "ACTIVITY_TASK_COMPLETED"]
    started = glue.poll_workflow_task(request_id="poll-3")
    assert types(started) == ["WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED"]
    assert [e.event_id for e in started.events] == [14, 15]
    assert started.events[0].workflow_task_scheduled_event_attributes.attempt == 1
    response = ok_payload(started, PollWorkflowTaskQueueResponse)
    assert (response.attempt, response.started_event_id) == (1, 15)
    assert [e.event_id for e in response.history.events] == list(range(1, 16))
    assert glue.restore() == glue.state
