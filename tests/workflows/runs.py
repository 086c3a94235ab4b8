"""Workflows that make several runs: continue-as-new, a retried run, a cron run."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError


@workflow.defn
class ContinueAsNewWorkflow:
    """Continues as new `count` times, then returns how many runs it took."""

    def __init__(self) -> None:
        self._count = -1

    @workflow.run
    async def run(self, count: int) -> str:
        self._count = count
        if count > 0:
            workflow.continue_as_new(count - 1)
        return f"done after {workflow.info().run_id != workflow.info().first_execution_run_id}"

    @workflow.query
    def count(self) -> int:
        """The count this run was started with."""
        return self._count


@workflow.defn
class FailFirstAttemptWorkflow:
    """Fails its first attempt; a later attempt returns its attempt number."""

    @workflow.run
    async def run(self, name: str) -> str:
        attempt = workflow.info().attempt
        if attempt < 2:
            raise ApplicationError(f"attempt {attempt} of {name} fails")
        return f"{name} succeeded on attempt {attempt}"


@workflow.defn
class CronRunWorkflow:
    """Returns its input and the previous run's result (a cron chain's last_completion_result)."""

    @workflow.run
    async def run(self, name: str) -> str:
        previous = workflow.get_last_completion_result(str)
        return f"{name} after {previous}"


@workflow.defn
class SignalChainWorkflow:
    """Collects `total` values of its `add` signals over a chain of runs: each run waits for
    at least one new value, then continues as new with all values so far, or returns them."""

    def __init__(self) -> None:
        self.values: list[str] = []

    @workflow.run
    async def run(self, total: int, carried: list[str]) -> list[str]:
        await workflow.wait_condition(lambda: bool(self.values))
        values = carried + self.values
        if len(values) < total:
            workflow.continue_as_new(args=[total, values])
        return values

    @workflow.signal
    def add(self, value: str) -> None:
        """Records one value."""
        self.values.append(value)


RUN_WORKFLOWS = [ContinueAsNewWorkflow, FailFirstAttemptWorkflow, CronRunWorkflow]
