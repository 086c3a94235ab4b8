"""What a run's close sends to other workflows: the report to its parent and its parent close
policies (Temporal's close-execution transfer task, as messages in the closing transaction)."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, ParentClosePolicy
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import TerminateWorkflowExecutionRequest

from history_processor import fold, reach
from history_processor.builder import DecisionBuilder
from history_processor.model import Decision
from history_processor.relatives import ChildInfo
from history_processor.state import ExecutionState
from schemas import inbox

CLOSE_EVENTS = (
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
)
TERMINATE_REASON = "by parent close policy"


def _closed_run(before: ExecutionState, decision: Decision) -> tuple[ExecutionState, HistoryEvent]:
    """The run as its close event leaves it, and that event (the decision may go on with the
    next run of the chain after it)."""
    run = before.copy()
    for event in decision.events:
        run = fold.apply_event(run, event)
        if event.event_type in CLOSE_EVENTS:
            return run, event
    raise AssertionError("no close event")


def _apply_policy(b: DecisionBuilder, parent: ExecutionState, child: ChildInfo) -> None:
    """Terminates or asks to cancel a child whose parent closed (Temporal's
    applyParentClosePolicy: the child's chain is named by its first run id)."""
    key = f"{parent.run_id}/{child.initiated_event_id}"
    if child.parent_close_policy == ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE:
        request = TerminateWorkflowExecutionRequest(
            namespace=child.namespace,
            workflow_execution=WorkflowExecution(workflow_id=child.workflow_id),
            first_execution_run_id=child.run_id,
            reason=TERMINATE_REASON,
            identity=reach.IDENTITY_HISTORY_SERVICE,
        )
        reach.send(
            b,
            "TerminateWorkflowExecution",
            child.namespace,
            child.workflow_id,
            key,
            request.SerializeToString(),
        )
    elif child.parent_close_policy == ParentClosePolicy.PARENT_CLOSE_POLICY_REQUEST_CANCEL:
        cancel = inbox.ExternalRequest(
            source_namespace=parent.namespace,
            source_workflow_id=parent.workflow_id,
            source_run_id=parent.run_id,
            initiated_event_id=0,
            first_execution_run_id=child.run_id,
            child_workflow_only=True,
        )
        reach.send(
            b,
            inbox.CANCEL_EXTERNAL_WORKFLOW,
            child.namespace,
            child.workflow_id,
            key,
            cancel.to_bytes(),
        )


def notify_relatives(before: ExecutionState | None, decision: Decision) -> None:
    """Adds to `decision` the messages the close of `before`'s run sends, if it closes.

    Must be called with the state the decision was made from. A child reports its close to
    its parent unless another run of its chain follows (continue-as-new, retry, cron); every
    child still pending gets its parent close policy.
    """
    if before is None or not before.is_running:
        return
    if not any(event.event_type in CLOSE_EVENTS for event in decision.events):
        return
    run, close = _closed_run(before, decision)
    b = DecisionBuilder(None, run.close_time_ms)
    attrs = getattr(close, str(close.WhichOneof("attributes")))
    continued = bool(getattr(attrs, "new_execution_run_id", "")) or (
        close.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    )
    if run.parent is not None and not continued:
        reach.report_to_parent(
            b,
            run.parent,
            inbox.CHILD_WORKFLOW_CLOSED,
            WorkflowExecution(workflow_id=run.workflow_id, run_id=run.run_id),
            close_event=close,
        )
    for child in run.children.values():
        _apply_policy(b, run, child)
    decision.outbox.extend(b.finish(None).outbox)
