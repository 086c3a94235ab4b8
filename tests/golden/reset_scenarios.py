"""Golden scenario of a reset: a completed run reset to its first workflow task, signals
reapplied; yields the base run's history and the reset run's."""

from __future__ import annotations

import asyncio

from temporalio.api.enums.v1 import EventType, ResetReapplyType
from temporalio.api.history.v1 import History
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client

from tests.workflows.signal_collector import SignalCollectorWorkflow


async def _wait_for(client: Client, workflow_id: str, run_id: str, count: int) -> History:
    """The run's history once it holds `count` WorkflowTaskCompleted events."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    for _ in range(200):
        events = (await handle.fetch_history()).events
        done = [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
        if len(done) >= count:
            return History(events=events)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{workflow_id} never completed {count} workflow tasks")


async def reset(client: Client, task_queue: str, workflow_id: str) -> list[History]:
    """Two signals in two workflow tasks, then a reset to the first WorkflowTaskCompleted:
    the reset run gets both signals back and completes again."""
    handle = await client.start_workflow(
        SignalCollectorWorkflow.run, 2, id=workflow_id, task_queue=task_queue
    )
    assert handle.result_run_id is not None
    await _wait_for(client, workflow_id, handle.result_run_id, 1)
    await handle.signal(SignalCollectorWorkflow.add, "a")
    await _wait_for(client, workflow_id, handle.result_run_id, 2)
    await handle.signal(SignalCollectorWorkflow.add, "b")
    await handle.result()
    base = History(events=(await handle.fetch_history()).events)
    response = await client.workflow_service.reset_workflow_execution(
        _request(client, workflow_id, handle.result_run_id)
    )
    reset_run = client.get_workflow_handle(workflow_id, run_id=response.run_id)
    await reset_run.result()
    return [base, History(events=(await reset_run.fetch_history()).events)]


def _request(client: Client, workflow_id: str, run_id: str) -> ResetWorkflowExecutionRequest:
    request = ResetWorkflowExecutionRequest(
        namespace=client.namespace,
        reason="golden reset",
        workflow_task_finish_event_id=4,
        request_id="golden-reset-request",
        reset_reapply_type=ResetReapplyType.RESET_REAPPLY_TYPE_SIGNAL,
    )
    request.workflow_execution.workflow_id = workflow_id
    request.workflow_execution.run_id = run_id
    return request


RESET_SCENARIOS = {"reset": reset}
