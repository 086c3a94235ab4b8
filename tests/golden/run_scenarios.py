"""Golden scenarios of workflows with several runs; each yields one history per run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowHandle
from temporalio.common import RetryPolicy

from tests.workflows.runs import ContinueAsNewWorkflow, CronRunWorkflow, FailFirstAttemptWorkflow


async def _runs(client: Client, handle: WorkflowHandle) -> list[History]:
    """The histories of every run of the handle's workflow id, first run first."""
    out: list[History] = []
    run_id: str | None = handle.first_execution_run_id or handle.result_run_id
    while run_id:
        run = client.get_workflow_handle(handle.id, run_id=run_id)
        events = (await run.fetch_history()).events
        out.append(History(events=events))
        last = events[-1]
        attrs = last.workflow_execution_continued_as_new_event_attributes
        run_id = attrs.new_execution_run_id or None
        if not run_id:
            for name in ("failed", "timed_out", "completed"):
                field = f"workflow_execution_{name}_event_attributes"
                if last.HasField(field):  # type: ignore[arg-type]
                    run_id = getattr(last, field).new_execution_run_id or None
    return out


async def continue_as_new(client: Client, task_queue: str, workflow_id: str) -> list[History]:
    """Two continue-as-new hops with a memo, then completion."""
    handle = await client.start_workflow(
        ContinueAsNewWorkflow.run,
        2,
        id=workflow_id,
        task_queue=task_queue,
        memo={"owner": "strom"},
    )
    await handle.result()
    return await _runs(client, handle)


async def retried(client: Client, task_queue: str, workflow_id: str) -> list[History]:
    """A run that fails and is retried once by its retry policy."""
    handle = await client.start_workflow(
        FailFirstAttemptWorkflow.run,
        "retried",
        id=workflow_id,
        task_queue=task_queue,
        retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
    )
    await handle.result()
    return await _runs(client, handle)


async def cron(client: Client, task_queue: str, workflow_id: str) -> list[History]:
    """A cron workflow's first run (which waits for the next minute) and the run after it."""
    handle = await client.start_workflow(
        CronRunWorkflow.run,
        "cron",
        id=workflow_id,
        task_queue=task_queue,
        cron_schedule="* * * * *",
    )
    first = client.get_workflow_handle(workflow_id, run_id=handle.result_run_id)
    # A cron run's result is never the workflow's: follow the first run's close event instead.
    while True:
        events = (await first.fetch_history()).events
        if events[-1].HasField("workflow_execution_completed_event_attributes"):
            break
        await asyncio.sleep(1)
    completed = events[-1].workflow_execution_completed_event_attributes
    second = client.get_workflow_handle(workflow_id, run_id=completed.new_execution_run_id)
    runs = [History(events=events), History(events=(await second.fetch_history()).events)]
    await second.terminate("golden recorded")
    return runs


RUN_SCENARIOS: dict[str, Callable[[Client, str, str], Awaitable[list[History]]]] = {
    "continue_as_new": continue_as_new,
    "retried_run": retried,
    "cron": cron,
}
