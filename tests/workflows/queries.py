"""A workflow that waits at a gate and answers queries about how far it got."""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from tests.workflows import gates


@workflow.defn
class QueriedWorkflow:
    """Logs its progress; `progress` returns the log, `broken` always fails."""

    def __init__(self) -> None:
        self.log: list[str] = []

    @workflow.run
    async def run(self, gate: str, hold_seconds: float) -> list[str]:
        self.log.append("started")
        await workflow.execute_activity(
            gates.wait_for_gate, gate, start_to_close_timeout=timedelta(seconds=60)
        )
        if hold_seconds and not workflow.unsafe.is_replaying():
            # Keeps the workflow task that saw the activity complete in flight for a while.
            with workflow.unsafe.sandbox_unrestricted():
                gates.hold(hold_seconds)
        self.log.append("gate opened")
        return self.log

    @workflow.query
    def progress(self) -> list[str]:
        """The log so far."""
        return list(self.log)

    @workflow.query
    def broken(self) -> str:
        """A query handler that fails."""
        raise ApplicationError("the query handler failed")
