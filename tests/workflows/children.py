"""Workflows that reach other workflows: children, external signals and external cancels."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import (
    ApplicationError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
)
from temporalio.workflow import ParentClosePolicy


@workflow.defn
class ChildGreeter:
    """A child that greets `name`, or fails when the name is "fail"."""

    @workflow.run
    async def run(self, name: str) -> str:
        if name == "fail":
            raise ApplicationError("child failed on purpose", non_retryable=True)
        return f"Hello, {name}!"


@workflow.defn
class ChildWaiter:
    """A child that returns the value of its `release` signal, or "canceled" when canceled."""

    def __init__(self) -> None:
        self.value: str | None = None

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.value is not None)
        assert self.value is not None
        return self.value

    @workflow.signal
    def release(self, value: str) -> None:
        """Lets the child finish with `value`."""
        self.value = value


@workflow.defn
class ParentOfChildren:
    """Runs a child that completes, then one that fails; returns what both reported."""

    @workflow.run
    async def run(self, name: str) -> list[str]:
        base = workflow.info().workflow_id
        out = [await workflow.execute_child_workflow(ChildGreeter.run, name, id=f"{base}-ok")]
        try:
            await workflow.execute_child_workflow(ChildGreeter.run, "fail", id=f"{base}-fail")
        except ChildWorkflowError as err:
            out.append(f"failed: {err.cause}")
        return out


@workflow.defn
class ParentOfDuplicate:
    """Starts a child whose workflow id is taken by a running workflow (`taken`)."""

    @workflow.run
    async def run(self, taken: str) -> str:
        try:
            await workflow.start_child_workflow(
                ChildGreeter.run,
                "x",
                id=taken,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            )
        except WorkflowAlreadyStartedError as err:
            return f"already started: {err.workflow_id}"
        return "started"


@workflow.defn
class SignalingParent:
    """Starts a waiting child, signals it (SignalExternal, child only) and returns its result."""

    @workflow.run
    async def run(self, value: str) -> str:
        base = workflow.info().workflow_id
        child = await workflow.start_child_workflow(ChildWaiter.run, id=f"{base}-child")
        await child.signal(ChildWaiter.release, value)
        return await child


@workflow.defn
class ExternalSignaler:
    """Signals the workflow `target` (any workflow, maybe none); returns how that went."""

    @workflow.run
    async def run(self, target: str, value: str) -> str:
        try:
            await workflow.get_external_workflow_handle(target).signal("release", value)
        except ApplicationError as err:
            return f"signal failed: {err.type}"
        return "signaled"


@workflow.defn
class ExternalCanceler:
    """Asks the workflow `target` to cancel; returns how that went."""

    @workflow.run
    async def run(self, target: str) -> str:
        try:
            await workflow.get_external_workflow_handle(target).cancel()
        except ApplicationError as err:
            return f"cancel failed: {err.type}"
        return "cancel requested"


@workflow.defn
class CancelingParent:
    """Starts a waiting child, cancels it and reports how the child ended."""

    @workflow.run
    async def run(self) -> str:
        base = workflow.info().workflow_id
        child = await workflow.start_child_workflow(ChildWaiter.run, id=f"{base}-child")
        child.cancel()
        try:
            await child
        except ChildWorkflowError as err:
            return f"child: {type(err.cause).__name__}"
        return "child completed"


@workflow.defn
class AbandoningParent:
    """Starts a waiting child with `policy` and completes while the child still waits."""

    @workflow.run
    async def run(self, policy: str) -> str:
        base = workflow.info().workflow_id
        await workflow.start_child_workflow(
            ChildWaiter.run,
            id=f"{base}-child",
            parent_close_policy=ParentClosePolicy[policy],
            execution_timeout=timedelta(minutes=5),
        )
        await asyncio.sleep(0)
        return "done"


@workflow.defn
class FanOutParent:
    """Starts `count` children at once and returns their greetings in order."""

    @workflow.run
    async def run(self, count: int) -> list[str]:
        base = workflow.info().workflow_id
        children = [
            workflow.execute_child_workflow(ChildGreeter.run, f"c{i}", id=f"{base}-c{i}")
            for i in range(count)
        ]
        return list(await asyncio.gather(*children))


CHILD_WORKFLOWS = [
    ChildGreeter,
    ChildWaiter,
    ParentOfChildren,
    ParentOfDuplicate,
    SignalingParent,
    ExternalSignaler,
    ExternalCanceler,
    CancelingParent,
    AbandoningParent,
    FanOutParent,
]
