"""The benchmark's second workflow: a timer and a signal (apart, so the sandbox imports little)."""

from datetime import timedelta

from temporalio import workflow

TIMER = timedelta(milliseconds=100)


@workflow.defn
class TimerSignalWorkflow:
    """Waits for a 100 ms durable timer, then for the signal `go` (which may come first)."""

    def __init__(self) -> None:
        self.signalled = False

    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(TIMER)
        await workflow.wait_condition(lambda: self.signalled)

    @workflow.signal
    def go(self) -> None:
        """Lets the run finish once its timer fired."""
        self.signalled = True
