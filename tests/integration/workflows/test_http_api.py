"""Temporal's HTTP API with plain HTTP requests, on Strom and on the Temporal dev server.

A workflow is started with a JSON POST, completed by a worker on the official SDK, then read
back with GETs; the answers' JSON shapes and payload rendering must be the same on both servers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import GrpcStatus, WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.service import RPCError
from temporalio.worker import Worker

from helpers import eventually_async
from tests.integration.workflows.conftest import Server
from tests.workflows.activities import greet
from tests.workflows.one_activity import OneActivityWorkflow

pytestmark = [pytest.mark.timeout(180)]


def _fetch(url: str, body: bytes | None, method: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def get(server: Server, path: str) -> tuple[int, Any]:
    return await asyncio.to_thread(_fetch, f"{server.http_url}/api/v1{path}", None, "GET")


async def post(server: Server, path: str, body: str) -> tuple[int, Any]:
    url = f"{server.http_url}/api/v1{path}"
    return await asyncio.to_thread(_fetch, url, body.encode(), "POST")


@pytest.fixture(scope="module")
def executor() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        yield pool


async def run_over_http(server: Server, executor: concurrent.futures.Executor) -> dict[str, Any]:
    """Starts OneActivityWorkflow by POST, lets a worker finish it, reads it back by GET."""
    task_queue, workflow_id = server.task_queue(), f"http-{uuid.uuid4().hex[:10]}"
    start = json.dumps(
        {
            "workflowType": {"name": "OneActivityWorkflow"},
            "taskQueue": {"name": task_queue},
            "input": ["HTTP"],
            "requestId": str(uuid.uuid4()),
        }
    )
    worker = Worker(
        server.client,
        task_queue=task_queue,
        workflows=[OneActivityWorkflow],
        activities=[greet],
        activity_executor=executor,
    )
    async with worker:
        status, started = await post(server, f"/namespaces/default/workflows/{workflow_id}", start)
        assert status == 200, started
        result = await server.client.get_workflow_handle(workflow_id).result()
    assert result == "Hello, HTTP!"
    path = f"/namespaces/default/workflows/{workflow_id}"
    _, described = await get(server, path)
    _, history = await get(server, f"{path}/history")
    query = urllib.parse.quote(f'WorkflowId="{workflow_id}"')

    async def listed() -> Any:
        status, page = await get(server, f"/namespaces/default/workflows?query={query}")
        assert status == 200, page
        executions = page.get("executions", [])
        assert [e["execution"]["workflowId"] for e in executions] == [workflow_id]
        assert executions[0]["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED"
        return page

    return {
        "started": started,
        "described": described,
        "history": history,
        "listed": await eventually_async(listed, timeout=30),
        "run_id": started["runId"],
    }


async def test_start_describe_history_and_list_over_http(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    _, info = await get(server, "/system-info")
    _, namespace = await get(server, "/namespaces/default")
    assert info["serverVersion"]
    assert namespace["namespaceInfo"]["name"] == "default"

    run = await run_over_http(server, executor)

    execution = run["described"]["workflowExecutionInfo"]
    assert execution["execution"]["runId"] == run["run_id"]
    assert execution["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED"
    events = run["history"]["history"]["events"]
    assert events[0]["workflowExecutionStartedEventAttributes"]["input"] == ["HTTP"]
    completed = events[-1]["workflowExecutionCompletedEventAttributes"]
    assert completed["result"] == ["Hello, HTTP!"]
    assert [e["eventId"] for e in events] == [str(i) for i in range(1, len(events) + 1)]
    assert run["listed"]["executions"][0]["execution"]["runId"] == run["run_id"]


async def test_terminate_over_http(server: Server) -> None:
    workflow_id = f"http-term-{uuid.uuid4().hex[:10]}"
    path = f"/namespaces/default/workflows/{workflow_id}"
    start = json.dumps(
        {"workflowType": {"name": "Nobody"}, "taskQueue": {"name": server.task_queue()}}
    )
    await post(server, path, start)

    status, answer = await post(server, f"{path}/terminate", '{"reason":"from curl"}')
    _, described = await get(server, path)
    _, history = await get(server, f"{path}/history")

    assert (status, answer) == (200, {})
    assert described["workflowExecutionInfo"]["status"] == ("WORKFLOW_EXECUTION_STATUS_TERMINATED")
    last = history["history"]["events"][-1]
    assert last["workflowExecutionTerminatedEventAttributes"]["reason"] == "from curl"


async def test_errors_have_grpc_gateways_status_and_body(server: Server) -> None:
    missing = await get(server, "/namespaces/default/workflows/never-started-here")
    malformed = await post(server, "/namespaces/default/workflows/x", '{"workflowType": ')
    unknown_path = await get(server, "/namespaces/default/no-such-resource")

    with pytest.raises(RPCError) as over_grpc:
        await server.client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace="default", execution=WorkflowExecution(workflow_id="never-started-here")
            )
        )
    error = over_grpc.value
    details = error.grpc_status.details if error.grpc_status is not None else []
    status = GrpcStatus(code=int(error.status or 0), message=error.message, details=details)
    assert missing[0] == 404
    # The body is the call's google.rpc.Status, details included, as the gRPC client sees it.
    assert missing[1] == json_format.MessageToDict(status)
    assert missing[1]["message"] == "workflow not found for ID: never-started-here"
    assert (malformed[0], malformed[1]["code"]) == (400, 3)
    assert unknown_path == (404, {"code": 5, "message": "Not Found"})


async def test_an_rpc_strom_lacks_is_501(strom_env: Any) -> None:
    server = Server("strom", strom_env.client, strom_env.target, strom_env, strom_env.http_url)

    status, body = await post(server, "/namespaces/default/workflow-rules", "{}")

    assert (status, body) == (
        501,
        {"code": 12, "message": "Strom does not implement WorkflowService.CreateWorkflowRule yet"},
    )


def shape(value: Any) -> Any:
    """The JSON's structure: key names and value kinds, values themselves left out."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


async def test_json_shapes_and_payloads_match_temporal(
    strom_env: Any, temporal_server: Server, executor: concurrent.futures.Executor
) -> None:
    strom = Server("strom", strom_env.client, strom_env.target, strom_env, strom_env.http_url)
    ours = await run_over_http(strom, executor)
    theirs = await run_over_http(temporal_server, executor)

    def events(run: dict[str, Any]) -> list[dict[str, Any]]:
        return list(run["history"]["history"]["events"])

    assert [e["eventType"] for e in events(ours)] == [e["eventType"] for e in events(theirs)]
    for mine, reference in zip(events(ours), events(theirs), strict=True):
        kind = next(key for key in reference if key.endswith("EventAttributes"))
        # Strom fills fewer optional fields than Temporal; those it fills look the same.
        for key, value in shape(mine[kind]).items():
            assert shape(reference[kind]).get(key, value) == value, (kind, key)
    payload_fields = [
        (0, "workflowExecutionStartedEventAttributes", "input"),
        (-1, "workflowExecutionCompletedEventAttributes", "result"),
    ]
    for index, kind, field in payload_fields:
        assert events(ours)[index][kind][field] == events(theirs)[index][kind][field]
    for part in ("started", "described", "listed"):
        assert set(ours[part]) <= set(theirs[part]), part
