"""Eager workflow start: the first workflow task is started and returned by the start itself."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import (
    RespondWorkflowTaskCompletedResponse,
    StartWorkflowExecutionResponse,
)

from history_processor.deadlines import deadlines
from schemas import tokens
from tests.unit.history.harness import Glue, complete_workflow, ok_payload, sticky, types


def test_the_start_returns_its_first_workflow_task_started() -> None:
    glue = Glue()
    decision = glue.start(request_eager_execution=True, request_id="start-1", identity="client")

    assert types(decision) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
    ]
    assert decision.events[0].workflow_execution_started_event_attributes.eager_execution_accepted
    started = decision.events[2].workflow_task_started_event_attributes
    assert (started.request_id, started.identity) == ("start-1", "client")
    assert started.history_size_bytes == 0  # Temporal has counted nothing yet at this point
    assert decision.tasks == []  # nothing for matching: the starter's worker has it
    response = ok_payload(decision, StartWorkflowExecutionResponse)
    task = response.eager_workflow_task
    assert [e.event_id for e in task.history.events] == [1, 2, 3]
    assert (task.started_event_id, task.attempt, task.previous_started_event_id) == (3, 1, 0)
    assert task.workflow_execution.run_id == response.run_id
    assert task.workflow_type.name == "OneActivityWorkflow"
    token = tokens.decode(task.task_token)
    assert (token.scheduled_event_id, token.started_event_id) == (2, 3)
    # The started task times out like any other if the worker drops it.
    assert any(d.kind == "workflow_task_start_to_close" for d in deadlines(glue.state))

    completed = glue.complete_workflow_task(task, complete_workflow(), sticky_attributes=sticky())
    ok_payload(completed, RespondWorkflowTaskCompletedResponse)
    assert types(glue.events)[-2:] == ["WORKFLOW_TASK_COMPLETED", "WORKFLOW_EXECUTION_COMPLETED"]


def test_a_retried_eager_start_returns_the_same_task_while_it_is_the_first() -> None:
    glue = Glue()
    first = ok_payload(
        glue.start(request_eager_execution=True, request_id="r"), StartWorkflowExecutionResponse
    )
    again = ok_payload(
        glue.start(request_eager_execution=True, request_id="r"), StartWorkflowExecutionResponse
    )
    assert again.eager_workflow_task == first.eager_workflow_task
    assert again.run_id == first.run_id and len(glue.events) == 3

    glue.complete_workflow_task(first.eager_workflow_task, complete_workflow())
    late = ok_payload(
        glue.start(request_eager_execution=True, request_id="r"), StartWorkflowExecutionResponse
    )
    assert not late.HasField("eager_workflow_task")
    assert late.run_id == first.run_id


def test_no_eager_task_for_a_delayed_start_or_without_the_flag() -> None:
    delayed = Glue()
    decision = delayed.start(request_eager_execution=True, workflow_start_delay=Duration(seconds=5))
    assert types(decision) == ["WORKFLOW_EXECUTION_STARTED"]
    started = decision.events[0].workflow_execution_started_event_attributes
    assert not started.eager_execution_accepted
    assert not ok_payload(decision, StartWorkflowExecutionResponse).HasField("eager_workflow_task")

    plain = Glue()
    decision = plain.start()
    assert types(decision) == ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED"]
    assert [t["task_kind"] for t in decision.tasks] == ["workflow"]
