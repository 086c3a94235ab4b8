"""Strom only: SIGKILL of the history processor while parents start children on other shards.

The start of a child, its report to the parent and its close all travel between shards through
the routed outbox; a killed processor's open transaction aborts and its inputs are processed
again by the next one. Every child must start exactly once and every parent complete.
"""

from __future__ import annotations

import asyncio
import signal
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from strom.testing import StromEnvironment
from tests.workflows.children import ChildGreeter, FanOutParent

pytestmark = [pytest.mark.timeout(300)]

PARENTS = 12
CHILDREN = 4
_E = EventType


async def _events(client: Client, workflow_id: str) -> list:
    return list((await client.get_workflow_handle(workflow_id).fetch_history()).events)


async def _initiated(client: Client, workflow_id: str) -> None:
    """Waits until `workflow_id` has initiated its children."""
    initiated = _E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    for _ in range(300):
        if any(e.event_type == initiated for e in await _events(client, workflow_id)):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{workflow_id} initiated no child")


async def _assert_started_once(client: Client, parent_id: str) -> None:
    parent = await _events(client, parent_id)
    assert [e.event_id for e in parent] == list(range(1, len(parent) + 1)), parent_id
    kinds = [e.event_type for e in parent]
    assert kinds.count(_E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) == CHILDREN
    assert kinds.count(_E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED) == CHILDREN
    assert kinds.count(_E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED) == CHILDREN
    assert _E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED not in kinds
    started = {
        e.child_workflow_execution_started_event_attributes.workflow_execution.workflow_id: (
            e.child_workflow_execution_started_event_attributes.workflow_execution.run_id
        )
        for e in parent
        if e.event_type == _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED
    }
    for child_id, run_id in started.items():
        child = await _events(client, child_id)
        first = child[0].workflow_execution_started_event_attributes
        # The run the parent recorded is the child's one and only run.
        assert first.original_execution_run_id == run_id, child_id
        assert first.parent_workflow_execution.workflow_id == parent_id
        assert [e.event_id for e in child] == list(range(1, len(child) + 1)), child_id
        assert child[-1].event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


async def test_sigkill_while_children_are_started(strom_env: StromEnvironment) -> None:
    client = strom_env.client
    tq = f"children-crash-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=tq, workflows=[FanOutParent, ChildGreeter]):
        handles = []
        for i in range(PARENTS):
            handles.append(
                await client.start_workflow(
                    FanOutParent.run, CHILDREN, id=f"fan-{i}-{uuid.uuid4()}", task_queue=tq
                )
            )
            if i == PARENTS // 2:
                # Kill once children are on their way: the first parent has initiated its own.
                await _initiated(client, handles[0].id)
                process = strom_env.services.processes["history"]
                process.send_signal(signal.SIGKILL)
                process.wait(60)
                strom_env.services.respawn("history")
        results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 240)
    assert results == [[f"Hello, c{i}!" for i in range(CHILDREN)]] * PARENTS
    for handle in handles:
        await _assert_started_once(client, handle.id)
