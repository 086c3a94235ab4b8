"""PauseActivity, UnpauseActivity, ResetActivity and UpdateActivityOptions in the frontend:
Temporal's checks first, then the workflow's history shard under the RPC's own kind."""

from __future__ import annotations

import grpc
from temporalio.api.activity.v1 import ActivityOptions
from temporalio.api.common.v1 import Priority, WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    PauseActivityRequest,
    PauseActivityResponse,
    ResetActivityRequest,
    ResetActivityResponse,
    UnpauseActivityRequest,
    UnpauseActivityResponse,
    UpdateActivityOptionsRequest,
    UpdateActivityOptionsResponse,
)

from frontend.activity_ops import MSG_NO_ACTIVITY, MSG_NO_WORKFLOW_ID
from tests.unit.frontend.conftest import Frontend
from tests.unit.frontend.fakes import ok
from tests.unit.frontend.helpers import failure

EXECUTION = WorkflowExecution(workflow_id="wf-7")

CALLS = {
    "PauseActivity": (PauseActivityRequest, PauseActivityResponse()),
    "UnpauseActivity": (UnpauseActivityRequest, UnpauseActivityResponse()),
    "ResetActivity": (ResetActivityRequest, ResetActivityResponse()),
    "UpdateActivityOptions": (UpdateActivityOptionsRequest, UpdateActivityOptionsResponse()),
}


async def test_each_rpc_goes_to_the_workflows_history_under_its_own_kind(
    frontend: Frontend,
) -> None:
    for method, (request_type, response) in CALLS.items():
        frontend.history.replies[method] = ok(response)
        request = request_type(namespace="default", execution=EXECUTION, id="act-1")
        await getattr(frontend.stub, method)(request)
        sent = frontend.history.sent[-1]
        assert (sent.kind, sent.workflow_id) == (method, "wf-7")
        assert sent.request == request


async def test_requests_without_workflow_or_activity_are_invalid(frontend: Frontend) -> None:
    for method, (request_type, _) in CALLS.items():
        no_workflow = await failure(
            frontend.stub, method, request_type(namespace="default", id="act-1")
        )
        assert (no_workflow.code, no_workflow.message) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            MSG_NO_WORKFLOW_ID,
        )
        no_activity = await failure(
            frontend.stub, method, request_type(namespace="default", execution=EXECUTION)
        )
        assert (no_activity.code, no_activity.message) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            MSG_NO_ACTIVITY,
        )
    assert frontend.history.sent == []


async def test_update_options_refuses_a_negative_priority(frontend: Frontend) -> None:
    request = UpdateActivityOptionsRequest(
        namespace="default",
        execution=EXECUTION,
        id="act-1",
        activity_options=ActivityOptions(priority=Priority(priority_key=-1)),
    )
    status = await failure(frontend.stub, "UpdateActivityOptions", request)
    assert (status.code, status.message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "priority key can't be negative",
    )


async def test_an_unknown_namespace_is_not_found(frontend: Frontend) -> None:
    request = PauseActivityRequest(namespace="nowhere", execution=EXECUTION, id="act-1")
    status = await failure(frontend.stub, "PauseActivity", request)
    assert status.code == grpc.StatusCode.NOT_FOUND
