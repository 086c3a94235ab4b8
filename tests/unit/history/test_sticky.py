"""ResetStickyTaskQueue and StickyWorkerUnavailable: a run leaves its worker's sticky queue."""

from __future__ import annotations

from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueResponse,
    ResetStickyTaskQueueRequest,
)

from history_processor.model import Decision
from history_processor.updates import UpdateKind
from schemas.inbox import StickyWorkerUnavailable
from schemas.reply import Code
from tests.unit.history.harness import (
    Glue,
    complete_workflow,
    ok_payload,
    types,
    with_activity,
)


def _reset(glue: Glue, run_id: str = "") -> Decision:
    request = ResetStickyTaskQueueRequest(
        namespace="default",
        execution=WorkflowExecution(workflow_id=glue.workflow_id, run_id=run_id),
    )
    return glue.submit("ResetStickyTaskQueue", request)


def test_reset_sends_the_next_workflow_task_to_the_normal_queue() -> None:
    glue = Glue()
    with_activity(glue)
    assert glue.state is not None and glue.state.sticky_task_queue == "worker-1-sticky"
    reset = _reset(glue)
    assert reset.events == []
    assert [k for k, _ in reset.updates] == [UpdateKind.STICKY.value]
    glue.start_activity(5)
    done = glue.complete_activity(5)
    (task,) = done.tasks
    assert (task["task_queue"], task["task_queue_kind"]) == ("golden", "normal")
    scheduled = done.events[-1].workflow_task_scheduled_event_attributes
    assert scheduled.task_queue.name == "golden"
    # The worker on the normal queue gets the whole history.
    poll = ok_payload(glue.poll_workflow_task(), PollWorkflowTaskQueueResponse)
    assert poll.history.events[0].event_id == 1
    assert glue.restore() == glue.state


def test_reset_of_a_run_that_is_not_sticky_or_not_running() -> None:
    glue = Glue()
    missing = _reset(glue).reply
    assert missing is not None and missing.message == "workflow not found for ID: wf-1"
    glue.start()
    unchanged = _reset(glue)
    assert unchanged.reply is not None and unchanged.reply.ok and unchanged.updates == []
    poll = ok_payload(glue.poll_workflow_task(), PollWorkflowTaskQueueResponse)
    glue.complete_workflow_task(poll, complete_workflow())
    closed = _reset(glue).reply
    assert closed is not None
    assert (closed.status_code, closed.message) == (
        Code.NOT_FOUND,
        "workflow execution already completed",
    )


def _unavailable(glue: Glue, **over: Any) -> Decision:
    task = glue.last_task("workflow")
    fields: dict[str, Any] = {
        "namespace": "default",
        "workflow_id": glue.workflow_id,
        "run_id": task["run_id"],
        "scheduled_event_id": task["scheduled_event_id"],
        "attempt": task["attempt"],
        "task_queue": task["task_queue"],
        **over,
    }
    return glue.submit("StickyWorkerUnavailable", StickyWorkerUnavailable(**fields))


def test_a_sticky_task_without_worker_goes_to_the_normal_queue() -> None:
    glue = Glue()
    with_activity(glue)
    glue.start_activity(5)
    glue.complete_activity(5)
    sticky_task = glue.last_task("workflow")
    assert sticky_task["task_queue_kind"] == "sticky"
    moved = _unavailable(glue)
    assert moved.events == [] and moved.updates == []
    (task,) = moved.tasks
    assert (task["task_queue"], task["task_queue_kind"]) == ("golden", "normal")
    assert task["scheduled_event_id"] == sticky_task["scheduled_event_id"]
    # Started from the normal queue, the run is no longer sticky, as in Temporal.
    poll = ok_payload(glue.poll_workflow_task(), PollWorkflowTaskQueueResponse)
    assert poll.history.events[0].event_id == 1
    assert glue.state is not None and glue.state.sticky_task_queue == ""
    assert types(glue.events)[-1] == "WORKFLOW_TASK_STARTED"


def test_stale_sticky_unavailable_notices_change_nothing() -> None:
    glue = Glue()
    with_activity(glue)
    glue.start_activity(5)
    glue.complete_activity(5)
    for stale in (
        {"attempt": 2},
        {"scheduled_event_id": 3},
        {"run_id": "other"},
        {"task_queue": "another-sticky"},
    ):
        assert _unavailable(glue, **stale).tasks == []
    glue.poll_workflow_task()
    assert _unavailable(glue).tasks == []  # it started meanwhile
