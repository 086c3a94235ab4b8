"""Malformed and stale requests get the same gRPC status on Strom as on the Temporal dev server."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    PollActivityTaskQueueRequest,
    RespondActivityTaskCompletedRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.integration.workflows.conftest import Server
from tests.workflows.activities import greet
from tests.workflows.one_activity import OneActivityWorkflow

pytestmark = [pytest.mark.timeout(120)]


def _start(**overrides: object) -> StartWorkflowExecutionRequest:
    fields = {
        "namespace": "default",
        "workflow_id": f"bad-{uuid.uuid4()}",
        "workflow_type": WorkflowType(name="OneActivityWorkflow"),
        "task_queue": TaskQueue(name="bad-requests"),
        "request_id": str(uuid.uuid4()),
        **overrides,
    }
    return StartWorkflowExecutionRequest(**fields)  # type: ignore[arg-type]


async def _status(server: Server, rpc: str, request: object) -> RPCStatusCode:
    with pytest.raises(RPCError) as raised:
        await getattr(server.client.workflow_service, rpc)(request, retry=False)
    return raised.value.status


@pytest.mark.parametrize(
    ("rpc", "request_", "status"),
    [
        ("start_workflow_execution", _start(workflow_id=""), RPCStatusCode.INVALID_ARGUMENT),
        (
            "start_workflow_execution",
            _start(task_queue=TaskQueue(name="")),
            RPCStatusCode.INVALID_ARGUMENT,
        ),
        ("start_workflow_execution", _start(namespace="no-such-ns"), RPCStatusCode.NOT_FOUND),
        (
            "describe_workflow_execution",
            DescribeWorkflowExecutionRequest(
                namespace="default", execution=WorkflowExecution(workflow_id="no-such-workflow")
            ),
            RPCStatusCode.NOT_FOUND,
        ),
        (
            "respond_activity_task_completed",
            RespondActivityTaskCompletedRequest(namespace="default", task_token=b"garbage"),
            RPCStatusCode.INVALID_ARGUMENT,
        ),
        (
            "poll_activity_task_queue",
            PollActivityTaskQueueRequest(namespace="default", task_queue=TaskQueue(name="")),
            RPCStatusCode.INVALID_ARGUMENT,
        ),
    ],
    ids=["empty-id", "empty-queue", "unknown-ns", "unknown-wf", "garbage-token", "poll-no-q"],
)
async def test_malformed_request_status(
    server: Server, rpc: str, request_: object, status: RPCStatusCode
) -> None:
    assert await _status(server, rpc, request_) == status


async def test_duplicate_start_is_already_started(server: Server) -> None:
    workflow_id = f"dup-{uuid.uuid4()}"
    first = await server.client.start_workflow(
        OneActivityWorkflow.run, "x", id=workflow_id, task_queue=server.task_queue()
    )
    with pytest.raises(WorkflowAlreadyStartedError) as raised:
        await server.client.start_workflow(
            OneActivityWorkflow.run, "x", id=workflow_id, task_queue=server.task_queue()
        )
    assert raised.value.run_id == first.result_run_id
    await first.terminate("test over")


async def test_stale_activity_token_is_not_found(server: Server) -> None:
    tq = server.task_queue()
    tokens: list[bytes] = []

    from temporalio import activity

    @activity.defn(name="greet")
    async def remember_token(name: str) -> str:
        tokens.append(activity.info().task_token)
        return await greet(name)

    async with Worker(
        server.client, task_queue=tq, workflows=[OneActivityWorkflow], activities=[remember_token]
    ):
        await server.client.execute_workflow(
            OneActivityWorkflow.run,
            "x",
            id=f"stale-{uuid.uuid4()}",
            task_queue=tq,
            run_timeout=timedelta(seconds=60),
        )
    stale = RespondActivityTaskCompletedRequest(namespace="default", task_token=tokens[0])
    assert (
        await _status(server, "respond_activity_task_completed", stale) == RPCStatusCode.NOT_FOUND
    )
