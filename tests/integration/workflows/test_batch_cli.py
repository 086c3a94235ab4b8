"""The real `temporal workflow ... --query` and `temporal batch` CLI on Strom and the dev server."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from temporalio.worker import Worker

from tests.helpers import eventually_async
from tests.integration.workflows.conftest import Server
from tests.integration.workflows.test_batch import start_targets, status_of
from tests.integration.workflows.test_namespaces import cli
from tests.workflows.signal_collector import SignalCollectorWorkflow

pytestmark = [pytest.mark.timeout(240)]

_JOB_ID = re.compile(r"job ID: (\S+)")


@pytest_asyncio.fixture
async def env(server: Server) -> AsyncIterator[tuple[Server, str]]:
    task_queue = server.task_queue()
    async with Worker(server.client, task_queue=task_queue, workflows=[SignalCollectorWorkflow]):
        yield server, task_queue


async def start_batch(server: Server, *args: str) -> str:
    """Runs a `--query` command once the namespace's previous job is over; returns the job id."""

    async def started() -> str:
        code, out, err = await cli(server, *args, "--yes", check=False)
        assert code == 0, err
        found = _JOB_ID.search(out)
        assert found is not None, out
        return found.group(1)

    return await eventually_async(started, timeout=90, interval=1.0)


async def describe(server: Server, job_id: str) -> dict[str, Any]:
    """`temporal batch describe` once the job is over."""

    async def done() -> dict[str, Any]:
        _, out, _ = await cli(server, "batch", "describe", "--job-id", job_id, "-o", "json")
        described: dict[str, Any] = json.loads(out)
        assert described["state"] != "BATCH_OPERATION_STATE_RUNNING"
        return described

    return await eventually_async(done, timeout=90, interval=0.5)


async def test_cli_signal_cancel_terminate_by_query(env: tuple[Server, str]) -> None:
    server, task_queue = env
    prefix, handles = await start_targets(server, task_queue, 2)
    query = f"WorkflowId STARTS_WITH '{prefix}'"
    job = await start_batch(
        server, "workflow", "signal", "--query", query, "--name", "add", "--input", '"cli"'
    )
    described = await describe(server, job)
    assert described["state"] == "BATCH_OPERATION_STATE_COMPLETED"
    assert described["operationType"] == "BATCH_OPERATION_TYPE_SIGNAL_WORKFLOW"
    assert described["completeOperationCount"] == "2"
    for handle in handles:
        assert await handle.result() == ["cli"]

    prefix, handles = await start_targets(server, task_queue, 2)
    query = f"WorkflowId STARTS_WITH '{prefix}'"
    job = await start_batch(server, "workflow", "cancel", "--query", query, "--reason", "cli")
    assert (await describe(server, job))["operationType"] == (
        "BATCH_OPERATION_TYPE_CANCEL_WORKFLOW"
    )

    async def canceled() -> bool:
        # The job only requests the cancel; each workflow closes at its next workflow task.
        for handle in handles:
            assert (await status_of(handle)) == 4  # Canceled
        return True

    await eventually_async(canceled, timeout=60, interval=0.3)

    prefix, handles = await start_targets(server, task_queue, 2)
    query = f"WorkflowId STARTS_WITH '{prefix}'"
    job = await start_batch(
        server, "workflow", "terminate", "--query", query, "--reason", "cli terminate"
    )
    described = await describe(server, job)
    assert described["reason"] == "cli terminate"
    assert described["totalOperationCount"] == "2"
    for handle in handles:
        assert (await status_of(handle)) == 5  # Terminated

    async def listed() -> bool:
        _, out, _ = await cli(server, "batch", "list", "-o", "json")
        jobs = {entry["jobId"]: entry for entry in json.loads(out or "[]") or []}
        assert job in jobs, out
        assert jobs[job]["state"] == "BATCH_OPERATION_STATE_COMPLETED"
        return True

    await eventually_async(listed, timeout=30, interval=0.5)

    # Stopping a job that is over, or one that never was, fails with NOT_FOUND.
    for job_id in (job, f"nope-{uuid.uuid4().hex[:6]}"):
        code, _, err = await cli(
            server, "batch", "terminate", "--job-id", job_id, "--reason", "x", check=False
        )
        assert code != 0
        assert "not found" in err.lower() or "could not find" in err.lower(), err
