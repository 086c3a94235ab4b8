"""The fold: state is a pure function of events and updates, in the order they were decided."""

from __future__ import annotations

import pytest
from temporalio.api.history.v1 import History
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskFailedRequest,
    TerminateWorkflowExecutionRequest,
)

from history_processor.deadlines import DeadlineKind
from history_processor.exceptions import FoldError
from history_processor.fold import apply_batch, apply_event, apply_update
from history_processor.state import WorkflowStatus
from schemas.exceptions import PayloadDecodeError
from tests.unit.history.golden import load
from tests.unit.history.harness import (
    Glue,
    app_failure,
    first_task,
    ok_payload,
    schedule_activity,
    sticky,
)


def test_folding_a_golden_history_alone() -> None:
    golden = load("retry_activity")
    state = None
    for event in golden.events:
        state = apply_event(state, event)
    assert state is not None
    assert state.status is WorkflowStatus.COMPLETED and state.next_event_id == 12
    assert state.history_size_bytes == History(events=golden.events).ByteSize()
    assert state.activities == {} and state.workflow_task is None
    assert state.last_completed_wft_started_event_id == 9


def test_restore_matches_live_state_after_every_step() -> None:
    glue = Glue()
    steps = [
        lambda: first_task(glue),
        lambda: glue.complete_workflow_task(
            ok_payload(glue.decisions[-1], PollWorkflowTaskQueueResponse),
            schedule_activity("a"),
            schedule_activity("b", retry_policy={"initial_interval": {"seconds": 1}}),
            sticky_attributes=sticky(),
        ),
        lambda: glue.start_activity(5),
        lambda: glue.start_activity(6),
        lambda: glue.fail_activity(6, app_failure()),
        lambda: glue.complete_activity(5),
        lambda: glue.poll_workflow_task(request_id="poll-2"),
        lambda: glue.fire(DeadlineKind.ACTIVITY_RETRY.value),
        lambda: glue.complete_activity(6),  # buffered
        lambda: glue.fire(DeadlineKind.WORKFLOW_TASK_START_TO_CLOSE.value),
        lambda: glue.poll_workflow_task(request_id="poll-3"),
        lambda: glue.submit("TerminateWorkflowExecution", TerminateWorkflowExecutionRequest()),
    ]
    for step in steps:
        step()
        assert glue.restore() == glue.state
    assert [e.event_id for e in glue.events] == list(range(1, len(glue.events) + 1))


def _fail_task(glue: Glue, request_id: str) -> None:
    poll = ok_payload(glue.poll_workflow_task(request_id=request_id), PollWorkflowTaskQueueResponse)
    request = RespondWorkflowTaskFailedRequest(task_token=poll.task_token, identity="worker-1")
    glue.submit("RespondWorkflowTaskFailed", request)


def test_updates_are_interleaved_by_position() -> None:
    glue = Glue()
    poll = first_task(glue)
    glue.complete_workflow_task(
        poll, schedule_activity("a"), schedule_activity("b"), sticky_attributes=sticky()
    )
    glue.complete_activity(5)
    _fail_task(glue, "poll-2")  # sticky failure: attempt stays 1, back to the normal queue
    _fail_task(glue, "poll-3")  # attempt 2 is transient
    transient = ok_payload(
        glue.poll_workflow_task(request_id="poll-4"), PollWorkflowTaskQueueResponse
    )
    glue.complete_activity(6)  # buffered behind the started transient task
    request = RespondWorkflowTaskFailedRequest(task_token=transient.task_token)
    decision = glue.submit("RespondWorkflowTaskFailed", request)
    # The transient failure (an update) comes before the flushed events and the new task.
    assert [k for k, _ in decision.updates] == ["workflow_task_failed", "buffer_flushed"]
    assert [e.event_id for e in decision.events] == [15, 16, 17]
    assert glue.state is not None and glue.state.workflow_task is not None
    assert (glue.state.workflow_task.scheduled_event_id, glue.state.workflow_task.attempt) == (
        17,
        1,
    )
    assert glue.restore() == glue.state
    # Folding the updates after the events would lose the new task: the order matters.
    naive = None
    for events, updates in glue.batches[:-1]:
        naive = apply_batch(naive, events, updates)
    for event in decision.events:
        naive = apply_event(naive, event)
    for kind, payload in decision.updates:
        naive = apply_update(naive, kind, payload)
    assert naive is not None and naive.workflow_task is None


def test_gaps_and_missing_runs_are_refused() -> None:
    glue = Glue()
    glue.start()
    state = glue.restore()
    assert state is not None
    stray = glue.events[1]
    with pytest.raises(FoldError):
        apply_event(state, stray)  # id 2 again, next is 3
    with pytest.raises(FoldError):
        apply_event(None, stray)
    with pytest.raises(FoldError):
        apply_update(None, "sticky", b'{"at":1,"data":{}}')
    with pytest.raises(PayloadDecodeError):
        apply_update(state, "no-such-kind", b"{}")
    with pytest.raises(PayloadDecodeError):
        apply_batch(state, [], [("sticky", b"not json")])
