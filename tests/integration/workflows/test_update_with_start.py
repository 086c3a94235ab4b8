"""Update-with-start (ExecuteMultiOperation) through the official SDK, on Strom and dev server."""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.worker import Worker

from tests.integration.workflows.conftest import Server
from tests.workflows.updater import UpdaterWorkflow

# No tighter timeout than the suite's: the first test also waits for Kafka, Elasticsearch
# and the dev server, which take minutes on a loaded machine.

# The first workflow task of a new run carries the update: the worker accepts and completes
# it in that task's completion.
STARTED_WITH_UPDATE = [
    "WORKFLOW_EXECUTION_STARTED",
    "WORKFLOW_TASK_SCHEDULED",
    "WORKFLOW_TASK_STARTED",
    "WORKFLOW_TASK_COMPLETED",
    "WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
    "WORKFLOW_EXECUTION_UPDATE_COMPLETED",
]
FINISHED = [
    "WORKFLOW_EXECUTION_SIGNALED",
    "WORKFLOW_TASK_SCHEDULED",
    "WORKFLOW_TASK_STARTED",
    "WORKFLOW_TASK_COMPLETED",
    "WORKFLOW_EXECUTION_COMPLETED",
]


def _worker(client: Client, task_queue: str) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=[UpdaterWorkflow])


def _operation(
    workflow_id: str,
    task_queue: str,
    policy: WorkflowIDConflictPolicy = WorkflowIDConflictPolicy.USE_EXISTING,
    **kw: object,
) -> WithStartWorkflowOperation[UpdaterWorkflow, int]:
    return WithStartWorkflowOperation(
        UpdaterWorkflow.run,
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=policy,
        **kw,  # type: ignore[arg-type]
    )


async def _types(handle: WorkflowHandle[object, object]) -> list[str]:
    return [
        EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        async for event in handle.fetch_history_events()
    ]


async def test_new_workflow_gets_the_update_in_its_first_task(server: Server) -> None:
    tq = server.task_queue()
    operation = _operation(f"uws-new-{uuid.uuid4()}", tq)
    async with _worker(server.client, tq):
        previous = await server.client.execute_update_with_start_workflow(
            UpdaterWorkflow.set_value, 4, start_workflow_operation=operation
        )
        assert previous == 0
        handle = await operation.workflow_handle()
        await handle.signal(UpdaterWorkflow.finish)
        assert await handle.result() == 4
    assert await _types(handle) == STARTED_WITH_UPDATE + FINISHED


async def test_use_existing_updates_the_running_workflow(server: Server) -> None:
    tq = server.task_queue()
    workflow_id = f"uws-existing-{uuid.uuid4()}"
    async with _worker(server.client, tq):
        running = await server.client.start_workflow(
            UpdaterWorkflow.run, id=workflow_id, task_queue=tq
        )
        operation = _operation(workflow_id, tq)
        update = await server.client.start_update_with_start_workflow(
            UpdaterWorkflow.set_value,
            6,
            start_workflow_operation=operation,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        assert await update.result() == 0
        handle = await operation.workflow_handle()
        assert handle.result_run_id == running.result_run_id
        await running.signal(UpdaterWorkflow.finish)
        assert await running.result() == 6
    types = await _types(running)
    assert types[0] == "WORKFLOW_EXECUTION_STARTED"
    assert types.count("WORKFLOW_EXECUTION_STARTED") == 1
    assert "WORKFLOW_EXECUTION_UPDATE_COMPLETED" in types
    assert types[-1] == "WORKFLOW_EXECUTION_COMPLETED"


async def test_conflict_policies_on_a_running_workflow(server: Server) -> None:
    tq = server.task_queue()
    workflow_id = f"uws-conflict-{uuid.uuid4()}"
    async with _worker(server.client, tq):
        first = _operation(workflow_id, tq)
        await server.client.execute_update_with_start_workflow(
            UpdaterWorkflow.set_value, 1, start_workflow_operation=first
        )
        old = await first.workflow_handle()
        # FAIL: the start fails with Temporal's AlreadyStarted, the update is not applied.
        refused = _operation(workflow_id, tq, WorkflowIDConflictPolicy.FAIL)
        with pytest.raises(WorkflowAlreadyStartedError):
            await server.client.execute_update_with_start_workflow(
                UpdaterWorkflow.set_value, 2, start_workflow_operation=refused
            )
        with pytest.raises(WorkflowAlreadyStartedError):
            await refused.workflow_handle()
        # TERMINATE_EXISTING: a new run takes the update; the old one is terminated.
        replacing = _operation(workflow_id, tq, WorkflowIDConflictPolicy.TERMINATE_EXISTING)
        assert (
            await server.client.execute_update_with_start_workflow(
                UpdaterWorkflow.set_value, 3, start_workflow_operation=replacing
            )
            == 0
        )
        new = await replacing.workflow_handle()
        assert new.result_run_id != old.result_run_id
        old_run = server.client.get_workflow_handle(workflow_id, run_id=old.result_run_id)
        assert (await old_run.describe()).status == WorkflowExecutionStatus.TERMINATED
        await new.signal(UpdaterWorkflow.finish)
        assert await new.result() == 3
    assert await _types(new) == STARTED_WITH_UPDATE + FINISHED


async def test_closed_workflow_follows_the_id_reuse_policy(server: Server) -> None:
    tq = server.task_queue()
    workflow_id = f"uws-closed-{uuid.uuid4()}"
    async with _worker(server.client, tq):
        done = await server.client.start_workflow(
            UpdaterWorkflow.run, id=workflow_id, task_queue=tq
        )
        await done.signal(UpdaterWorkflow.finish)
        assert await done.result() == 0
        rejected = _operation(
            workflow_id, tq, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE
        )
        with pytest.raises(WorkflowAlreadyStartedError):
            await server.client.execute_update_with_start_workflow(
                UpdaterWorkflow.set_value, 5, start_workflow_operation=rejected
            )
        allowed = _operation(workflow_id, tq)
        assert (
            await server.client.execute_update_with_start_workflow(
                UpdaterWorkflow.set_value, 5, start_workflow_operation=allowed
            )
            == 0
        )
        handle = await allowed.workflow_handle()
        assert handle.result_run_id != done.result_run_id
        await handle.signal(UpdaterWorkflow.finish)
        assert await handle.result() == 5


async def test_validator_rejection_leaves_the_started_workflow_running(server: Server) -> None:
    tq = server.task_queue()
    operation = _operation(f"uws-rejected-{uuid.uuid4()}", tq)
    async with _worker(server.client, tq):
        with pytest.raises(WorkflowUpdateFailedError) as raised:
            await server.client.execute_update_with_start_workflow(
                UpdaterWorkflow.set_value, -1, start_workflow_operation=operation
            )
        assert "negative value -1" in str(raised.value.cause)
        # The start stands: the run is there and running, nothing of the update is written.
        handle = await operation.workflow_handle()
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        assert await _types(handle) == STARTED_WITH_UPDATE[:4]
        await handle.signal(UpdaterWorkflow.finish)
        assert await handle.result() == 0
