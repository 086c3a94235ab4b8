"""A frontend served in-process on a free port, over the fake backends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import grpc
import pytest
from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceStub

from frontend.config import FrontendConfig
from frontend.context import Env
from frontend.ratelimit import NamespaceRateLimiter
from frontend.server import create_server, stop
from schemas.namespaces import InMemoryNamespaceRegistry, Namespace, State
from tests.unit.frontend.fakes import FakeHistory, FakeMatching, FakeVisibility

TEST_CONFIG = FrontendConfig(
    host="127.0.0.1",
    port=0,
    history_recheck_min_s=0.01,
    history_recheck_max_s=0.05,
    shutdown_grace_s=1.0,
)


@dataclass
class Frontend:
    """A running frontend and its fakes."""

    env: Env
    history: FakeHistory
    matching: FakeMatching
    visibility: FakeVisibility
    namespaces: InMemoryNamespaceRegistry
    server: grpc.aio.Server
    address: str
    channel: grpc.aio.Channel
    stub: WorkflowServiceStub


StartFrontend = Callable[..., Awaitable[Frontend]]


@pytest.fixture
async def start_frontend() -> AsyncIterator[StartFrontend]:
    """Starts frontends with a chosen config and limiter; stops them all afterwards."""
    started: list[Frontend] = []

    async def start(
        config: FrontendConfig = TEST_CONFIG, limiter: NamespaceRateLimiter | None = None
    ) -> Frontend:
        namespaces = InMemoryNamespaceRegistry()
        namespaces.ensure_default()
        namespaces.register(
            Namespace(name="old", id="0b4a6c1e-0000-4000-8000-000000000001", state=State.DEPRECATED)
        )
        namespaces.register(
            Namespace(name="gone", id="0b4a6c1e-0000-4000-8000-000000000002", state=State.DELETED)
        )
        history = FakeHistory()
        matching = FakeMatching()
        visibility = FakeVisibility(history)
        env = Env(config, history, matching, visibility, namespaces)
        server, port = create_server(config, env, limiter)
        await server.start()
        address = f"127.0.0.1:{port}"
        channel = grpc.aio.insecure_channel(address)
        frontend = Frontend(
            env,
            history,
            matching,
            visibility,
            namespaces,
            server,
            address,
            channel,
            WorkflowServiceStub(channel),
        )
        started.append(frontend)
        return frontend

    yield start
    for frontend in started:
        await frontend.channel.close()
        await stop(frontend.server, 0)


@pytest.fixture
async def frontend(start_frontend: StartFrontend) -> Frontend:
    """A frontend with the test config and no rate limit."""
    return await start_frontend()
