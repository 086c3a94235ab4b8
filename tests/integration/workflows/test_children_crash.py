"""Strom only: SIGKILL and hand-over of history processors while parents reach other shards.

The start of a child, its report to the parent, its close, an external signal or cancel and its
result all travel between shards through the routed outbox; a killed processor's open
transaction aborts and its inputs are processed again by the next owner of the shard. Every
child must start exactly once, every signal and cancel request arrive exactly once, and every
parent complete with its children's results.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.worker import Worker

from schemas.placement import shard_for
from strom.testing import StromEnvironment
from tests.helpers import (
    eventually_async,
    restored_partitions,
    retry_rpc,
    start_despite_faults,
)
from tests.workflows.children import ChildGreeter, FanOutParent
from tests.workflows.cross_shard import CancelTarget, CrossShardParent, CrossShardPlan
from tests.workflows.signal_collector import SignalCollectorWorkflow

pytestmark = [pytest.mark.timeout(900)]

PARENTS = 12
CHILDREN = 4
_E = EventType


async def _events(client: Client, workflow_id: str) -> list:
    return list((await client.get_workflow_handle(workflow_id).fetch_history()).events)


async def _initiated(client: Client, workflow_id: str) -> None:
    """Waits until `workflow_id` has initiated its children."""
    initiated = _E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED

    async def seen() -> bool:
        return any(e.event_type == initiated for e in await _events(client, workflow_id))

    # A history processor may be down or restoring meanwhile: reads fail or wait until it is back.
    await eventually_async(seen, timeout=180, interval=0.2, retry_on=(AssertionError, RPCError))


async def _assert_started_once(client: Client, parent_id: str, children: int = CHILDREN) -> None:
    parent = await _events(client, parent_id)
    assert [e.event_id for e in parent] == list(range(1, len(parent) + 1)), parent_id
    kinds = [e.event_type for e in parent]
    assert kinds.count(_E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) == children
    assert kinds.count(_E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED) == children
    assert kinds.count(_E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED) == children
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
                strom_env.services.kill("history")
                strom_env.services.respawn("history")
        results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 240)
    assert results == [[f"Hello, c{i}!" for i in range(CHILDREN)]] * PARENTS
    for handle in handles:
        await _assert_started_once(client, handle.id)


NAMESPACE = "default"
ROUNDS = 4  # one fault after each round of parents
PARENTS_PER_ROUND = 3
XS_PARENTS = ROUNDS * PARENTS_PER_ROUND
XS_CHILDREN = 2
SIGNAL_TARGETS = 3  # each signaled once by every parent


def _ids_on(prefix: str, shards: int, home: int, at_home: bool, count: int) -> list[str]:
    """`count` workflow ids `<prefix>-<n>` on shard `home` (at_home) or on any other shard."""
    ids = (f"{prefix}-{n}" for n in itertools.count())
    return list(
        itertools.islice(
            (i for i in ids if (shard_for(NAMESPACE, i, shards) == home) == at_home), count
        )
    )


class _HandOvers:
    """The faults between rounds: a crash, a second history process joining, a crash while
    two run (the survivor takes every shard), and the second one leaving again."""

    def __init__(self, env: StromEnvironment) -> None:
        self.services = env.services
        self.shards = set(range(env.services.topology.shards))
        self.second = ""

    def _second_log(self) -> Path:
        return self.services.log_dir / f"{self.second}.log"

    async def _until_second_restored(self, shards: set[int]) -> None:
        async def restored() -> bool:
            return restored_partitions(self._second_log()) >= shards

        await eventually_async(restored, timeout=240, interval=0.5)

    async def run(self, round_number: int) -> None:
        if round_number == 0:
            self.services.kill("history")
            self.services.respawn("history")
        elif round_number == 1:
            state_dir = self.services.log_dir.parent / "history-state-second"
            self.second = self.services.spawn_instance(
                "history", "second", ["--instance", "second", "--state-dir", str(state_dir)]
            )
            # Joined once it owns a shard (restored it from the changelog).
            await eventually_async(
                lambda: bool(restored_partitions(self._second_log())), timeout=240, interval=0.5
            )
        elif round_number == 2:
            self.services.kill("history")
            await self._until_second_restored(self.shards)  # every shard handed over
            self.services.respawn("history")
        else:
            self.services.stop_service(self.second)  # a graceful leave hands its shards back


async def _result(handle: WorkflowHandle) -> Any:
    """The workflow's result, asked again while a history processor is away."""
    return await asyncio.wait_for(retry_rpc(handle.result, timeout=480), 600)


