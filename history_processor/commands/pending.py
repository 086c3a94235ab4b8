"""The check each command that starts pending work makes first: Temporal's pending caps."""

from __future__ import annotations

from temporalio.api.enums.v1 import WorkflowTaskFailedCause

from history_processor import pending_limits as pl
from history_processor.builder import DecisionBuilder
from history_processor.commands.context import CommandFailure

_Cause = WorkflowTaskFailedCause


def check(b: DecisionBuilder, kind: str) -> None:
    """Fails the workflow task when the run already has as many of `kind` pending as allowed.

    Args:
        b: The completion's decision; its run counts what this completion added so far, as
            Temporal's mutable state does while it handles the commands one by one.
        kind: One of `pending_limits.PENDING_ACTIVITIES`, `PENDING_CHILD_WORKFLOWS`,
            `PENDING_SIGNALS`, `PENDING_CANCEL_REQUESTS`.

    Raises:
        CommandFailure: With Temporal's PENDING_*_LIMIT_EXCEEDED cause and message.
    """
    limits = b.env.pending_limits if b.env is not None else pl.PendingLimits()
    run = b.run
    pending, limit, cause = {
        pl.PENDING_ACTIVITIES: (
            len(run.activities),
            limits.activities,
            _Cause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_ACTIVITIES_LIMIT_EXCEEDED,
        ),
        pl.PENDING_CHILD_WORKFLOWS: (
            len(run.children),
            limits.child_workflows,
            _Cause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_CHILD_WORKFLOWS_LIMIT_EXCEEDED,
        ),
        pl.PENDING_SIGNALS: (
            len(run.external_signals),
            limits.signals,
            _Cause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_SIGNALS_LIMIT_EXCEEDED,
        ),
        pl.PENDING_CANCEL_REQUESTS: (
            len(run.external_cancels),
            limits.cancel_requests,
            _Cause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_REQUEST_CANCEL_LIMIT_EXCEEDED,
        ),
    }[kind]
    too_many = pl.pending_limit_error(kind, pending, limit)
    if too_many is not None:
        raise CommandFailure(cause, too_many)
