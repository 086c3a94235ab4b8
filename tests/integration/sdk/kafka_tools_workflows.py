"""The workflow `strom history` and `strom replay` are tested with, as it was deployed."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.workflows.activities import greet


@workflow.defn(name="KafkaToolsGreeting")
class Greeting:
    """Greets through one activity."""

    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=10)
        )
