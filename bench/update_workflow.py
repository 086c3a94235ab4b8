"""The workflow of the update benchmark: an idle workflow whose update returns at once."""

from temporalio import workflow


@workflow.defn
class CounterWorkflow:
    """Counts its `bump` updates until it is told to stop."""

    def __init__(self) -> None:
        self.count = 0
        self.stopped = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.stopped)
        return self.count

    @workflow.update
    def bump(self) -> int:
        """Counts one update; returns the count."""
        self.count += 1
        return self.count

    @workflow.signal
    def stop(self) -> None:
        """Lets the run return."""
        self.stopped = True
