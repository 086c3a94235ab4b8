"""Strom only: a service that cannot listen on its address says so and exits 1.

A second frontend started on the port of a running one must not bind it too (gRPC's default
SO_REUSEPORT would let it, and the two would split the clients' connections); a matching
member whose host is not this machine's must not end its process with a traceback.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from strom.testing import StromEnvironment

pytestmark = [pytest.mark.timeout(180)]

# TEST-NET-1 (RFC 5737): documentation addresses, never one of this machine's.
NOT_HERE = "192.0.2.1"


async def _run(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", *args]
    return await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=120
    )


def _common(env: StromEnvironment, kafka_bootstrap: str) -> list[str]:
    return [
        "--bootstrap", kafka_bootstrap,
        "--prefix", env.services.topology.prefix,
        "--reply-partition", str(env.services.topology.reply_partitions - 1),
        "--metrics-port", "0",
    ]  # fmt: skip


async def test_a_second_frontend_on_a_port_in_use_exits_1_and_the_first_keeps_serving(
    strom_env: StromEnvironment, kafka_bootstrap: str, es_url: str
) -> None:
    host, port = strom_env.target.rsplit(":", 1)
    done = await _run(
        "frontend", *_common(strom_env, kafka_bootstrap),
        "--es-url", es_url, "--host", host, "--port", port, "--http-port", "0",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert f"the frontend cannot listen on {host}:{port}" in done.stderr
    assert "Traceback" not in done.stderr
    info = await strom_env.client.workflow_service.get_system_info(GetSystemInfoRequest())
    assert info.server_version


async def test_a_frontends_matching_member_that_cannot_listen_exits_1(
    strom_env: StromEnvironment, kafka_bootstrap: str, es_url: str
) -> None:
    done = await _run(
        "strom._frontend_with_matching", *_common(strom_env, kafka_bootstrap),
        "--es-url", es_url, "--host", NOT_HERE, "--port", "0", "--http-port", "0",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert f"matching cannot listen on {NOT_HERE}:0" in done.stderr
    assert "Traceback" not in done.stderr


async def test_a_matching_process_that_cannot_listen_exits_1(
    strom_env: StromEnvironment, kafka_bootstrap: str
) -> None:
    done = await _run(
        "matching_processor", *_common(strom_env, kafka_bootstrap),
        "--grpc-host", NOT_HERE, "--grpc-port", "7235",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert f"matching cannot listen on {NOT_HERE}:7235" in done.stderr
    assert "Traceback" not in done.stderr
