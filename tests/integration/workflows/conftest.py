"""Fixtures of the workflow-level tests: Strom and the real Temporal dev server, side by side.

Every test that takes `server` runs twice: against Strom (on the session's real Kafka and
Elasticsearch) and against `temporal server start-dev`, the reference it must agree with.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from temporalio.client import Client

from strom.testing import StromEnvironment
from tests.servers import TemporalDevServer


@dataclass
class Server:
    """One server under test and a connected client."""

    kind: str  # "strom" or "temporal"
    client: Client
    target: str
    strom: StromEnvironment | None = None
    http_url: str = ""

    def task_queue(self) -> str:
        """A task queue no other test uses."""
        return f"tq-{uuid.uuid4().hex[:10]}"


@pytest_asyncio.fixture(scope="session")
async def strom_env(
    kafka_bootstrap: str, es_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StromEnvironment]:
    env = await StromEnvironment.start(
        kafka_bootstrap=kafka_bootstrap,
        es_url=es_url,
        data_dir=tmp_path_factory.mktemp("strom"),
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def temporal_server() -> AsyncIterator[Server]:
    async with TemporalDevServer() as dev:
        yield Server("temporal", await dev.connect(), dev.target, http_url=dev.http_url)


@pytest.fixture(params=["strom", "temporal"])
def server(request: pytest.FixtureRequest) -> Server:
    if request.param == "strom":
        env: StromEnvironment = request.getfixturevalue("strom_env")
        return Server("strom", env.client, env.target, env, env.http_url)
    reference: Server = request.getfixturevalue("temporal_server")
    return reference