def _count(events: list, kind: int) -> int:
    return sum(e.event_type == kind for e in events)


async def _assert_whole(client: Client, workflow_id: str) -> list:
    events = await _events(client, workflow_id)
    assert [e.event_id for e in events] == list(range(1, len(events) + 1)), workflow_id
    assert events[-1].event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, workflow_id
    return events


async def test_cross_shard_messages_survive_sigkill_and_hand_over(
    strom_env: StromEnvironment,
) -> None:
    client = strom_env.client
    shards = strom_env.services.topology.shards
    run = f"xs-{uuid.uuid4().hex[:8]}"
    home = shard_for(NAMESPACE, run, shards)
    parents = _ids_on(f"{run}-p", shards, home, True, XS_PARENTS)
    children = _ids_on(f"{run}-c", shards, home, False, XS_PARENTS * XS_CHILDREN)
    signal_targets = _ids_on(f"{run}-s", shards, home, False, SIGNAL_TARGETS)
    cancel_targets = _ids_on(f"{run}-x", shards, home, False, XS_PARENTS)
    plans = {
        parent: CrossShardPlan(
            children[i * XS_CHILDREN : (i + 1) * XS_CHILDREN], signal_targets, [cancel_targets[i]]
        )
        for i, parent in enumerate(parents)
    }
    faults = _HandOvers(strom_env)
    tq = f"xshard-{uuid.uuid4().hex[:8]}"
    workflows = [CrossShardParent, ChildGreeter, SignalCollectorWorkflow, CancelTarget]
    async with Worker(client, task_queue=tq, workflows=workflows):
        for target in signal_targets:  # done after one signal of each parent and the test's
            await client.start_workflow(
                SignalCollectorWorkflow.run, XS_PARENTS + 1, id=target, task_queue=tq
            )
        for target in cancel_targets:
            await client.start_workflow(CancelTarget.run, id=target, task_queue=tq)
        for round_number in range(ROUNDS):
            batch = parents[
                round_number * PARENTS_PER_ROUND : (round_number + 1) * PARENTS_PER_ROUND
            ]
            for parent in batch:
                await start_despite_faults(
                    client, "CrossShardParent", plans[parent], id=parent, task_queue=tq
                )
            await _initiated(client, batch[0])  # messages are on their way
            await faults.run(round_number)
        results = {p: await _result(client.get_workflow_handle(p)) for p in parents}
        for target in signal_targets:
            handle = client.get_workflow_handle(target)
            await retry_rpc(lambda h=handle: h.signal(SignalCollectorWorkflow.add, "done"))
        collected = {t: await _result(client.get_workflow_handle(t)) for t in signal_targets}
        canceled = {t: await _result(client.get_workflow_handle(t)) for t in cancel_targets}
    strom_env.services.check_alive()

    for parent, plan in plans.items():
        assert results[parent] == [f"Hello, {child}!" for child in plan.children]
        await _assert_started_once(client, parent, XS_CHILDREN)
        events = await _events(client, parent)
        initiated = _E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED
        assert _count(events, initiated) == SIGNAL_TARGETS
        assert _count(events, _E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED) == SIGNAL_TARGETS
        cancel = _E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED
        assert _count(events, cancel) == 1
        assert _count(events, _E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED) == 1
    for target in signal_targets:
        assert sorted(collected[target]) == sorted([*parents, "done"]), target
        events = await _assert_whole(client, target)
        signaled = [
            e.workflow_execution_signaled_event_attributes
            for e in events
            if e.event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        ]
        per_request = collections.Counter(s.request_id for s in signaled)
        assert set(per_request.values()) == {1}, (target, per_request)
        senders = sorted(s.external_workflow_execution.workflow_id for s in signaled)
        assert senders == sorted(["", *parents]), target  # "" is the test's own signal
    for parent, target in zip(parents, cancel_targets, strict=True):
        assert canceled[target] == "canceled"
        events = await _assert_whole(client, target)
        requested = [
            e.workflow_execution_cancel_requested_event_attributes
            for e in events
            if e.event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED
        ]
        assert [r.external_workflow_execution.workflow_id for r in requested] == [parent]
