"""A workflow that runs three activities in parallel."""

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.workflows.activities import greet


@workflow.defn
class ParallelActivitiesWorkflow:
    """Greets three names concurrently and joins the results."""

    @workflow.run
    async def run(self, name: str) -> str:
        results = await asyncio.gather(
            *(
                workflow.execute_activity(
                    greet, f"{name}-{i}", start_to_close_timeout=timedelta(seconds=10)
                )
                for i in range(3)
            )
        )
        return " ".join(results)
