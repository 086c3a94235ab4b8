"""The servicer as a whole: every RPC answers, rate limits, the serve/stop entry points."""

from __future__ import annotations

import grpc
import pytest
from temporalio.api.enums.v1 import ResourceExhaustedCause
from temporalio.api.errordetails.v1 import ResourceExhaustedFailure
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    GetSystemInfoRequest,
    request_response_pb2,
)
from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceStub

from frontend.config import FrontendConfig
from frontend.ratelimit import NamespaceRateLimiter
from frontend.rpc import HANDLERS
from frontend.server import serve, stop
from frontend.service import RPC_NAMES
from schemas.namespaces import InMemoryNamespaceRegistry
from tests.unit.frontend.bad_requests import start
from tests.unit.frontend.conftest import Frontend, StartFrontend
from tests.unit.frontend.fakes import FakeHistory, FakeMatching, FakeVisibility
from tests.unit.frontend.helpers import failure

UNSERVED = sorted(set(RPC_NAMES) - set(HANDLERS))


def test_the_servicer_covers_the_whole_service() -> None:
    assert len(RPC_NAMES) == 123
    assert set(HANDLERS) < set(RPC_NAMES)


@pytest.mark.parametrize("rpc", UNSERVED)
async def test_unserved_rpc_is_unimplemented_naming_it(frontend: Frontend, rpc: str) -> None:
    request = getattr(request_response_pb2, f"{rpc}Request")()
    if "namespace" in request.DESCRIPTOR.fields_by_name:
        request.namespace = "default"

    status = await failure(frontend.stub, rpc, request)

    assert (status.code, status.message) == (
        grpc.StatusCode.UNIMPLEMENTED,
        f"Strom does not implement WorkflowService.{rpc} yet",
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_namespace_rate_limit(start_frontend: StartFrontend) -> None:
    clock = FakeClock()
    frontend = await start_frontend(limiter=NamespaceRateLimiter(rate=1, burst=2, clock=clock))
    describe = DescribeNamespaceRequest(namespace="default")
    await frontend.stub.DescribeNamespace(describe)
    await frontend.stub.StartWorkflowExecution(start())

    status = await failure(frontend.stub, "DescribeNamespace", describe)

    assert (status.code, status.message) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "namespace rate limit exceeded",
    )
    assert status.details is not None
    detail = ResourceExhaustedFailure()
    assert status.details.details[0].Unpack(detail)
    assert detail.cause == ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT
    assert status.initial_metadata["x-resource-exhausted-cause"] == "RpsLimit"
    assert status.initial_metadata["x-resource-exhausted-scope"] == "Namespace"
    await frontend.stub.GetSystemInfo(GetSystemInfoRequest())  # not namespaced: not limited
    await frontend.stub.DescribeNamespace(DescribeNamespaceRequest(namespace="old"))

    clock.now += 1.0

    await frontend.stub.DescribeNamespace(describe)


async def test_serve_and_stop() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    namespaces = InMemoryNamespaceRegistry()
    namespaces.ensure_default()
    history = FakeHistory()
    config = FrontendConfig(host="127.0.0.1", port=port)

    server = await serve(config, history, FakeMatching(), FakeVisibility(history), namespaces)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = WorkflowServiceStub(channel)
            info = await stub.DescribeNamespace(DescribeNamespaceRequest(namespace="default"))
            assert info.namespace_info.name == "default"
    finally:
        await stop(server)
    await server.wait_for_termination(timeout=1)
