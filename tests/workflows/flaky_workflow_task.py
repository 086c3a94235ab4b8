"""A workflow whose first workflow tasks fail (a bug that goes away), then runs one activity.

Its worker must pass `tests.workflows.counters` through the sandbox (see record_golden.py).
"""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.workflows import counters
    from tests.workflows.activities import greet

# Workflow task attempts that fail before the code works.
FAILING_TASKS = 2


@workflow.defn
class FlakyWorkflowTaskWorkflow:
    """Raises a plain exception (which fails the workflow task, not the workflow) twice."""

    @workflow.run
    async def run(self, name: str) -> str:
        # Only live runs fail; a replay must reproduce the history that finally succeeded.
        live = not workflow.unsafe.is_replaying()
        if live and counters.bump(workflow.info().workflow_id) <= FAILING_TASKS:
            raise RuntimeError("transient bug in workflow code")
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=10)
        )
