"""Workflows for the replay unit tests: OneActivityWorkflow changed, and a dynamic workflow."""

from collections.abc import Sequence
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from tests.workflows.activities import greet


@workflow.defn(name="OneActivityWorkflow")
class ChangedOneActivityWorkflow:
    """OneActivityWorkflow as someone changed it: a timer now comes before the activity."""

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.sleep(timedelta(seconds=1))
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn(dynamic=True)
class AnyWorkflow:
    """Takes any workflow type."""

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> None:
        return None
