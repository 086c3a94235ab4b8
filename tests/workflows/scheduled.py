"""Workflows that schedules start: one that answers at once, one that waits to be released."""

from temporalio import workflow
from temporalio.exceptions import ApplicationError


@workflow.defn
class ScheduledEcho:
    """Returns its input, or fails when told to (for pause-on-failure)."""

    @workflow.run
    async def run(self, text: str) -> str:
        if text == "fail":
            raise ApplicationError("asked to fail", non_retryable=True)
        return f"echo {text}"


@workflow.defn
class ScheduledWaiter:
    """Runs until its ``release`` signal, so that the next action overlaps it."""

    def __init__(self) -> None:
        self.released = False

    @workflow.run
    async def run(self, text: str) -> str:
        await workflow.wait_condition(lambda: self.released)
        return text

    @workflow.signal
    def release(self) -> None:
        """Lets the run finish."""
        self.released = True
