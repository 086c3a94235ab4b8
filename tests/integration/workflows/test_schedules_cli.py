"""The real `temporal schedule` CLI against Strom and the dev server."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from temporalio.worker import Worker

from tests.helpers import eventually_async
from tests.integration.workflows.conftest import Server
from tests.integration.workflows.test_namespaces import cli
from tests.workflows.scheduled import ScheduledEcho

pytestmark = [pytest.mark.timeout(180)]


@pytest_asyncio.fixture
async def env(server: Server) -> AsyncIterator[tuple[Server, str]]:
    task_queue = server.task_queue()
    async with Worker(server.client, task_queue=task_queue, workflows=[ScheduledEcho]):
        yield server, task_queue


async def _describe(server: Server, sid: str) -> dict[str, Any]:
    _, out, _ = await cli(server, "schedule", "describe", "-s", sid, "-o", "json")
    result: dict[str, Any] = json.loads(out)
    return result


async def test_cli_create_list_describe_trigger_toggle_delete(env: tuple[Server, str]) -> None:
    server, task_queue = env
    sid = f"cli-{uuid.uuid4().hex[:10]}"
    await cli(
        server, "schedule", "create", "--schedule-id", sid,
        "--cron", "15 4 * * *", "--interval", "168h",
        "--workflow-id", f"wf-{sid}", "--task-queue", task_queue,
        "--type", "ScheduledEcho", "--input", '"cli"',
    )  # fmt: skip
    described = await _describe(server, sid)
    spec = described["schedule"]["spec"]
    [calendar] = spec["structuredCalendar"]
    assert calendar["hour"] == [{"start": 4, "end": 4, "step": 1}]
    assert calendar["minute"] == [{"start": 15, "end": 15, "step": 1}]
    assert spec["interval"] == [{"interval": "604800s", "phase": "0s"}]
    assert len(described["info"]["futureActionTimes"]) == 10

    async def listed() -> bool:
        _, out, _ = await cli(server, "schedule", "list", "-o", "json")
        return any(entry["scheduleId"] == sid for entry in json.loads(out or "[]") or [])

    await eventually_async(listed, timeout=30, interval=0.5)

    await cli(server, "schedule", "trigger", "-s", sid)

    async def triggered() -> list[dict[str, Any]]:
        actions: list[dict[str, Any]] = (await _describe(server, sid))["info"].get(
            "recentActions", []
        )
        return actions

    [action] = await eventually_async(triggered, timeout=30, interval=0.5)
    assert action["startWorkflowResult"]["workflowId"].startswith(f"wf-{sid}-")

    await cli(server, "schedule", "toggle", "-s", sid, "--pause", "--reason", "cli pause")

    async def paused() -> bool:
        state = (await _describe(server, sid))["schedule"]["state"]
        return bool(state.get("paused")) and state.get("notes") == "cli pause"

    await eventually_async(paused, timeout=30, interval=0.5)
    await cli(server, "schedule", "toggle", "-s", sid, "--unpause", "--reason", "resume")

    async def unpaused() -> bool:
        state = (await _describe(server, sid))["schedule"]["state"]
        return not state.get("paused") and state.get("notes") == "resume"

    await eventually_async(unpaused, timeout=30, interval=0.5)

    await cli(server, "schedule", "delete", "-s", sid)
    code, _, err = await cli(server, "schedule", "describe", "-s", sid, check=False)
    assert code != 0
    assert "not found" in err.lower()
