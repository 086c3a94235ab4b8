"""Child workflow and external signal / cancel scenarios, recorded from the dev server.

Each scenario returns the history of the workflow it names; `_child` scenarios return a
child's. A worker for the task queue with `tests.workflows.catalog` must be running.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio.api.history.v1 import History
from temporalio.client import Client

from tests.workflows.children import (
    ChildWaiter,
    ExternalCanceler,
    ExternalSignaler,
    ParentOfChildren,
    ParentOfDuplicate,
    SignalingParent,
)

Scenario = Callable[[Client, str, str], Awaitable[History]]


async def _history(client: Client, workflow_id: str) -> History:
    handle = client.get_workflow_handle(workflow_id)
    return History(events=(await handle.fetch_history()).events)


async def child_workflow(client: Client, task_queue: str, workflow_id: str) -> History:
    """A parent whose first child completes and whose second child fails."""
    await client.execute_workflow(
        ParentOfChildren.run, "Strom", id=workflow_id, task_queue=task_queue
    )
    return await _history(client, workflow_id)


async def child_workflow_child(client: Client, task_queue: str, workflow_id: str) -> History:
    """The completing child of `child_workflow` (its start event names parent and root)."""
    parent_id = workflow_id.removesuffix("_child")
    await client.execute_workflow(
        ParentOfChildren.run, "Strom", id=parent_id, task_queue=task_queue
    )
    return await _history(client, f"{parent_id}-ok")


async def child_already_exists(client: Client, task_queue: str, workflow_id: str) -> History:
    """A child whose workflow id a running workflow holds: StartChildWorkflowExecutionFailed."""
    taken = await client.start_workflow(
        ChildWaiter.run, id=f"{workflow_id}-taken", task_queue=task_queue
    )
    await client.execute_workflow(
        ParentOfDuplicate.run, taken.id, id=workflow_id, task_queue=task_queue
    )
    await taken.signal(ChildWaiter.release, "done")
    await taken.result()
    return await _history(client, workflow_id)


async def signal_child(client: Client, task_queue: str, workflow_id: str) -> History:
    """A parent signaling its child (SignalExternalWorkflowExecution, child only)."""
    await client.execute_workflow(SignalingParent.run, "v", id=workflow_id, task_queue=task_queue)
    return await _history(client, workflow_id)


async def signal_missing(client: Client, task_queue: str, workflow_id: str) -> History:
    """A signal to a workflow that does not exist: SignalExternalWorkflowExecutionFailed."""
    await client.execute_workflow(
        ExternalSignaler.run,
        args=[f"{workflow_id}-nobody", "v"],
        id=workflow_id,
        task_queue=task_queue,
    )
    return await _history(client, workflow_id)


async def cancel_external(client: Client, task_queue: str, workflow_id: str) -> History:
    """A cancel request to another running workflow, which then cancels itself."""
    target = await client.start_workflow(
        ChildWaiter.run, id=f"{workflow_id}-target", task_queue=task_queue
    )
    await client.execute_workflow(
        ExternalCanceler.run, target.id, id=workflow_id, task_queue=task_queue
    )
    return await _history(client, workflow_id)


CHILD_SCENARIOS: dict[str, Scenario] = {
    "child_workflow": child_workflow,
    "child_workflow_child": child_workflow_child,
    "child_already_exists": child_already_exists,
    "signal_child": signal_child,
    "signal_missing": signal_missing,
    "cancel_external": cancel_external,
}
