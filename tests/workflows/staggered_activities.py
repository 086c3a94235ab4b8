"""A workflow that runs three activities in parallel that finish half a second apart."""

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.workflows.activities import greet_after

#: Far longer than any server takes to run the workflow task that one completion triggers, so
#: each completion has a workflow task of its own on every server (the history is the same).
STAGGER_S = 0.5


@workflow.defn
class StaggeredActivitiesWorkflow:
    """Greets three names concurrently, the answers coming STAGGER_S apart, and joins them."""

    @workflow.run
    async def run(self, name: str) -> str:
        results = await asyncio.gather(
            *(
                workflow.execute_activity(
                    greet_after,
                    args=[f"{name}-{i}", i * STAGGER_S],
                    start_to_close_timeout=timedelta(seconds=10),
                )
                for i in range(3)
            )
        )
        return " ".join(results)
