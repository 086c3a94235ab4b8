"""Temporal's per-workflow limits: history length and size, pending activities.

Temporal checks a run's history after every change (workflow.Context's enforceHistorySizeCheck
and enforceHistoryCountCheck): past the error limit the change is discarded, the run is
terminated by the history service instead, and the caller gets INVALID_ARGUMENT with the
reason. Past the warning limit it only logs. The caps on pending activities, children,
signals and cancel requests are in `pending_limits`.
"""

from __future__ import annotations

import logging

from history_processor import settings
from history_processor.builder import DecisionBuilder
from history_processor.closing import terminate
from history_processor.handling import IDENTITY_HISTORY_SERVICE
from history_processor.model import Decision
from history_processor.state import ExecutionState
from schemas.reply import Code, Reply

log = logging.getLogger(__name__)

HISTORY_SIZE_EXCEEDED = "Workflow history size exceeds limit."
HISTORY_COUNT_EXCEEDED = "Workflow history count exceeds limit."


def enforce_history_limits(
    before: ExecutionState | None, decision: Decision, now_ms: int
) -> Decision:
    """The decision, or, when it takes a running run past a history limit, its termination.

    Args:
        before: The run as it was before the decision.
        decision: What a handler decided.
        now_ms: The decision's clock reading.
    """
    run = decision.state
    if run is None or before is None or run.run_id != before.run_id or not run.is_running:
        return decision
    count, size = run.next_event_id - 1, run.history_size_bytes
    limit = settings.current()
    reason = None
    if size > limit.history_size_limit_error:
        reason = HISTORY_SIZE_EXCEEDED
    elif count > limit.history_count_limit_error:
        reason = HISTORY_COUNT_EXCEEDED
    if reason is None:
        if size > limit.history_size_limit_warn or count > limit.history_count_limit_warn:
            log.warning(
                "history of %s/%s above the warning limit: %d events, %d bytes",
                run.namespace,
                run.workflow_id,
                count,
                size,
            )
        return decision
    log.warning("terminating %s/%s: %s", run.namespace, run.workflow_id, reason)
    b = DecisionBuilder(before, now_ms)
    terminate(b, reason, None, IDENTITY_HISTORY_SERVICE)
    return b.finish(Reply.error(Code.INVALID_ARGUMENT, reason))
