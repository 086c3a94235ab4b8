"""handling.start_not_seen: a direct completion that overtook its task's start in the inbox."""

from __future__ import annotations

import dataclasses

import pytest
from temporalio.api.workflowservice.v1 import (
    RespondWorkflowTaskCompletedRequest,
    StartWorkflowExecutionResponse,
)

from history_processor.handling import start_not_seen
from history_processor.outbox import workflow_task_token
from history_processor.processor import HistoryProcessor
from history_processor.state import ExecutionState, TaskQueueKind, WorkflowStatus, WorkflowTaskInfo
from schemas import tokens
from schemas.reply import Code, Reply
from tests.unit.history.test_processor_hand_over import NOW_S, TOPOLOGY, _Context, _send, _start


def _run() -> ExecutionState:
    run = ExecutionState(
        namespace="default",
        namespace_id="ns-id",
        workflow_id="wf",
        run_id="r1",
        workflow_type="W",
        task_queue="q",
        start_time_ms=0,
    )
    run.workflow_task = WorkflowTaskInfo(
        scheduled_event_id=2,
        attempt=1,
        task_queue="q",
        task_queue_kind=TaskQueueKind.NORMAL,
        scheduled_time_ms=0,
        start_to_close_timeout_ms=10_000,
    )
    run.next_event_id = 3
    return run


def test_a_token_of_the_scheduled_task_whose_start_is_not_recorded_yet() -> None:
    run = _run()
    assert start_not_seen(run, workflow_task_token(run, started_event_id=3))


def test_a_started_task_another_task_or_run_or_a_closed_run_is_not_that_case() -> None:
    run = _run()
    token = workflow_task_token(run, started_event_id=3)
    assert run.workflow_task is not None
    started = _run()
    started.workflow_task = dataclasses.replace(run.workflow_task, started_event_id=3)
    assert not start_not_seen(started, token)  # the normal case: the start came first
    later = _run()
    later.workflow_task = dataclasses.replace(run.workflow_task, scheduled_event_id=5)
    assert not start_not_seen(later, token)  # a stale token: NOT_FOUND as usual
    retried = _run()
    retried.workflow_task = dataclasses.replace(run.workflow_task, attempt=2)
    assert not start_not_seen(retried, token)
    closed = _run()
    closed.status = WorkflowStatus.COMPLETED
    assert not start_not_seen(closed, token)
    other_run = dataclasses.replace(_run(), run_id="r2")
    assert not start_not_seen(other_run, token)
    assert not start_not_seen(None, token)
    no_task = _run()
    no_task.workflow_task = None
    assert not start_not_seen(no_task, token)


def test_garbage_and_activity_tokens_are_not_that_case() -> None:
    run = _run()
    assert not start_not_seen(run, b"garbage")
    activity = tokens.encode(
        tokens.TaskToken(
            kind=tokens.TaskKind.ACTIVITY,
            namespace_id="ns-id",
            workflow_id="wf",
            run_id="r1",
            scheduled_event_id=2,
            attempt=1,
        )
    )
    assert not start_not_seen(run, activity)


def _started_run_id(ctx: _Context) -> str:
    reply = Reply.from_record(ctx.replies[-1])  # type: ignore[arg-type]
    return StartWorkflowExecutionResponse.FromString(reply.payload).run_id


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "inbox"])
def test_a_completion_before_its_start_goes_again_through_the_inbox_only_if_it_came_directly(
    direct: bool,
) -> None:
    processor = HistoryProcessor(TOPOLOGY, lambda name: f"id-{name}", clock=lambda: NOW_S)
    ctx = _Context(processor, partition=0)
    _start(ctx, "wf")
    token = tokens.TaskToken(
        kind=tokens.TaskKind.WORKFLOW,
        namespace_id="id-default",
        workflow_id="wf",
        run_id=_started_run_id(ctx),
        scheduled_event_id=2,
        attempt=1,
        started_event_id=3,
    )
    ctx.direct = direct
    request = RespondWorkflowTaskCompletedRequest(task_token=tokens.encode(token))
    _send(ctx, "complete", "wf", "RespondWorkflowTaskCompleted", request)
    reply = Reply.from_record(ctx.replies[-1])  # type: ignore[arg-type]
    if direct:  # its start, which matching put in the inbox, may still come
        assert reply.moved
    else:  # through the inbox it came after the start: there is none
        assert reply.status_code == Code.NOT_FOUND and not reply.moved
