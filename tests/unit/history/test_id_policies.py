"""Starts that replace a running run: TERMINATE_EXISTING and the older TERMINATE_IF_RUNNING."""

from __future__ import annotations

import json

import pytest
from temporalio.api.enums.v1 import WorkflowIdConflictPolicy, WorkflowIdReusePolicy
from temporalio.api.workflowservice.v1 import (
    StartWorkflowExecutionResponse,
    TerminateWorkflowExecutionRequest,
)

from history_processor.handlers.start_workflow_execution import TERMINATE_REASON
from history_processor.handling import IDENTITY_HISTORY_SERVICE
from history_processor.state import WorkflowStatus
from tests.unit.history.harness import Glue, first_task, ok_payload, types

_IF_RUNNING = WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
_POLICIES = [
    {
        "workflow_id_conflict_policy": (
            WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
        )
    },
    {"workflow_id_reuse_policy": _IF_RUNNING},
]


@pytest.mark.parametrize("policy", _POLICIES)
def test_start_terminates_the_running_run_and_starts_a_new_one(policy: dict) -> None:
    glue = Glue()
    glue.start()
    first_task(glue)  # a started workflow task is failed before the termination
    old_run = glue.state.run_id  # type: ignore[union-attr]
    decision = glue.start(request_id="req-2", **policy)
    response = ok_payload(decision, StartWorkflowExecutionResponse)
    assert response.started and response.run_id != old_run
    assert response.first_execution_run_id == response.run_id  # a new chain, not a continuation
    (closed,) = decision.closed_runs
    assert types(closed.events) == ["WORKFLOW_TASK_FAILED", "WORKFLOW_EXECUTION_TERMINATED"]
    terminated = closed.events[-1].workflow_execution_terminated_event_attributes
    assert terminated.reason == TERMINATE_REASON
    assert terminated.identity == IDENTITY_HISTORY_SERVICE
    detail = json.loads(terminated.details.payloads[0].data)
    assert detail == f"terminated by new runID: {response.run_id}"
    assert closed.state.status is WorkflowStatus.TERMINATED
    assert types(decision.events) == ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED"]
    assert glue.state is not None and glue.state.run_id == response.run_id
    statuses = {
        v["run_id"]: v["status"] for v in (o.record for o in decision.outbox) if "status" in v
    }
    assert statuses == {old_run: "Terminated", response.run_id: "Running"}
    # The older run's events stay as they were; the new run's are its own from id 1.
    assert types(glue.older_runs[old_run])[-1] == "WORKFLOW_EXECUTION_TERMINATED"
    assert glue.events[0].event_id == 1


def test_terminate_if_running_on_a_closed_run_allows_a_duplicate() -> None:
    glue = Glue()
    glue.start()
    request = TerminateWorkflowExecutionRequest(namespace="default", reason="r")
    request.workflow_execution.workflow_id = glue.workflow_id
    glue.submit("TerminateWorkflowExecution", request)
    decision = glue.start(
        request_id="req-2",
        workflow_id_reuse_policy=_IF_RUNNING,
    )
    assert ok_payload(decision, StartWorkflowExecutionResponse).started
    assert decision.closed_runs == []  # nothing to terminate
