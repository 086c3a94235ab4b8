"""A workflow that fails because its activity exhausts its retry attempts."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from tests.workflows.activities import always_fail


@workflow.defn
class RetriesExhaustedWorkflow:
    """Runs an always-failing activity three times; the ActivityError fails the workflow."""

    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            always_fail,
            name,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=100), maximum_attempts=3
            ),
        )
