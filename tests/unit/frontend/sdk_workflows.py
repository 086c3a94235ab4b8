"""A workflow and an activity for SDK workers in the frontend tests (the sandbox imports it)."""

from temporalio import activity, workflow


@activity.defn
async def noop_activity() -> None:
    """Does nothing."""


@workflow.defn
class NoopWorkflow:
    """Returns at once."""

    @workflow.run
    async def run(self) -> None:
        """Returns None."""
