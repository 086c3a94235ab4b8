"""History pages bounded by bytes as well as events: a history over gRPC's 4 MiB still reads."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
    GetWorkflowExecutionHistoryReverseRequest,
    GetWorkflowExecutionHistoryReverseResponse,
    PollWorkflowTaskQueueResponse,
)

from history_processor.paging import PAGE_BYTES_LIMIT, fitting
from tests.unit.history.harness import (
    NAMESPACE,
    Glue,
    first_task,
    ok_payload,
    payloads,
    schedule_activity,
)

MiB = 1024 * 1024
_RESULTS = 5  # five results of 1 MiB: a history of over 5 MiB


def _big_history() -> Glue:
    """A run whose five activities each returned 1 MiB; its next workflow task is pending on
    the normal queue (the worker kept no sticky queue, so its poll gets the whole history)."""
    glue = Glue()
    poll = first_task(glue)
    commands = [schedule_activity(activity_id=f"a{i}") for i in range(_RESULTS)]
    done = glue.complete_workflow_task(poll, *commands)
    assert done.reply is not None and done.reply.ok
    for scheduled in range(5, 5 + _RESULTS):
        glue.start_activity(scheduled)
        completed = glue.complete_activity(scheduled, payloads(b"x" * MiB))
        assert completed.reply is not None and completed.reply.ok
    return glue


def _page_bytes(events: list[HistoryEvent]) -> int:
    return sum(e.ByteSize() for e in events)


def _assert_bounded(events: list[HistoryEvent]) -> None:
    # A page within the budget, or a single event that alone is larger.
    assert len(events) == 1 or _page_bytes(events) <= PAGE_BYTES_LIMIT


def _read_all(glue: Glue, token: bytes = b"") -> list[list[HistoryEvent]]:
    pages = []
    while True:
        request = GetWorkflowExecutionHistoryRequest(
            namespace=NAMESPACE,
            execution=WorkflowExecution(workflow_id=glue.workflow_id),
            next_page_token=token,
        )
        response = ok_payload(
            glue.submit("GetWorkflowExecutionHistory", request),
            GetWorkflowExecutionHistoryResponse,
        )
        pages.append(list(response.history.events))
        token = response.next_page_token
        if not token:
            return pages


def test_a_history_over_4_mib_is_read_page_by_page_within_the_budget() -> None:
    glue = _big_history()
    assert _page_bytes(glue.events) > 4 * MiB
    pages = _read_all(glue)
    assert len(pages) >= 3  # the event count alone (about 20) would make one page
    for page in pages:
        _assert_bounded(page)
    ids = [e.event_id for page in pages for e in page]
    assert ids == list(range(1, glue.events[-1].event_id + 1))


def test_the_reverse_read_is_bounded_too() -> None:
    glue = _big_history()
    token, ids, pages = b"", [], 0
    while True:
        request = GetWorkflowExecutionHistoryReverseRequest(
            namespace=NAMESPACE,
            execution=WorkflowExecution(workflow_id=glue.workflow_id),
            next_page_token=token,
        )
        response = ok_payload(
            glue.submit("GetWorkflowExecutionHistoryReverse", request),
            GetWorkflowExecutionHistoryReverseResponse,
        )
        events = list(response.history.events)
        _assert_bounded(events)
        ids += [e.event_id for e in events]
        pages += 1
        token = response.next_page_token
        if not token:
            break
    assert pages >= 3
    assert ids == list(range(glue.events[-1].event_id, 0, -1))


def test_a_worker_polling_the_whole_history_gets_a_bounded_page_and_a_token() -> None:
    glue = _big_history()
    poll = ok_payload(glue.poll_workflow_task(), PollWorkflowTaskQueueResponse)
    first = list(poll.history.events)
    _assert_bounded(first)
    assert poll.next_page_token
    rest = _read_all(glue, poll.next_page_token)
    for page in rest:
        _assert_bounded(page)
    ids = [e.event_id for e in first] + [e.event_id for page in rest for e in page]
    # The whole history up to the task's WorkflowTaskStarted, each event once.
    assert ids == list(range(1, poll.started_event_id + 1))
    assert rest[-1][-1].event_type == glue.events[-1].event_type


def test_fitting_keeps_at_least_one_event_and_respects_the_count() -> None:
    big = HistoryEvent(event_id=1)
    big.activity_task_completed_event_attributes.result.CopyFrom(payloads(b"y" * (3 * MiB)))
    small = [HistoryEvent(event_id=i) for i in range(2, 12)]
    assert fitting([big, *small], 100) == 1  # alone over the budget, still a page
    assert fitting(small, 4) == 4
    assert fitting(small, 100) == len(small)
    assert fitting([], 100) == 0
    half = HistoryEvent(event_id=1)
    half.activity_task_completed_event_attributes.result.CopyFrom(payloads(b"z" * (MiB)))
    assert fitting([half, half, half], 100) == 1  # two of them pass 2 MiB with the framing
