"""A workflow of slow activities in a row: it is in the middle of one for most of its life."""

import asyncio
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

STEP_S = 0.5


@activity.defn
async def slow_step(step: int) -> int:
    """Answers `step` after STEP_S."""
    await asyncio.sleep(STEP_S)
    return step


@workflow.defn
class SlowStepsWorkflow:
    """Runs `slow_step` `steps` times, one after the other, and lists the answers."""

    @workflow.run
    async def run(self, steps: int) -> list[int]:
        done = []
        for step in range(steps):
            done.append(
                await workflow.execute_activity(
                    slow_step,
                    step,
                    # Short, so that an attempt lost with the old active cluster runs again
                    # on the new one soon (the seed: in-flight activities may run twice).
                    start_to_close_timeout=timedelta(seconds=5),
                    retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=500)),
                )
            )
        return done
