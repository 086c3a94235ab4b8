"""GetWorkflowExecutionHistory pages and long polls; DescribeWorkflowExecution."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import (
    HistoryEventFilterType,
    PendingActivityState,
    PendingWorkflowTaskState,
    WorkflowExecutionStatus,
)
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
)

from history_processor.deadlines import DeadlineKind
from history_processor.reads import get_workflow_execution_history, long_poll_timeout_reply
from schemas.reply import Code, Reply
from tests.unit.history.harness import (
    Glue,
    complete_workflow,
    first_task,
    ok_payload,
    types,
    with_activity,
)

CLOSE = HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT


def _history(glue: Glue, **kw: Any) -> Reply | None:
    request = GetWorkflowExecutionHistoryRequest(namespace="default", **kw)
    return get_workflow_execution_history(glue.state, request, glue.read_events)


def _page(reply: Reply | None) -> GetWorkflowExecutionHistoryResponse:
    return ok_payload(reply, GetWorkflowExecutionHistoryResponse)


def _ids(reply: Reply | None) -> list[int]:
    return [e.event_id for e in _page(reply).history.events]


def _describe(glue: Glue) -> DescribeWorkflowExecutionResponse:
    decision = glue.submit("DescribeWorkflowExecution", DescribeWorkflowExecutionRequest())
    return ok_payload(decision, DescribeWorkflowExecutionResponse)


def test_pages_through_a_closed_history() -> None:
    glue = Glue()
    poll = first_task(glue)
    glue.complete_workflow_task(poll, complete_workflow())
    whole = _history(glue)
    assert _ids(whole) == [1, 2, 3, 4, 5] and _page(whole).next_page_token == b""
    pages, token = [], b""
    while True:
        reply = _history(glue, maximum_page_size=2, next_page_token=token)
        pages.append(_ids(reply))
        token = _page(reply).next_page_token
        if not token:
            break
    assert pages == [[1, 2], [3, 4], [5]]


def test_close_event_filter_and_long_poll() -> None:
    glue = Glue()
    poll = first_task(glue)
    assert _history(glue, history_event_filter_type=CLOSE, wait_new_event=True) is None  # waits
    running = _history(glue, history_event_filter_type=CLOSE)
    assert _ids(running) == [] and _page(running).next_page_token == b""
    glue.complete_workflow_task(poll, complete_workflow())
    closed = _history(glue, history_event_filter_type=CLOSE, wait_new_event=True)
    assert types(_page(closed).history.events) == ["WORKFLOW_EXECUTION_COMPLETED"]


def test_long_poll_for_new_events() -> None:
    glue = Glue()
    with_activity(glue)
    first = _history(glue, wait_new_event=True)
    assert _ids(first) == [1, 2, 3, 4, 5]
    token = _page(first).next_page_token
    assert token
    assert _history(glue, wait_new_event=True, next_page_token=token) is None
    assert glue.state is not None
    request = GetWorkflowExecutionHistoryRequest(next_page_token=token)
    timeout = _page(long_poll_timeout_reply(glue.state, request))
    assert list(timeout.history.events) == [] and timeout.next_page_token
    glue.complete_activity(5)
    more = _history(glue, wait_new_event=True, next_page_token=token)
    assert _ids(more) == [6, 7, 8]


def test_bad_token_and_other_run() -> None:
    glue = Glue()
    glue.start()
    bad = _history(glue, next_page_token=b"junk")
    assert bad is not None
    assert (bad.status_code, bad.message) == (Code.INVALID_ARGUMENT, "Invalid NextPageToken.")
    other = _history(glue, execution={"workflow_id": "wf-1", "run_id": "other"})
    assert other is not None and other.status_code == Code.NOT_FOUND
    request = GetWorkflowExecutionHistoryRequest()
    nothing = get_workflow_execution_history(None, request, glue.read_events)
    assert nothing is not None and nothing.status_code == Code.NOT_FOUND


def test_transient_task_events_end_the_last_page() -> None:
    glue = Glue()
    first_task(glue)
    glue.fire(DeadlineKind.WORKFLOW_TASK_START_TO_CLOSE.value)
    glue.poll_workflow_task(request_id="poll-2")
    reply = _history(glue)
    assert _ids(reply) == [1, 2, 3, 4, 5, 6]
    assert types(_page(reply).history.events)[-2:] == [
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
    ]
    without = get_workflow_execution_history(
        glue.state, GetWorkflowExecutionHistoryRequest(), glue.read_events, include_transient=False
    )
    assert _ids(without) == [1, 2, 3, 4]


def test_describe() -> None:
    glue = Glue()
    with_activity(glue)
    glue.start_activity(5)
    response = _describe(glue)
    info = response.workflow_execution_info
    assert info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    assert (info.execution.run_id, info.type.name, info.task_queue) == (
        "run-0001",
        "OneActivityWorkflow",
        "golden",
    )
    assert info.history_length == 5 and info.history_size_bytes > 0
    (pending,) = response.pending_activities
    assert pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    assert (pending.activity_id, pending.activity_type.name, pending.attempt) == ("1", "greet", 1)
    assert not response.HasField("pending_workflow_task")
    assert response.execution_config.default_workflow_task_timeout.seconds == 10
    glue.complete_activity(5)
    after = _describe(glue).pending_workflow_task
    assert after.state == PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED
    missing = Glue(workflow_id="nope").submit(
        "DescribeWorkflowExecution", DescribeWorkflowExecutionRequest()
    )
    assert missing.reply is not None and missing.reply.message == "workflow not found for ID: nope"
