"""Temporal's per-workflow caps on pending work, which an operator may change.

Temporal's dynamic config keys ``limit.numPendingActivities.error``,
``limit.numPendingChildExecutions.error``, ``limit.numPendingSignals.error`` and
``limit.numPendingCancelRequests.error`` (2,000 each by default). A workflow task whose command
would start one more while the run already has that many pending fails with the matching
WORKFLOW_TASK_FAILED_CAUSE_PENDING_*_LIMIT_EXCEEDED; the worker then retries the task.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PENDING_LIMIT = 2_000
"""Temporal's default of each of the four limits."""


@dataclass(frozen=True)
class PendingLimits:
    """How many of each kind may be pending in one run; 0 or less means no limit (Temporal's
    ``withinLimit``).

    Attributes:
        activities: Scheduled or started activities.
        child_workflows: Initiated or started child workflows.
        signals: Signals to external workflows not yet delivered or failed.
        cancel_requests: Cancel requests to external workflows not yet delivered or failed.
    """

    activities: int = DEFAULT_PENDING_LIMIT
    child_workflows: int = DEFAULT_PENDING_LIMIT
    signals: int = DEFAULT_PENDING_LIMIT
    cancel_requests: int = DEFAULT_PENDING_LIMIT


PENDING_ACTIVITIES = "pending activities"
PENDING_CHILD_WORKFLOWS = "pending child workflow executions"
PENDING_SIGNALS = "pending signals to external workflows"
PENDING_CANCEL_REQUESTS = "pending requests to cancel external workflows"


def pending_limit_error(what: str, pending: int, limit: int) -> str | None:
    """Temporal's checkCountConstraint message when `pending` reached `limit`, else None."""
    if limit <= 0 or pending < limit:
        return None
    return f"the number of {what}, {pending}, has reached the per-workflow limit of {limit}"
