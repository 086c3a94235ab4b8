"""Workflows that wait until they are cancelled: one lets the cancel end it, one cleans up."""

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.workflows.activities import greet


@workflow.defn
class WaitForCancelWorkflow:
    """Waits for nothing; a cancel request ends it as canceled (the CancelledError escapes)."""

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.wait_condition(lambda: False)
        return name


@workflow.defn
class CleanupOnCancelWorkflow:
    """Waits for nothing; on a cancel request it runs a cleanup activity and completes."""

    @workflow.run
    async def run(self, name: str) -> str:
        try:
            await workflow.wait_condition(lambda: False)
        except asyncio.CancelledError:
            cleaned = await workflow.execute_activity(
                greet, f"cleanup of {name}", start_to_close_timeout=timedelta(seconds=10)
            )
            return f"cancelled, then: {cleaned}"
        return name
