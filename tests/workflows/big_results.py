"""Workflows moving payloads near Temporal's 2 MiB blob limit."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.workflows.activities import big_result


@workflow.defn
class TwoBigResultsWorkflow:
    """Runs two activities that each return `size` bytes at once; returns the total length.

    Both results complete while one workflow task is pending, so one decision writes both.
    """

    @workflow.run
    async def run(self, size: int) -> int:
        first = workflow.start_activity(
            big_result, size, start_to_close_timeout=timedelta(seconds=30)
        )
        second = workflow.start_activity(
            big_result, size, start_to_close_timeout=timedelta(seconds=30)
        )
        return len(await first) + len(await second)
