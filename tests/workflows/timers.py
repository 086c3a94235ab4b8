"""Workflows that use timers: sleeps, conditions with timeouts, wait_for, parallel sleeps."""

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.workflows.activities import greet, slow_greet


@workflow.defn
class SleepWorkflow:
    """Sleeps with asyncio, then with workflow.sleep, then greets."""

    @workflow.run
    async def run(self, name: str) -> str:
        await asyncio.sleep(1)
        await workflow.sleep(timedelta(milliseconds=500))
        return f"Hello, {name}!"


@workflow.defn
class CanceledTimerWorkflow:
    """Runs an activity under asyncio.wait_for: the activity wins, the timer is canceled."""

    @workflow.run
    async def run(self, name: str) -> str:
        return await asyncio.wait_for(
            workflow.execute_activity(greet, name, start_to_close_timeout=timedelta(seconds=10)),
            timeout=30,
        )


@workflow.defn
class ParallelTimersWorkflow:
    """Two timers due at the same instant and a later one, awaited together."""

    @workflow.run
    async def run(self, name: str) -> str:
        await asyncio.gather(workflow.sleep(1), asyncio.sleep(1), workflow.sleep(2))
        return f"Hello, {name}!"


@workflow.defn
class ManySleepsWorkflow:
    """`count` sleeps of different lengths (`step_s` apart) at once; returns their order."""

    @workflow.run
    async def run(self, count: int, step_s: float) -> list[int]:
        finished: list[int] = []

        async def nap(index: int) -> None:
            # Longest first, so the finishing order is the reverse of the starting order.
            await asyncio.sleep((count - index) * step_s)
            finished.append(index)

        await asyncio.gather(*(nap(i) for i in range(count)))
        return finished


@workflow.defn
class ConditionTimeoutWorkflow:
    """Waits for a condition that never holds, with a timeout."""

    @workflow.run
    async def run(self, timeout_s: float) -> str:
        try:
            await workflow.wait_condition(lambda: False, timeout=timeout_s)
        except TimeoutError:
            return "timed out"
        return "condition met"


@workflow.defn
class ConditionMetWorkflow:
    """Waits with a long timeout for a condition an activity's result makes true."""

    def __init__(self) -> None:
        self._greeting = ""

    @workflow.run
    async def run(self, name: str) -> str:
        async def fetch() -> None:
            self._greeting = await workflow.execute_activity(
                greet, name, start_to_close_timeout=timedelta(seconds=10)
            )

        task = asyncio.create_task(fetch())
        await workflow.wait_condition(lambda: bool(self._greeting), timeout=60)
        await task
        return self._greeting


@workflow.defn
class WaitForTimeoutWorkflow:
    """asyncio.wait_for around a slow activity: the timer wins.

    The activity is shielded, so the timeout cancels no activity (that is cancellation's
    business, not the timer's) and the workflow returns while it still runs.
    """

    @workflow.run
    async def run(self, name: str) -> str:
        activity = workflow.start_activity(
            slow_greet, name, start_to_close_timeout=timedelta(seconds=10)
        )
        try:
            return await asyncio.wait_for(asyncio.shield(activity), timeout=0.5)
        except TimeoutError:
            return "timed out"


@workflow.defn
class SleepForWorkflow:
    """workflow.sleep(seconds) for any given seconds (zero and negative included)."""

    @workflow.run
    async def run(self, seconds: float) -> str:
        await workflow.sleep(seconds)
        return "slept"


TIMER_WORKFLOWS = [
    SleepWorkflow,
    CanceledTimerWorkflow,
    ParallelTimersWorkflow,
    ManySleepsWorkflow,
    ConditionTimeoutWorkflow,
    ConditionMetWorkflow,
    WaitForTimeoutWorkflow,
    SleepForWorkflow,
]
