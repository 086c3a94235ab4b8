"""The frontend's side of retention and namespace reclaim, over the fake backends: a deleted
namespace is listed by its id and its runs deleted under their old name, its record goes once
no run is left, the system namespace stays, and the minimum retention is a setting."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from dataclasses import replace

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.operatorservice.v1 import DeleteNamespaceRequest
from temporalio.api.operatorservice.v1.service_pb2_grpc import OperatorServiceStub
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsRequest,
    CountWorkflowExecutionsResponse,
    DeleteWorkflowExecutionRequest,
    DescribeNamespaceRequest,
    ListWorkflowExecutionsRequest,
    ListWorkflowExecutionsResponse,
    RegisterNamespaceRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceStub

from frontend.context import Env
from frontend.server import create_server, stop
from frontend.system_namespace import add_min_retention_argument, system_namespace
from schemas import retention
from schemas.namespaces import InMemoryNamespaceRegistry, namespace_id
from tests.unit.frontend.conftest import TEST_CONFIG
from tests.unit.frontend.fakes import FakeHistory, FakeMatching, FakeVisibility
from tests.unit.frontend.helpers import failure


class ScopedVisibility(FakeVisibility):
    """A fake store that scopes by namespace id, as Elasticsearch does with ``NamespaceId``."""

    def __init__(self, history: FakeHistory, registry: InMemoryNamespaceRegistry) -> None:
        super().__init__(history)
        self.registry = registry
        self.ids: list[str | None] = []
        self.stored_under: dict[str, str] = {}  # namespace id -> the name its runs carry

    def _name(self, namespace: str, namespace_id: str | None) -> str:
        self.ids.append(namespace_id)
        return self.stored_under[namespace_id] if namespace_id else namespace

    async def list(  # type: ignore[override]
        self,
        namespace: str,
        query: str,
        page_size: int,
        next_page_token: bytes,
        *,
        namespace_id: str | None = None,
    ) -> ListWorkflowExecutionsResponse:
        name = self._name(namespace, namespace_id)
        return await super().list(name, query, page_size, next_page_token)

    async def count(  # type: ignore[override]
        self, namespace: str, query: str, *, namespace_id: str | None = None
    ) -> CountWorkflowExecutionsResponse:
        return await super().count(self._name(namespace, namespace_id), query)


class Served:
    """A frontend over the fakes, with the scoped visibility."""

    def __init__(self, env: Env, visibility: ScopedVisibility, channel: grpc.aio.Channel):
        self.env = env
        self.history: FakeHistory = env.history  # type: ignore[assignment]
        self.visibility = visibility
        self.stub = WorkflowServiceStub(channel)
        self.operator = OperatorServiceStub(channel)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    registry = InMemoryNamespaceRegistry()
    registry.ensure_default()
    registry.register(system_namespace("strom"))
    history = FakeHistory()
    visibility = ScopedVisibility(history, registry)
    config = replace(TEST_CONFIG, namespace_min_retention_ms=1000)
    env = Env(config, history, FakeMatching(), visibility, registry)
    server, port = create_server(config, env, None)
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Served(env, visibility, channel)
    finally:
        await channel.close()
        await stop(server, 0)


def _register(name: str, seconds: int = 3600, nanos: int = 0) -> RegisterNamespaceRequest:
    return RegisterNamespaceRequest(
        namespace=name,
        workflow_execution_retention_period=Duration(seconds=seconds, nanos=nanos),
    )


async def _start(served: Served, namespace: str, workflow_id: str) -> None:
    await served.stub.StartWorkflowExecution(
        StartWorkflowExecutionRequest(
            namespace=namespace,
            workflow_id=workflow_id,
            workflow_type=WorkflowType(name="W"),
            task_queue=TaskQueue(name="q"),
            request_id=f"r-{workflow_id}",
        )
    )


async def test_a_deleted_namespace_is_reclaimed_under_its_old_name(served: Served) -> None:
    await served.stub.RegisterNamespace(_register("shop"))
    await _start(served, "shop", "a")
    shop_id = namespace_id("strom", "shop")
    served.visibility.stored_under[shop_id] = "shop"
    deleted = await served.operator.DeleteNamespace(DeleteNamespaceRequest(namespace="shop"))
    renamed = deleted.deleted_namespace
    assert renamed == f"shop-deleted-{shop_id[:5]}"

    # List and Count of the renamed namespace are scoped by its id.
    listed = await served.stub.ListWorkflowExecutions(
        ListWorkflowExecutionsRequest(namespace=renamed, query=retention.all_runs_query())
    )
    assert [e.execution.workflow_id for e in listed.executions] == ["a"]
    assert served.visibility.ids[-1] == shop_id
    counted = await served.stub.CountWorkflowExecutions(
        CountWorkflowExecutionsRequest(namespace=renamed)
    )
    assert counted.count == 1 and served.visibility.ids[-1] == shop_id

    # Deleting again while a run is left keeps the record.
    await served.operator.DeleteNamespace(DeleteNamespaceRequest(namespace_id=shop_id))
    assert served.env.namespaces.get(renamed) is not None

    # A run is deleted under the name it was stored with.
    await served.stub.DeleteWorkflowExecution(
        DeleteWorkflowExecutionRequest(
            namespace=renamed, workflow_execution=WorkflowExecution(workflow_id="a")
        )
    )
    sent = served.history.sent[-1]
    assert (sent.namespace, sent.workflow_id, sent.kind) == ("shop", "a", "DeleteWorkflowExecution")
    served.history.runs.pop(("shop", "a"))

    # No run left: the record goes.
    await served.operator.DeleteNamespace(DeleteNamespaceRequest(namespace_id=shop_id))
    gone = await failure(served.stub, "DescribeNamespace", DescribeNamespaceRequest(id=shop_id))
    assert gone.code == grpc.StatusCode.NOT_FOUND


async def test_a_live_namespace_is_listed_by_name(served: Served) -> None:
    await _start(served, "default", "b")
    listed = await served.stub.ListWorkflowExecutions(
        ListWorkflowExecutionsRequest(namespace="default")
    )
    assert [e.execution.workflow_id for e in listed.executions] == ["b"]
    assert served.visibility.ids[-1] is None


async def test_the_system_namespace_cannot_be_deleted(served: Served) -> None:
    for request in (
        DeleteNamespaceRequest(namespace=retention.SYSTEM_NAMESPACE),
        DeleteNamespaceRequest(namespace_id=namespace_id("strom", retention.SYSTEM_NAMESPACE)),
    ):
        refused = await failure(served.operator, "DeleteNamespace", request)
        assert refused.code == grpc.StatusCode.FAILED_PRECONDITION
        assert refused.message == "unable to delete system namespace"
    assert served.env.namespaces.get(retention.SYSTEM_NAMESPACE) is not None


async def test_min_retention_is_the_configured_one(served: Served) -> None:
    await served.stub.RegisterNamespace(_register("short", seconds=1))
    too_short = await failure(
        served.stub, "RegisterNamespace", _register("shorter", seconds=0, nanos=999_000_000)
    )
    assert too_short.code == grpc.StatusCode.INVALID_ARGUMENT
    assert too_short.message == "A valid retention period is not set on request."


def test_system_namespace_is_temporals() -> None:
    ns = system_namespace("c1")
    assert ns.name == "temporal-system"
    assert ns.id == namespace_id("c1", "temporal-system")
    assert ns.retention_ms == 7 * 24 * 3600 * 1000


def test_min_retention_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    def parse(*argv: str) -> int:
        parser = argparse.ArgumentParser()
        add_min_retention_argument(parser)
        return int(parser.parse_args(list(argv)).namespace_min_retention)

    monkeypatch.delenv(retention.MIN_RETENTION_ENV, raising=False)
    assert parse() == 3600 * 1000  # Temporal's default
    assert parse("--namespace-min-retention", "10s") == 10_000
    monkeypatch.setenv(retention.MIN_RETENTION_ENV, "2m")
    assert parse() == 120_000
    with pytest.raises(SystemExit):
        parse("--namespace-min-retention", "soon")
