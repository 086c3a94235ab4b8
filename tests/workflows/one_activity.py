"""A workflow that runs one activity and returns its result."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.workflows.activities import greet


@workflow.defn
class OneActivityWorkflow:
    """Greets once through an activity."""

    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=10)
        )
