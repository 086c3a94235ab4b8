"""A workflow with one slow activity, terminated while the activity runs."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.workflows.activities import slow_greet


@workflow.defn
class SlowActivityWorkflow:
    """Greets through a slow activity."""

    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            slow_greet, name, start_to_close_timeout=timedelta(seconds=10)
        )
