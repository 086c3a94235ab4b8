"""The same workflow type changed incompatibly: it now sleeps before its activity."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.workflows.activities import greet


@workflow.defn(name="KafkaToolsGreeting")
class Greeting:
    """Waits a second, then greets: a timer where the old code scheduled an activity."""

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.sleep(timedelta(seconds=1))
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=10)
        )
