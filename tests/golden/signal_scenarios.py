"""Signal, signal-with-start and cancellation scenarios with deterministic histories.

Each scenario waits for the workflow's previous task to complete before it sends the next
signal or cancel, so no event races a workflow task and every server writes the same history.
`record_golden.py` records them from the dev server; the workflow tests run them on both.
A worker for the task queue with `tests.workflows.catalog` must be running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import CancelledError

from tests.workflows.cancellation import CleanupOnCancelWorkflow, WaitForCancelWorkflow
from tests.workflows.signal_collector import SignalCollectorWorkflow

Scenario = Callable[[Client, str, str], Awaitable[History]]


async def completed_tasks(handle: WorkflowHandle, count: int, timeout: float = 20.0) -> None:
    """Waits until `count` workflow tasks of the run have completed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        history = await handle.fetch_history()
        done = sum(
            1
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        )
        if done >= count:
            return
        if loop.time() > deadline:
            raise TimeoutError(f"{handle.id}: {done} of {count} workflow tasks completed")
        await asyncio.sleep(0.05)


async def _history(handle: WorkflowHandle) -> History:
    return History(events=(await handle.fetch_history()).events)


async def signals(client: Client, task_queue: str, workflow_id: str) -> History:
    """Three signals, each after the previous workflow task completed."""
    handle = await client.start_workflow(
        SignalCollectorWorkflow.run, 3, id=workflow_id, task_queue=task_queue
    )
    for done, value in enumerate(("a", "b", "c"), start=1):
        await completed_tasks(handle, done)
        await handle.signal(SignalCollectorWorkflow.add, value)
    if await handle.result() != ["a", "b", "c"]:
        raise AssertionError("signals were lost or reordered")
    return await _history(handle)


async def signal_with_start(client: Client, task_queue: str, workflow_id: str) -> History:
    """Signal-with-start starts the run; a second one signals the running run."""
    handle = await client.start_workflow(
        SignalCollectorWorkflow.run,
        2,
        id=workflow_id,
        task_queue=task_queue,
        start_signal="add",
        start_signal_args=["a"],
    )
    await completed_tasks(handle, 1)
    again = await client.start_workflow(
        SignalCollectorWorkflow.run,
        2,
        id=workflow_id,
        task_queue=task_queue,
        start_signal="add",
        start_signal_args=["b"],
    )
    if again.result_run_id != handle.result_run_id:
        raise AssertionError("the second signal-with-start started another run")
    if await handle.result() != ["a", "b"]:
        raise AssertionError("signal-with-start lost a signal")
    return await _history(handle)


async def cancel(client: Client, task_queue: str, workflow_id: str) -> History:
    """A waiting workflow is cancelled and lets the cancellation end it."""
    handle = await client.start_workflow(
        WaitForCancelWorkflow.run, "Strom", id=workflow_id, task_queue=task_queue
    )
    await completed_tasks(handle, 1)
    await handle.cancel()
    try:
        await handle.result()
    except WorkflowFailureError as err:
        if not isinstance(err.cause, CancelledError):
            raise
    else:
        raise AssertionError("the cancelled workflow completed")
    return await _history(handle)


async def cancel_cleanup(client: Client, task_queue: str, workflow_id: str) -> History:
    """A waiting workflow catches the cancellation, runs a cleanup activity and completes."""
    handle = await client.start_workflow(
        CleanupOnCancelWorkflow.run, "Strom", id=workflow_id, task_queue=task_queue
    )
    await completed_tasks(handle, 1)
    await handle.cancel()
    if await handle.result() != "cancelled, then: Hello, cleanup of Strom!":
        raise AssertionError("the cleanup did not run")
    return await _history(handle)


SCENARIOS: dict[str, Scenario] = {
    "signals": signals,
    "signal_with_start": signal_with_start,
    "cancel": cancel,
    "cancel_cleanup": cancel_cleanup,
}
"""Golden name -> scenario."""
