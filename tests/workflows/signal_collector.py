"""A workflow that waits for a number of signals and returns their values in arrival order."""

from temporalio import workflow


@workflow.defn
class SignalCollectorWorkflow:
    """Collects the values of its `add` signals until it has `count` of them."""

    def __init__(self) -> None:
        self.values: list[str] = []

    @workflow.run
    async def run(self, count: int) -> list[str]:
        await workflow.wait_condition(lambda: len(self.values) >= count)
        return self.values

    @workflow.signal
    def add(self, value: str) -> None:
        """Records one value."""
        self.values.append(value)
