"""Strom only: Elasticsearch frozen (SIGSTOP) while workflows complete; visibility converges."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.worker import Worker

from strom.testing import StromEnvironment
from tests.workflows.activities import greet
from tests.workflows.one_activity import OneActivityWorkflow

pytestmark = [pytest.mark.timeout(600)]  # the first test also pays for starting Strom

# Longer than the indexer's Elasticsearch request timeout (30 s), so bulks time out and are
# retried, not merely delayed.
FREEZE_S = 35.0
WORKFLOWS = 24


def _listening_pid(port: int) -> int | None:
    """The process listening on a local TCP port (from /proc), None if none is visible."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (entry / "fd").iterdir()):
                return int(entry.name)
        except OSError:
            continue
    return None


@pytest.fixture
def es_pid(es_url: str) -> int:
    if os.environ.get("STROM_ES_URL"):
        pytest.skip("freezes only the node this session started, not a shared one")
    port = urllib.parse.urlparse(es_url).port
    pid = _listening_pid(port) if port else None
    if pid is None:
        pytest.skip("the Elasticsearch process is not visible here (a container?)")
    return pid


async def test_workflows_completed_during_a_freeze_are_all_listed(
    strom_env: StromEnvironment, es_pid: int, es_url: str
) -> None:
    client = strom_env.client
    tq = f"es-stall-{uuid.uuid4().hex[:8]}"
    query = f"TaskQueue = '{tq}'"
    async with Worker(client, task_queue=tq, workflows=[OneActivityWorkflow], activities=[greet]):
        run = [
            client.execute_workflow(OneActivityWorkflow.run, f"n{i}", id=f"{tq}-{i}", task_queue=tq)
            for i in range(WORKFLOWS)
        ]
        first = await asyncio.gather(*run[: WORKFLOWS // 3])
        os.kill(es_pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        try:
            with pytest.raises(OSError):  # it is the node this session uses, and it is frozen
                urllib.request.urlopen(f"{es_url}/_cluster/health", timeout=1).close()
            # History and matching need no Elasticsearch: the rest completes while it is frozen.
            rest = await asyncio.wait_for(asyncio.gather(*run[WORKFLOWS // 3 :]), FREEZE_S)
            await asyncio.sleep(max(0.0, FREEZE_S - (time.monotonic() - frozen_at)))
        finally:
            os.kill(es_pid, signal.SIGCONT)
            thawed_at = time.monotonic()
    assert [*first, *rest] == [f"Hello, n{i}!" for i in range(WORKFLOWS)]

    async def listed() -> dict[str, WorkflowExecutionStatus | None]:
        try:
            return {wf.id: wf.status async for wf in client.list_workflows(query)}
        except RPCError:  # the node is still waking up: not yet
            return {}

    expected = {f"{tq}-{i}": WorkflowExecutionStatus.COMPLETED for i in range(WORKFLOWS)}
    deadline = time.monotonic() + 120
    while (seen := await listed()) != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    assert seen == expected
    assert (await client.count_workflows(query)).count == WORKFLOWS
    # For the fault-test notes (pytest -s): how long visibility took to catch up.
    print(f"es-stall: {WORKFLOWS} listed {time.monotonic() - thawed_at:.1f} s after the thaw")
