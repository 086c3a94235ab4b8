"""A workflow with an update handler and its validator, for the workflow-update tests."""

from temporalio import workflow
from temporalio.exceptions import ApplicationError

UNLUCKY = 13
"""A value the update handler fails on (the update is accepted, then fails)."""


@workflow.defn
class UpdaterWorkflow:
    """Holds a value that `set_value` updates change; returns it once `finish` is signaled."""

    def __init__(self) -> None:
        self.value = 0
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.value

    @workflow.update
    async def set_value(self, value: int) -> int:
        """Sets the value; returns the previous one."""
        if value == UNLUCKY:
            raise ApplicationError("unlucky value", type="Unlucky")
        previous, self.value = self.value, value
        return previous

    @set_value.validator
    def check_value(self, value: int) -> None:
        """Rejects negative values (the update leaves no trace in history)."""
        if value < 0:
            raise ValueError(f"negative value {value}")

    @workflow.update
    async def slow_set(self, value: int) -> int:
        """Sets the value after the workflow is signaled to finish (an update in flight)."""
        await workflow.wait_condition(lambda: self.done)
        self.value = value
        return value

    @workflow.signal
    def finish(self) -> None:
        """Lets the run return."""
        self.done = True
