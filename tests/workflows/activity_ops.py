"""A workflow whose activity an operator pauses, resets or reconfigures from outside."""

import asyncio
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy


@activity.defn
async def heartbeat_until_told() -> str:
    """Heartbeats every 100 ms until a heartbeat response cancels it; a later attempt
    returns at once. It returns (instead of failing) when it was reset."""
    info = activity.info()
    if info.attempt > 1:
        return f"attempt {info.attempt}"
    try:
        while True:
            activity.heartbeat(info.attempt)
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        details = activity.cancellation_details()
        if details is not None and details.reset:
            return "reset seen"
        raise


@workflow.defn
class OperatedActivityWorkflow:
    """Runs `heartbeat_until_told` with activity id "operated" and returns its result."""

    @workflow.run
    async def run(self, maximum_attempts: int) -> str:
        return await workflow.execute_activity(
            heartbeat_until_told,
            activity_id="operated",
            start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(
                maximum_attempts=maximum_attempts, initial_interval=timedelta(milliseconds=100)
            ),
        )


@activity.defn
async def which_queue() -> str:
    """Returns the task queue this attempt was polled from."""
    return activity.info().task_queue


@workflow.defn
class QueuedActivityWorkflow:
    """Runs `which_queue` with activity id "operated" on the task queue `queue`."""

    @workflow.run
    async def run(self, queue: str) -> str:
        return await workflow.execute_activity(
            which_queue,
            activity_id="operated",
            task_queue=queue,
            start_to_close_timeout=timedelta(seconds=60),
        )
