"""Strom's JSON mapping against Temporal's own, byte for byte, on `temporal server start-dev`.

The same messages go both ways: a request body is posted to Temporal's HTTP API and parsed by
Strom's reader, and what Temporal stored (read back over gRPC) must equal what Strom parsed; a
response is fetched as JSON from Temporal and as a message over gRPC, and Strom's writer must
produce Temporal's exact bytes from the message, in each of the four JSON flavours.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.api.common.v1 import GrpcStatus, WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeWorkflowExecutionRequest,
    GetSystemInfoRequest,
    GetWorkflowExecutionHistoryRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError

from frontend.http.marshal import marshal
from frontend.http.unmarshal import unmarshal
from tests.servers import TemporalDevServer

pytestmark = [pytest.mark.timeout(120)]

BODIES = [
    # Strings Go escapes differently in its two encoders, and numbers read as int64 or float64.
    '{"workflowType":{"name":"T"},"taskQueue":{"name":"q","kind":"Normal"},"input":['
    '"a<b>&\\u2028\\u0001\\t/\\"", 1.0, 1.5e1, -0.0, 12345678901234567, '
    "123456789012345678901, 1e-7, 2e30, true, null, [], [[]], "
    '{"z":[], "a":{"q":1E2, "p":[1,"x"]}}]}',
    # Long-form payloads, null, proto JSON, and a long form that is not one (bad base64).
    '{"workflowType":{"name":"T"},"taskQueue":{"name":"q"},"input":{"payloads":['
    '{"metadata":{"encoding":"YmluYXJ5L3BsYWlu"},"data":"AAEC"},'
    '{"metadata":{"encoding":"YmluYXJ5L251bGw=","x":"eA=="}},'
    '{"_protoMessageType":"foo.Bar","b":"\\u00e9","a":[]},'
    '{"metadata":{"encoding":"YmluYXJ5L3BsYWlu"},"data":"!!"},'
    '{"metadata":{"encoding":"anNvbi9wbGFpbg"},"data":"MQ"}]},'
    '"header":{"fields":{"h":{"k":"v"}}},"memo":{"fields":{"m":[1,2]}},'
    '"workflowIdReusePolicy":"AllowDuplicateFailedOnly","workflowRunTimeout":"3600.5s"}',
]
FLAVOURS = {
    "": ("", True),
    "?pretty": ("  ", True),
    "?noPayloadShorthand": ("", False),
    "?pretty&noPayloadShorthand": ("  ", False),
}


@pytest_asyncio.fixture(scope="module")
async def temporal() -> AsyncIterator[tuple[TemporalDevServer, Client]]:
    async with TemporalDevServer() as dev:
        yield dev, await dev.connect()


def fetch(url: str, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


async def start_over_http(dev: TemporalDevServer, body: str) -> str:
    workflow_id = f"parity-{uuid.uuid4().hex[:8]}"
    url = f"{dev.http_url}/api/v1/namespaces/default/workflows/{workflow_id}"
    status, answer = await asyncio.to_thread(fetch, url, body.encode())
    assert status == 200, answer
    return workflow_id


@pytest.mark.parametrize("body", BODIES)
async def test_request_bodies_parse_to_what_temporal_stores(
    temporal: tuple[TemporalDevServer, Client], body: str
) -> None:
    dev, client = temporal
    workflow_id = await start_over_http(dev, body)

    history = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace="default", execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )
    stored = history.history.events[0].workflow_execution_started_event_attributes
    parsed = unmarshal(body.encode(), StartWorkflowExecutionRequest)

    assert parsed.input == stored.input
    assert parsed.header == stored.header
    assert parsed.memo == stored.memo
    if parsed.task_queue.kind:  # else the server fills in its default
        assert parsed.task_queue.kind == stored.task_queue.kind


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_responses_render_to_temporals_bytes(
    temporal: tuple[TemporalDevServer, Client], flavour: str
) -> None:
    dev, client = temporal
    service = client.workflow_service
    indent, shorthand = FLAVOURS[flavour]
    ids = [await start_over_http(dev, body) for body in BODIES]
    base = f"{dev.http_url}/api/v1"
    checks = [
        ("/system-info", await service.get_system_info(GetSystemInfoRequest())),
        (
            "/namespaces/default",
            await service.describe_namespace(DescribeNamespaceRequest(namespace="default")),
        ),
    ]
    for workflow_id in ids:
        execution = WorkflowExecution(workflow_id=workflow_id)
        history_request = GetWorkflowExecutionHistoryRequest(
            namespace="default", execution=execution
        )
        describe_request = DescribeWorkflowExecutionRequest(
            namespace="default", execution=execution
        )
        checks.append(
            (
                f"/namespaces/default/workflows/{workflow_id}/history",
                await service.get_workflow_execution_history(history_request),
            )
        )
        checks.append(
            (
                f"/namespaces/default/workflows/{workflow_id}",
                await service.describe_workflow_execution(describe_request),
            )
        )

    for path, message in checks:
        status, body = await asyncio.to_thread(fetch, base + path + flavour)
        assert status == 200
        assert marshal(message, indent, shorthand) == body, path


async def test_error_bodies_render_to_temporals_bytes(
    temporal: tuple[TemporalDevServer, Client],
) -> None:
    dev, client = temporal
    path = "/api/v1/namespaces/default/workflows/never-started"

    with pytest.raises(RPCError) as raised:
        await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace="default", execution=WorkflowExecution(workflow_id="never-started")
            )
        )
    status, body = await asyncio.to_thread(fetch, dev.http_url + path)

    assert raised.value.grpc_status is not None
    grpc_status = GrpcStatus.FromString(raised.value.grpc_status.SerializeToString())
    assert status == 404
    assert marshal(grpc_status) == body
