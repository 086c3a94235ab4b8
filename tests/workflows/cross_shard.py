"""Workflows whose messages cross history shards: a parent starts children, signals, cancels."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from temporalio import workflow

from tests.workflows.children import ChildGreeter
from tests.workflows.signal_collector import SignalCollectorWorkflow


@dataclass
class CrossShardPlan:
    """What one `CrossShardParent` reaches: workflow ids the test chose by their shard."""

    children: list[str]
    signal_targets: list[str]
    cancel_targets: list[str]


@workflow.defn
class CancelTarget:
    """Waits until it is asked to cancel, then completes with "canceled"."""

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.wait_condition(lambda: False)
        except asyncio.CancelledError:
            return "canceled"
        return "never"


@workflow.defn
class CrossShardParent:
    """Starts its children, signals and cancels its targets at once; returns the greetings."""

    @workflow.run
    async def run(self, plan: CrossShardPlan) -> list[str]:
        me = workflow.info().workflow_id
        children = [
            workflow.execute_child_workflow(ChildGreeter.run, child, id=child)
            for child in plan.children
        ]
        signals = [
            workflow.get_external_workflow_handle(target).signal(SignalCollectorWorkflow.add, me)
            for target in plan.signal_targets
        ]
        cancels = [
            workflow.get_external_workflow_handle(target).cancel() for target in plan.cancel_targets
        ]
        results = await asyncio.gather(*children, *signals, *cancels)
        return list(results[: len(children)])
