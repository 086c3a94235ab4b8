"""A workflow that runs two rounds of two parallel counted activities."""

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.workflows.counted_activities import counted_greet


@workflow.defn
class CountedRoundsWorkflow:
    """Greets `name` four times, two at a time, and joins the greetings."""

    @workflow.run
    async def run(self, name: str) -> str:
        results: list[str] = []
        for round_ in range(2):
            results += await asyncio.gather(
                *(
                    workflow.execute_activity(
                        counted_greet,
                        f"{name}-{round_}{i}",
                        start_to_close_timeout=timedelta(seconds=5),
                    )
                    for i in range(2)
                )
            )
        return " ".join(results)
