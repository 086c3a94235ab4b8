"""Workflows that make several runs: continue-as-new, a retried run, a cron run."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError


@workflow.defn
class ContinueAsNewWorkflow:
    """Continues as new `count` times, then returns how many runs it took."""

    @workflow.run
    async def run(self, count: int) -> str:
        if count > 0:
            workflow.continue_as_new(count - 1)
        return f"done after {workflow.info().run_id != workflow.info().first_execution_run_id}"


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


RUN_WORKFLOWS = [ContinueAsNewWorkflow, FailFirstAttemptWorkflow, CronRunWorkflow]
