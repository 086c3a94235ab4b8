"""A workflow whose history grows past gRPC's 4 MiB message limit."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.workflows.activities import big_result


@workflow.defn
class SequentialBigResultsWorkflow:
    """Runs `count` activities one after the other, each returning `size` bytes; returns the
    total length. Every workflow task after the first sees all earlier results."""

    @workflow.run
    async def run(self, count: int, size: int) -> int:
        total = 0
        for _ in range(count):
            result = await workflow.execute_activity(
                big_result, size, start_to_close_timeout=timedelta(seconds=60)
            )
            total += len(result)
        return total
