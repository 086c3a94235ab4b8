"""The official temporalio Client against the frontend: statuses become the SDK's exceptions."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from tests.unit.frontend.conftest import Frontend


async def connect(frontend: Frontend) -> Client:
    return await Client.connect(frontend.address, namespace="default")


async def test_connect_start_and_describe(frontend: Frontend) -> None:
    client = await connect(frontend)
    handle = await client.start_workflow("Greet", "x", id="wf-1", task_queue="tq")

    run = frontend.history.runs[("default", "wf-1")]
    assert handle.result_run_id == run.run_id
    description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.RUNNING
    assert description.workflow_type == "Greet"
    sent = frontend.history.sent[0]
    assert (sent.namespace, sent.workflow_id, sent.kind) == (
        "default",
        "wf-1",
        "StartWorkflowExecution",
    )


async def test_duplicate_start_raises_workflow_already_started(frontend: Frontend) -> None:
    client = await connect(frontend)
    first = await client.start_workflow("Greet", id="wf-dup", task_queue="tq")

    with pytest.raises(WorkflowAlreadyStartedError) as caught:
        await client.start_workflow("Greet", id="wf-dup", task_queue="tq")

    assert caught.value.run_id == first.result_run_id
    assert caught.value.workflow_id == "wf-dup"


async def test_describe_unknown_workflow_is_not_found(frontend: Frontend) -> None:
    client = await connect(frontend)

    with pytest.raises(RPCError) as caught:
        await client.get_workflow_handle("missing").describe()

    assert caught.value.status == RPCStatusCode.NOT_FOUND
    assert caught.value.message == "workflow not found for ID: missing"
    assert caught.value.grpc_status.details[0].type_url.endswith("errordetails.v1.NotFoundFailure")


async def test_unknown_namespace_is_not_found_with_details(frontend: Frontend) -> None:
    client = await Client.connect(frontend.address, namespace="nope")

    with pytest.raises(RPCError) as caught:
        await client.start_workflow("Greet", id="wf", task_queue="tq")

    assert caught.value.status == RPCStatusCode.NOT_FOUND
    assert caught.value.message == "Namespace nope is not found."
    assert caught.value.grpc_status.details[0].type_url.endswith("NamespaceNotFoundFailure")


async def test_result_waits_for_close_event(frontend: Frontend) -> None:
    client = await connect(frontend)
    handle = await client.start_workflow("Greet", id="wf-res", task_queue="tq")

    async def close_soon() -> None:
        await asyncio.sleep(0.3)
        frontend.history.close("default", "wf-res")

    closer = asyncio.create_task(close_soon())
    result = await asyncio.wait_for(handle.result(), timeout=10)
    await closer

    assert result is None
    polls = [c for c in frontend.history.sent if c.kind == "GetWorkflowExecutionHistory"]
    assert len(polls) > 1  # the frontend re-asked until the close event existed


async def test_list_and_count(frontend: Frontend) -> None:
    client = await connect(frontend)
    await client.start_workflow("Greet", id="a", task_queue="tq")
    await client.start_workflow("Greet", id="b", task_queue="tq")

    listed = [wf.id async for wf in client.list_workflows("WorkflowType = 'Greet'")]
    count = await client.count_workflows()

    assert listed == ["a", "b"]
    assert count.count == 2
    assert frontend.visibility.calls[0][:2] == ("default", "WorkflowType = 'Greet'")


async def test_invalid_list_query_is_invalid_argument(frontend: Frontend) -> None:
    client = await connect(frontend)

    with pytest.raises(RPCError) as caught:
        await client.count_workflows("bad")

    assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert caught.value.message == "invalid query: malformed"


async def test_terminate(frontend: Frontend) -> None:
    client = await connect(frontend)
    handle = await client.start_workflow("Greet", id="wf-t", task_queue="tq")

    await handle.terminate()

    terminate = frontend.history.sent[-1]
    assert terminate.kind == "TerminateWorkflowExecution"
    assert terminate.request.reason == "terminated by user via frontend"  # type: ignore[attr-defined]
    assert frontend.history.runs[("default", "wf-t")].closed


async def test_sdk_worker_polls_both_queues_and_shuts_down(frontend: Frontend) -> None:
    from temporalio.api.enums.v1 import TaskQueueKind
    from temporalio.worker import Worker

    from tests.unit.frontend.sdk_workflows import NoopWorkflow, noop_activity

    client = await connect(frontend)
    worker = Worker(client, task_queue="tq", workflows=[NoopWorkflow], activities=[noop_activity])

    async with worker:
        await asyncio.sleep(1.0)

    polled = {
        (type(request).__name__, request.task_queue.kind)  # type: ignore[attr-defined]
        for request, _ in frontend.matching.polls
    }
    assert polled == {
        ("PollWorkflowTaskQueueRequest", TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
        ("PollWorkflowTaskQueueRequest", TaskQueueKind.TASK_QUEUE_KIND_STICKY),
        ("PollActivityTaskQueueRequest", TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
    }
