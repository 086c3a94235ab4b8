"""A workflow that runs a synchronous (thread-pool) activity."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.workflows.activities import sync_greet


@workflow.defn
class SyncActivityWorkflow:
    """Greets through a `def` activity."""

    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            sync_greet, name, start_to_close_timeout=timedelta(seconds=10)
        )
