"""The timer benchmark's workflow (kept apart so the sandbox imports little)."""

import asyncio

from temporalio import workflow


@workflow.defn
class FireAtWorkflow:
    """Starts one timer per wall-clock target at once and waits for all of them."""

    @workflow.run
    async def run(self, targets_epoch_s: list[float]) -> None:
        now = workflow.now().timestamp()
        # Durations from workflow time, so every timer aims at its shared wall-clock target.
        await asyncio.gather(*(asyncio.sleep(max(0.001, t - now)) for t in targets_epoch_s))
