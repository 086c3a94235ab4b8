"""Strom's decider, given what the worker sent the dev server for an accepted, a rejected and a
failed workflow update, writes the dev server's history; the official SDK replays it."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import EventType, TaskQueueKind
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.api.taskqueue.v1 import StickyExecutionAttributes, TaskQueue
from temporalio.api.update.v1 import Input, Meta, Request, Response
from temporalio.api.workflowservice.v1 import (
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    UpdateWorkflowExecutionResponse,
)
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from history_processor.deadlines import deadlines
from tests.unit.history.golden import load
from tests.unit.history.harness import (
    NAMESPACE,
    comparable,
    complete_workflow,
    ok_payload,
    payloads,
)
from tests.unit.history.test_wf_updates import (
    COMPLETED,
    Driver,
    accept,
    message,
    protocol_command,
    reject,
)
from tests.workflows.catalog import ALL_WORKFLOWS

GOLDEN = ["update_accepted", "update_rejected", "update_failed"]
_UPDATE_EVENTS = (
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
)


def _of_type(golden: History, event_type: int) -> HistoryEvent | None:
    return next((e for e in golden.events if e.event_type == event_type), None)


def drive(golden: History) -> tuple[Driver, str]:
    """Runs the golden's workflow through Strom's decider with the worker's inputs."""
    started = golden.events[0].workflow_execution_started_event_attributes
    task = golden.events[2].workflow_task_started_event_attributes
    sticky_queue = next(
        e.workflow_task_scheduled_event_attributes.task_queue
        for e in golden.events
        if e.workflow_task_scheduled_event_attributes.task_queue.kind
        == TaskQueueKind.TASK_QUEUE_KIND_STICKY
    )
    sticky = StickyExecutionAttributes(worker_task_queue=sticky_queue)
    sticky.schedule_to_start_timeout.FromSeconds(10)
    d = Driver()
    d.glue.identity = task.identity
    stamp: dict[str, Any] = {}
    if task.HasField("worker_version"):
        stamp["worker_version_stamp"] = task.worker_version
    d.glue.submit(
        "StartWorkflowExecution",
        StartWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_id=d.glue.workflow_id,
            workflow_type=WorkflowType(name=started.workflow_type.name),
            task_queue=TaskQueue(name=started.task_queue.name),
            workflow_task_timeout=started.workflow_task_timeout,
            identity=started.identity,
            request_id="req-1",
        ),
    )
    first = d.poll_task()
    d.complete(first, sticky_attributes=sticky, **stamp)
    accepted = _of_type(golden, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    completed = _of_type(golden, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
    if accepted is not None:
        request = accepted.workflow_execution_update_accepted_event_attributes.accepted_request
    else:
        request = Request(
            meta=Meta(update_id="rejected-update", identity=task.identity),
            input=Input(name="set_value", args=payloads(b"-1")),
        )
    update_id = request.meta.update_id
    command_id, _ = d.update_request(request)
    poll = d.poll_task()
    if accepted is None or completed is None:
        d.complete(
            poll,
            messages=[reject(update_id, "negative value -1")],
            sticky_attributes=sticky,
            **stamp,
        )
    else:
        attrs = accepted.workflow_execution_update_accepted_event_attributes
        outcome = completed.workflow_execution_update_completed_event_attributes.outcome
        meta = completed.workflow_execution_update_completed_event_attributes.meta
        d.complete(
            poll,
            protocol_command(f"{update_id}/accept"),
            protocol_command(f"{update_id}/complete"),
            messages=[
                accept(update_id, attrs.accepted_request_sequencing_event_id),
                message(update_id, Response(meta=meta, outcome=outcome), "complete"),
            ],
            sticky_attributes=sticky,
            **stamp,
        )
    signaled = _of_type(golden, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    assert signaled is not None
    d.glue.submit(
        "SignalWorkflowExecution",
        SignalWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_execution=WorkflowExecution(workflow_id=d.glue.workflow_id),
            signal_name=signaled.workflow_execution_signaled_event_attributes.signal_name,
            identity=signaled.workflow_execution_signaled_event_attributes.identity,
            header=signaled.workflow_execution_signaled_event_attributes.header,
        ),
    )
    last = d.poll_task()
    closed = golden.events[-1].workflow_execution_completed_event_attributes
    d.complete(last, complete_workflow(closed.result), sticky_attributes=sticky, **stamp)
    return d, command_id


@pytest.fixture(scope="module")
def replayer() -> Replayer:
    return Replayer(workflows=ALL_WORKFLOWS)


@pytest.mark.parametrize("name", GOLDEN)
def test_same_events_as_the_dev_server(name: str) -> None:
    golden = load(name)
    d, _ = drive(golden)
    ours = [(e.event_id, EventType.Name(e.event_type)) for e in d.glue.events]
    assert ours == [(e.event_id, EventType.Name(e.event_type)) for e in golden.events]
    for mine, theirs in zip(d.glue.events, golden.events, strict=True):
        if mine.event_type in _UPDATE_EVENTS:
            assert comparable(mine) == comparable(theirs), mine.event_id


@pytest.mark.parametrize("name", GOLDEN)
def test_caller_gets_the_outcome_and_state_is_a_fold(name: str) -> None:
    golden = load(name)
    d, command_id = drive(golden)
    response = ok_payload(d.replies[command_id], UpdateWorkflowExecutionResponse)
    assert response.stage == COMPLETED
    completed = _of_type(golden, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
    if completed is not None:
        expected = completed.workflow_execution_update_completed_event_attributes.outcome
        assert response.outcome == expected
    else:
        assert response.outcome.failure == Failure(message="negative value -1")
    assert d.glue.state is not None and not d.glue.state.is_running
    assert d.glue.restore() == d.glue.state
    assert deadlines(d.glue.state) == []
    assert len(d.registry) == 0


@pytest.mark.parametrize("name", GOLDEN)
async def test_strom_history_replays(replayer: Replayer, name: str) -> None:
    d, _ = drive(load(name))
    history = WorkflowHistory.from_json(d.glue.workflow_id, d.glue.history_json())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None


async def test_golden_histories_replay(replayer: Replayer) -> None:
    for name in GOLDEN:
        golden = load(name)
        history = WorkflowHistory.from_json("golden", json_format.MessageToJson(golden))
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, name
