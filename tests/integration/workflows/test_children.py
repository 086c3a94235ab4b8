"""Child workflows, external signals and external cancels through the official SDK, on Strom and
on the dev server. Strom's 8 history shards put most parents and children on different shards."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker

from tests.golden.child_scenarios import CHILD_SCENARIOS
from tests.integration.workflows.conftest import Server
from tests.unit.history.golden import load
from tests.workflows.children import (
    CHILD_WORKFLOWS,
    AbandoningParent,
    CancelingParent,
    ChildWaiter,
    ExternalCanceler,
    ExternalSignaler,
    ParentOfChildren,
    ParentOfDuplicate,
    SignalingParent,
)

pytestmark = [pytest.mark.timeout(120)]

# Their histories do not depend on how fast the child runs against the parent's next task.
DETERMINISTIC = ["child_already_exists", "signal_missing", "cancel_external"]


def worker(client: Client, task_queue: str) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=CHILD_WORKFLOWS)


def _types(events: list[HistoryEvent]) -> list[str]:
    return [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in events]


def _relative_types(events: list[HistoryEvent]) -> list[str]:
    """Event types without the workflow-task events, whose interleaving is a race."""
    return [t for t in _types(events) if not t.startswith("WORKFLOW_TASK_")]


@pytest.mark.parametrize("name", DETERMINISTIC)
async def test_scenario_history_matches_the_golden(server: Server, name: str) -> None:
    tq = server.task_queue()
    async with worker(server.client, tq):
        history = await CHILD_SCENARIOS[name](server.client, tq, f"{name}-{uuid.uuid4()}")
    assert _types(list(history.events)) == _types(list(load(name).events))


@pytest.mark.parametrize("name", ["child_workflow", "signal_child"])
async def test_scenario_writes_the_golden_events(server: Server, name: str) -> None:
    tq = server.task_queue()
    async with worker(server.client, tq):
        history = await CHILD_SCENARIOS[name](server.client, tq, f"{name}-{uuid.uuid4()}")
    assert _relative_types(list(history.events)) == _relative_types(list(load(name).events))


async def test_children_complete_and_fail_into_the_parent(server: Server) -> None:
    tq = server.task_queue()
    parent_id = f"parent-{uuid.uuid4()}"
    async with worker(server.client, tq):
        result = await server.client.execute_workflow(
            ParentOfChildren.run, "Strom", id=parent_id, task_queue=tq
        )
        assert result == ["Hello, Strom!", "failed: child failed on purpose"]
        child = await server.client.get_workflow_handle(f"{parent_id}-ok").describe()
    parent_run = (await server.client.get_workflow_handle(parent_id).describe()).run_id
    info = child.raw_description.workflow_execution_info
    assert child.status == WorkflowExecutionStatus.COMPLETED
    assert (info.parent_execution.workflow_id, info.parent_execution.run_id) == (
        parent_id,
        parent_run,
    )
    assert info.root_execution.workflow_id == parent_id
    assert info.root_execution.run_id == parent_run
    assert child.parent_id == parent_id


async def test_taken_child_id_fails_the_start(server: Server) -> None:
    tq = server.task_queue()
    async with worker(server.client, tq):
        taken = await server.client.start_workflow(
            ChildWaiter.run, id=f"taken-{uuid.uuid4()}", task_queue=tq
        )
        result = await server.client.execute_workflow(
            ParentOfDuplicate.run, taken.id, id=f"dup-{uuid.uuid4()}", task_queue=tq
        )
        assert result == f"already started: {taken.id}"
        await taken.terminate("done")


async def test_signal_and_cancel_reach_other_workflows(server: Server) -> None:
    tq = server.task_queue()
    async with worker(server.client, tq):
        assert (
            await server.client.execute_workflow(
                SignalingParent.run, "v", id=f"sig-parent-{uuid.uuid4()}", task_queue=tq
            )
            == "v"
        )
        target = await server.client.start_workflow(
            ChildWaiter.run, id=f"target-{uuid.uuid4()}", task_queue=tq
        )
        signaled = await server.client.execute_workflow(
            ExternalSignaler.run, args=[target.id, "hi"], id=f"sig-{uuid.uuid4()}", task_queue=tq
        )
        assert signaled == "signaled"
        assert await target.result() == "hi"

        missing = f"missing-{uuid.uuid4()}"
        assert (
            await server.client.execute_workflow(
                ExternalSignaler.run, args=[missing, "x"], id=f"sig-{uuid.uuid4()}", task_queue=tq
            )
            == "signal failed: ExternalWorkflowExecutionNotFound"
        )
        assert (
            await server.client.execute_workflow(
                ExternalCanceler.run, missing, id=f"cancel-{uuid.uuid4()}", task_queue=tq
            )
            == "cancel failed: ExternalWorkflowExecutionNotFound"
        )

        victim = await server.client.start_workflow(
            ChildWaiter.run, id=f"victim-{uuid.uuid4()}", task_queue=tq
        )
        assert (
            await server.client.execute_workflow(
                ExternalCanceler.run, victim.id, id=f"cancel-{uuid.uuid4()}", task_queue=tq
            )
            == "cancel requested"
        )
        assert (await victim.describe()).status in (
            WorkflowExecutionStatus.CANCELED,
            WorkflowExecutionStatus.RUNNING,
        )
        for _ in range(100):
            if (await victim.describe()).status == WorkflowExecutionStatus.CANCELED:
                break
            await asyncio.sleep(0.1)
        assert (await victim.describe()).status == WorkflowExecutionStatus.CANCELED


async def test_canceled_child_reports_canceled(server: Server) -> None:
    tq = server.task_queue()
    async with worker(server.client, tq):
        result = await server.client.execute_workflow(
            CancelingParent.run, id=f"canceling-{uuid.uuid4()}", task_queue=tq
        )
    assert result == "child: CancelledError"


@pytest.mark.parametrize(
    ("policy", "status"),
    [
        ("TERMINATE", WorkflowExecutionStatus.TERMINATED),
        ("REQUEST_CANCEL", WorkflowExecutionStatus.CANCELED),
        ("ABANDON", WorkflowExecutionStatus.RUNNING),
    ],
)
async def test_parent_close_policy(
    server: Server, policy: str, status: WorkflowExecutionStatus
) -> None:
    tq = server.task_queue()
    parent_id = f"policy-{uuid.uuid4()}"
    async with worker(server.client, tq):
        await server.client.execute_workflow(
            AbandoningParent.run, policy, id=parent_id, task_queue=tq
        )
        child = server.client.get_workflow_handle(f"{parent_id}-child")
        for _ in range(100):
            described = await child.describe()
            if described.status == status:
                break
            await asyncio.sleep(0.1)
        # An abandoned child keeps running: give a wrongly applied policy time to show.
        if status == WorkflowExecutionStatus.RUNNING:
            await asyncio.sleep(1.0)
            described = await child.describe()
        assert described.status == status
        if status == WorkflowExecutionStatus.RUNNING:
            await child.terminate("test done")
