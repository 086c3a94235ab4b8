"""Workflow updates through the official SDK, on Strom and on the dev server."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.golden.signal_scenarios import completed_tasks
from tests.golden.update_scenarios import UPDATE_SCENARIOS
from tests.integration.workflows.conftest import Server
from tests.unit.history.golden import load
from tests.workflows.updater import UNLUCKY, UpdaterWorkflow

pytestmark = [pytest.mark.timeout(120)]

_ACCEPTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED


def worker(client: Client, task_queue: str) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=[UpdaterWorkflow])


def _types(events: list[HistoryEvent]) -> list[str]:
    return [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in events]


@pytest.mark.parametrize("name", sorted(UPDATE_SCENARIOS))
async def test_scenario_history_matches_the_golden(server: Server, name: str) -> None:
    tq = server.task_queue()
    async with worker(server.client, tq):
        history = await UPDATE_SCENARIOS[name](server.client, tq, f"{name}-{uuid.uuid4()}")
    assert _types(list(history.events)) == _types(list(load(name).events))


async def test_same_update_id_joins_and_deduplicates(server: Server) -> None:
    tq = server.task_queue()
    async with worker(server.client, tq):
        handle = await server.client.start_workflow(
            UpdaterWorkflow.run, id=f"dedup-{uuid.uuid4()}", task_queue=tq
        )
        first, second = await asyncio.gather(
            handle.execute_update(UpdaterWorkflow.set_value, 5, id="same"),
            handle.execute_update(UpdaterWorkflow.set_value, 5, id="same"),
        )
        assert first == second == 0
        # After completion the same id gets the recorded outcome, and nothing runs again.
        assert await handle.execute_update(UpdaterWorkflow.set_value, 9, id="same") == 0
        polled = handle.get_update_handle("same")
        assert await polled.result() == 0
        await handle.signal(UpdaterWorkflow.finish)
        assert await handle.result() == 5
        history = await handle.fetch_history()
    assert sum(1 for e in history.events if e.event_type == _ACCEPTED) == 1


async def test_accepted_stage_then_poll_for_the_result(server: Server) -> None:
    tq = server.task_queue()
    async with worker(server.client, tq):
        handle = await server.client.start_workflow(
            UpdaterWorkflow.run, id=f"accepted-{uuid.uuid4()}", task_queue=tq
        )
        update = await handle.start_update(
            UpdaterWorkflow.slow_set, 3, wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        await handle.signal(UpdaterWorkflow.finish)
        assert await update.result() == 3


async def test_rejected_and_failed_updates_reach_the_caller(server: Server) -> None:
    tq = server.task_queue()
    async with worker(server.client, tq):
        handle = await server.client.start_workflow(
            UpdaterWorkflow.run, id=f"errors-{uuid.uuid4()}", task_queue=tq
        )
        await completed_tasks(handle, 1)
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await handle.execute_update(UpdaterWorkflow.set_value, -4, id="negative")
        assert "negative value -4" in str(rejected.value.cause)
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await handle.execute_update(UpdaterWorkflow.set_value, UNLUCKY)
        assert isinstance(failed.value.cause, ApplicationError)
        assert failed.value.cause.type == "Unlucky"
        # A rejected update left nothing behind to poll.
        with pytest.raises(RPCError) as missing:
            await handle.get_update_handle("negative").result()
        assert missing.value.status == RPCStatusCode.NOT_FOUND
        await handle.signal(UpdaterWorkflow.finish)
        assert await handle.result() == 0


async def test_update_to_a_closed_workflow_is_not_found(server: Server) -> None:
    tq = server.task_queue()
    async with worker(server.client, tq):
        handle = await server.client.start_workflow(
            UpdaterWorkflow.run, id=f"closed-{uuid.uuid4()}", task_queue=tq
        )
        await handle.execute_update(UpdaterWorkflow.set_value, 1, id="before")
        await handle.signal(UpdaterWorkflow.finish)
        await handle.result()
        with pytest.raises(RPCError) as closed:
            await handle.execute_update(UpdaterWorkflow.set_value, 2)
        assert closed.value.status == RPCStatusCode.NOT_FOUND
        assert "workflow execution already completed" in closed.value.message
        # An update completed before the run closed is still answered.
        assert await handle.execute_update(UpdaterWorkflow.set_value, 1, id="before") == 0


async def test_update_with_start_starts_then_updates_the_running_workflow(server: Server) -> None:
    tq = server.task_queue()
    workflow_id = f"uws-{uuid.uuid4()}"

    def operation(policy: WorkflowIDConflictPolicy) -> WithStartWorkflowOperation:
        return WithStartWorkflowOperation(
            UpdaterWorkflow.run, id=workflow_id, task_queue=tq, id_conflict_policy=policy
        )

    async with worker(server.client, tq):
        first = operation(WorkflowIDConflictPolicy.USE_EXISTING)
        previous = await server.client.execute_update_with_start_workflow(
            UpdaterWorkflow.set_value, 4, start_workflow_operation=first
        )
        assert previous == 0
        handle = await first.workflow_handle()
        # The running workflow is updated, not started again.
        again = operation(WorkflowIDConflictPolicy.USE_EXISTING)
        assert (
            await server.client.execute_update_with_start_workflow(
                UpdaterWorkflow.set_value, 6, start_workflow_operation=again
            )
            == 4
        )
        assert (await again.workflow_handle()).result_run_id == handle.result_run_id
        # FAIL refuses the running workflow: the start fails, the update is aborted.
        with pytest.raises(WorkflowAlreadyStartedError):
            await server.client.execute_update_with_start_workflow(
                UpdaterWorkflow.set_value,
                8,
                start_workflow_operation=operation(WorkflowIDConflictPolicy.FAIL),
            )
        await handle.signal(UpdaterWorkflow.finish)
        assert await handle.result() == 6
