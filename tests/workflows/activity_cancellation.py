"""Workflows that cancel their activities, and one whose activity is completed from outside."""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from tests.workflows.cancellable import (
        complete_by_id_later,
        heartbeat_until_cancelled,
        quick,
        wait_until_started,
    )

_TIMEOUT = timedelta(seconds=30)


def _outcome(err: ActivityError) -> str:
    return f"{type(err.cause).__name__}"


@workflow.defn
class CancelActivityWorkflow:
    """Starts an activity, cancels it with `cancellation_type` once a second activity is done.

    With `running`, the first activity heartbeats on the worker and the second one returns
    when it runs; otherwise the first one waits on a queue no worker polls.
    """

    @workflow.run
    async def run(self, cancellation_type: str, running: bool) -> str:
        mode = workflow.ActivityCancellationType[cancellation_type]
        key = workflow.info().workflow_id
        if running:
            target = workflow.start_activity(
                heartbeat_until_cancelled,
                key,
                start_to_close_timeout=_TIMEOUT,
                heartbeat_timeout=timedelta(seconds=5),
                cancellation_type=mode,
            )
            await workflow.execute_activity(
                wait_until_started, key, start_to_close_timeout=_TIMEOUT
            )
        else:
            target = workflow.start_activity(
                quick,
                "never runs",
                task_queue=f"{workflow.info().task_queue}-nobody",
                start_to_close_timeout=_TIMEOUT,
                cancellation_type=mode,
            )
            await workflow.execute_activity(quick, "trigger", start_to_close_timeout=_TIMEOUT)
        target.cancel()
        try:
            return f"completed: {await target}"
        except ActivityError as err:
            return _outcome(err)


@workflow.defn
class AsyncCompletionWorkflow:
    """Runs an activity completed from outside; with `cancel`, asks to cancel it once it runs
    and waits for the outcome."""

    @workflow.run
    async def run(self, cancel: bool) -> str:
        key = workflow.info().workflow_id
        target = workflow.start_activity(
            complete_by_id_later,
            key,
            start_to_close_timeout=timedelta(seconds=60),
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        if cancel:
            await workflow.execute_activity(
                wait_until_started, key, start_to_close_timeout=_TIMEOUT
            )
            target.cancel()
        try:
            return f"completed: {await target}"
        except ActivityError as err:
            return _outcome(err)
