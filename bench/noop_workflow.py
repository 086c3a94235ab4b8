"""The benchmark's workflow: one no-op activity (kept apart so the sandbox imports little)."""

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def noop() -> None:
    """Does nothing."""


@workflow.defn
class NoopActivityWorkflow:
    """Runs one no-op activity."""

    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=30))
