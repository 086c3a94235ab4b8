"""Workflow task heartbeats: a worker keeps its task alive while a local activity runs long."""

from __future__ import annotations

from temporalio.api.enums.v1 import TaskQueueKind, TimeoutType
from temporalio.api.workflowservice.v1 import RespondWorkflowTaskCompletedResponse

from history_processor.handlers.respond_workflow_task_completed import (
    WORKFLOW_TASK_HEARTBEAT_TIMEOUT_MS,
)
from schemas.reply import Code
from tests.unit.history.harness import (
    Glue,
    complete_workflow,
    first_task,
    ok_payload,
    sticky,
    types,
)
from tests.unit.history.test_markers import record_marker

HEARTBEAT = {
    "force_create_new_workflow_task": True,
    "return_new_workflow_task": True,
    "sticky_attributes": sticky(),
}


def test_a_heartbeat_completes_the_task_and_returns_a_new_one_started() -> None:
    glue = Glue()
    poll = first_task(glue)
    size_before = glue.state.history_size_bytes  # type: ignore[union-attr]

    decision = glue.complete_workflow_task(poll, record_marker("core_local_activity"), **HEARTBEAT)

    assert types(decision) == [
        "WORKFLOW_TASK_COMPLETED",
        "MARKER_RECORDED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
    ]
    scheduled = decision.events[2].workflow_task_scheduled_event_attributes
    assert scheduled.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY
    started = decision.events[3].workflow_task_started_event_attributes
    assert started.request_id == "request-from-RespondWorkflowTaskCompleted"
    # Temporal reports the history committed before this completion.
    assert started.history_size_bytes == size_before
    assert decision.tasks == []  # the worker has the new task already
    new_task = ok_payload(decision, RespondWorkflowTaskCompletedResponse).workflow_task
    assert new_task.started_event_id == 7
    # A sticky worker gets only what it has not seen.
    assert [e.event_id for e in new_task.history.events] == [4, 5, 6, 7]


def test_heartbeats_past_the_timeout_time_the_task_out() -> None:
    glue = Glue()
    poll = first_task(glue)
    first_scheduled = glue.state.workflow_task.scheduled_time_ms  # type: ignore[union-attr]
    # Heartbeats keep the chain's first scheduled time ...
    for _ in range(3):
        decision = glue.complete_workflow_task(poll, **HEARTBEAT)
        poll = ok_payload(decision, RespondWorkflowTaskCompletedResponse).workflow_task
        task = glue.state.workflow_task  # type: ignore[union-attr]
        assert task is not None and task.first_scheduled_time_ms == first_scheduled
    assert glue.restore() == glue.state
    # ... until they have gone on for longer than Temporal allows.
    glue.now_ms = first_scheduled + WORKFLOW_TASK_HEARTBEAT_TIMEOUT_MS
    decision = glue.complete_workflow_task(poll, **HEARTBEAT)

    assert decision.reply is not None and decision.reply.status_code == Code.NOT_FOUND
    assert decision.reply.message == "workflow task heartbeat timeout"
    assert types(decision) == ["WORKFLOW_TASK_TIMED_OUT", "WORKFLOW_TASK_SCHEDULED"]
    timed_out = decision.events[0].workflow_task_timed_out_event_attributes
    assert timed_out.timeout_type == TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
    state = glue.state
    assert state is not None and state.sticky_task_queue == ""
    # A task that failed on a sticky queue is retried once at the same attempt on the normal
    # queue, through matching (Temporal's failWorkflowTask).
    scheduled = decision.events[1].workflow_task_scheduled_event_attributes
    assert scheduled.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    assert [(t["task_queue_kind"], t["attempt"]) for t in decision.tasks] == [("normal", 1)]
    assert glue.restore() == glue.state


def test_a_completion_with_commands_is_progress_not_a_heartbeat() -> None:
    glue = Glue()
    poll = first_task(glue)
    decision = glue.complete_workflow_task(poll, record_marker("m"), **HEARTBEAT)
    poll = ok_payload(decision, RespondWorkflowTaskCompletedResponse).workflow_task
    task = glue.state.workflow_task  # type: ignore[union-attr]
    assert task is not None and task.original_scheduled_time_ms == 0
    glue.now_ms += WORKFLOW_TASK_HEARTBEAT_TIMEOUT_MS + 1
    decision = glue.complete_workflow_task(poll, complete_workflow(), **HEARTBEAT)
    assert decision.reply is not None and decision.reply.ok, decision.reply
    assert types(glue.events)[-1] == "WORKFLOW_EXECUTION_COMPLETED"
