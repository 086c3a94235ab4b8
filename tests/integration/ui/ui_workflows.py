"""A workflow that stays open on one long activity, so the Web UI has a pending activity to show."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.workflows.activities import greet_after

#: Longer than any test runs: the activity is still running when the browser looks at it.
LONG_ACTIVITY_S = 600.0


@workflow.defn
class LongActivityWorkflow:
    """Greets through an activity that takes `LONG_ACTIVITY_S` seconds."""

    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            greet_after,
            args=[name, LONG_ACTIVITY_S],
            start_to_close_timeout=timedelta(seconds=LONG_ACTIVITY_S * 2),
        )
