"""A workflow that schedules many activities at once (for task-queue dispatch rates)."""

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.workflows.activities import greet


@workflow.defn
class ManyActivitiesWorkflow:
    """Greets ``count`` names concurrently; all activities are scheduled in one task."""

    @workflow.run
    async def run(self, count: int) -> int:
        results = await asyncio.gather(
            *(
                workflow.execute_activity(
                    greet, f"n-{i}", start_to_close_timeout=timedelta(seconds=30)
                )
                for i in range(count)
            )
        )
        return len(results)
