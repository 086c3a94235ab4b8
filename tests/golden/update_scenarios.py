"""Workflow update scenarios with deterministic histories (accepted, rejected, failed).

Each scenario sends its update after the run's first workflow task completed, so the update
always comes to an idle workflow in a speculative task, on every server. `record_golden.py`
records them from the dev server; the workflow tests run them on both servers. A worker for
the task queue with `tests.workflows.catalog` must be running.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio.api.history.v1 import History
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy

from tests.golden.signal_scenarios import completed_tasks
from tests.workflows.updater import UNLUCKY, UpdaterWorkflow

Scenario = Callable[[Client, str, str], Awaitable[History]]


async def _run(client: Client, task_queue: str, workflow_id: str, value: int) -> History:
    handle = await client.start_workflow(UpdaterWorkflow.run, id=workflow_id, task_queue=task_queue)
    await completed_tasks(handle, 1)
    try:
        previous = await handle.execute_update(UpdaterWorkflow.set_value, value)
    except WorkflowUpdateFailedError:
        if value >= 0 and value != UNLUCKY:
            raise
    else:
        if previous != 0:
            raise AssertionError(f"update returned {previous}, expected 0")
    await handle.signal(UpdaterWorkflow.finish)
    expected = value if value >= 0 and value != UNLUCKY else 0
    if await handle.result() != expected:
        raise AssertionError(f"run returned another value than {expected}")
    return History(events=(await handle.fetch_history()).events)


async def update_accepted(client: Client, task_queue: str, workflow_id: str) -> History:
    """An update accepted and completed in one speculative task."""
    return await _run(client, task_queue, workflow_id, 7)


async def update_rejected(client: Client, task_queue: str, workflow_id: str) -> History:
    """An update its validator rejects: no event of it, nor of its task."""
    return await _run(client, task_queue, workflow_id, -1)


async def update_failed(client: Client, task_queue: str, workflow_id: str) -> History:
    """An update accepted whose handler fails: its outcome is the failure."""
    return await _run(client, task_queue, workflow_id, UNLUCKY)


async def update_with_start(client: Client, task_queue: str, workflow_id: str) -> History:
    """Update-with-start of a new run: its first workflow task carries the update."""
    operation = WithStartWorkflowOperation(
        UpdaterWorkflow.run,
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    previous = await client.execute_update_with_start_workflow(
        UpdaterWorkflow.set_value, 7, start_workflow_operation=operation
    )
    if previous != 0:
        raise AssertionError(f"update returned {previous}, expected 0")
    handle = await operation.workflow_handle()
    await handle.signal(UpdaterWorkflow.finish)
    if await handle.result() != 7:
        raise AssertionError("run returned another value than 7")
    return History(events=(await handle.fetch_history()).events)


UPDATE_SCENARIOS: dict[str, Scenario] = {
    "update_accepted": update_accepted,
    "update_rejected": update_rejected,
    "update_failed": update_failed,
    "update_with_start": update_with_start,
}
