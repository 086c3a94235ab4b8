"""A workflow that reports the build id of the worker that ran its latest workflow task."""

from temporalio import workflow


@workflow.defn
class BuildIdWorkflow:
    """Waits for `advance` signals; `build_id` answers `workflow.info().get_current_build_id()`."""

    def __init__(self) -> None:
        self._steps = 0
        self._seen: list[str] = []

    @workflow.run
    async def run(self, steps: int) -> list[str]:
        """Returns the build id seen at the start and after each of `steps` signals."""
        self._seen.append(workflow.info().get_current_build_id())
        for step in range(1, steps + 1):
            await workflow.wait_condition(lambda step=step: self._steps >= step)  # type: ignore[misc]
            self._seen.append(workflow.info().get_current_build_id())
        return self._seen

    @workflow.query
    def build_id(self) -> str:
        """The current build id, as a replaying worker derives it from history."""
        return workflow.info().get_current_build_id()

    @workflow.signal
    def advance(self) -> None:
        """Lets the run take its next step."""
        self._steps += 1
