"""List and count queries return what was run, on Strom (Elasticsearch) and the dev server."""

from __future__ import annotations

import concurrent.futures
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.worker import Worker

from helpers import eventually_async
from tests.integration.workflows.conftest import Server
from tests.workflows.activities import ALL_ACTIVITIES
from tests.workflows.one_activity import OneActivityWorkflow
from tests.workflows.retries_exhausted import RetriesExhaustedWorkflow
from tests.workflows.sync_activity import SyncActivityWorkflow

pytestmark = [pytest.mark.timeout(120)]


async def _ids(server: Server, query: str) -> set[str]:
    return {wf.id async for wf in server.client.list_workflows(query)}


async def test_list_and_count_return_what_was_run(server: Server) -> None:
    tq = server.task_queue()
    since = (datetime.now(UTC) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ids = {name: f"{name}-{uuid.uuid4()}" for name in ("one", "sync", "fails", "open")}
    workflows = [OneActivityWorkflow, SyncActivityWorkflow, RetriesExhaustedWorkflow]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        async with Worker(
            server.client,
            task_queue=tq,
            workflows=workflows,
            activities=ALL_ACTIVITIES,
            activity_executor=pool,
        ):
            await server.client.execute_workflow(
                OneActivityWorkflow.run, "a", id=ids["one"], task_queue=tq
            )
            await server.client.execute_workflow(
                SyncActivityWorkflow.run, "b", id=ids["sync"], task_queue=tq
            )
            with pytest.raises(WorkflowFailureError):
                await server.client.execute_workflow(
                    RetriesExhaustedWorkflow.run, "c", id=ids["fails"], task_queue=tq
                )
    # No worker polls this one's queue: it stays running.
    await server.client.start_workflow(
        OneActivityWorkflow.run, "d", id=ids["open"], task_queue=f"{tq}-idle"
    )
    in_tq = f"TaskQueue = '{tq}'"

    async def all_indexed() -> bool:
        assert await _ids(server, in_tq) == {ids["one"], ids["sync"], ids["fails"]}
        assert await _ids(server, f"WorkflowId = '{ids['open']}'") == {ids["open"]}
        return True

    await eventually_async(all_indexed, timeout=30)
    count = await server.client.count_workflows(in_tq)
    assert count.count == 3
    assert await _ids(server, f"{in_tq} AND ExecutionStatus = 'Completed'") == {
        ids["one"],
        ids["sync"],
    }
    assert await _ids(server, f"{in_tq} AND ExecutionStatus = 'Failed'") == {ids["fails"]}
    assert await _ids(
        server,
        f"{in_tq} AND (WorkflowType = 'SyncActivityWorkflow' OR ExecutionStatus = 'Failed')",
    ) == {ids["sync"], ids["fails"]}
    assert await _ids(server, f"{in_tq} AND StartTime > '{since}'") == {
        ids["one"],
        ids["sync"],
        ids["fails"],
    }
    assert await _ids(server, f"{in_tq} AND CloseTime < '{since}'") == set()
    running = [
        wf
        async for wf in server.client.list_workflows(
            f"WorkflowId = '{ids['open']}' AND ExecutionStatus = 'Running'"
        )
    ]
    assert [wf.status for wf in running] == [WorkflowExecutionStatus.RUNNING]
    assert running[0].workflow_type == "OneActivityWorkflow"
    await server.client.get_workflow_handle(ids["open"]).terminate("test over")


async def test_order_by_start_time_on_strom(strom_env) -> None:  # type: ignore[no-untyped-def]
    # The dev server's SQL visibility has no ORDER BY; Elasticsearch does.
    client = strom_env.client
    tq = f"order-{uuid.uuid4().hex[:8]}"
    ids = [f"order-{i}-{uuid.uuid4()}" for i in range(3)]
    for workflow_id in ids:
        handle = await client.start_workflow(
            OneActivityWorkflow.run, "x", id=workflow_id, task_queue=tq
        )
        await handle.terminate("only listed")

    async def ordered(direction: str) -> list[str]:
        query = f"TaskQueue = '{tq}' ORDER BY StartTime {direction}"
        found = [wf.id async for wf in client.list_workflows(query)]
        assert len(found) == 3
        return found

    assert await eventually_async(lambda: ordered("ASC"), timeout=30) == ids
    assert await ordered("DESC") == ids[::-1]
