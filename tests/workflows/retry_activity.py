"""A workflow whose activity fails twice and succeeds on its third attempt."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from tests.workflows.activities import flaky_greet


@workflow.defn
class RetryActivityWorkflow:
    """Greets through a flaky activity retried with a short backoff."""

    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            flaky_greet,
            name,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )
