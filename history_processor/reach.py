"""Messages one run sends another run's shard: the records of the routed outbox.

Every message goes out through `DecisionBuilder.send_command` in the transaction that commits
the events causing it, so it is sent once or not at all (docs/ARCHITECTURE.md, "A message to
another workflow"). Command ids are made from the sending run and its initiating event, never
random, so the same cause always makes the same record; receivers deduplicate by state.
"""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from history_processor.builder import DecisionBuilder
from history_processor.fold_relatives import CHILD_CLOSED
from history_processor.relatives import ChildInfo, ParentInfo
from history_processor.state import STARTED_BUFFERED, ExecutionState
from schemas import inbox
from schemas.reply import Reply

IDENTITY_HISTORY_SERVICE = "history-service"

DONE = Reply()
"""The reply of a message between shards: nobody waits for it (the record has no reply_to)."""


def send(
    b: DecisionBuilder, kind: str, namespace: str, workflow_id: str, key: str, payload: bytes
) -> None:
    """Sends one message to `workflow_id`'s shard (no reply: the answer, if any, is a message)."""
    record = inbox.command_record(f"{kind}/{key}", namespace, workflow_id, kind, payload, b.now_ms)
    b.send_command(record)


def report_to_parent(
    b: DecisionBuilder,
    parent: ParentInfo,
    kind: str,
    child: WorkflowExecution,
    failed_cause: int = 0,
    close_event: HistoryEvent | None = None,
) -> None:
    """Tells the parent what became of its child `child` (started, failed to start, closed)."""
    payload = inbox.ChildReport(
        parent_run_id=parent.run_id,
        initiated_event_id=parent.initiated_event_id,
        child_workflow_id=child.workflow_id,
        child_run_id=child.run_id,
        failed_cause=failed_cause,
        close_event=close_event.SerializeToString() if close_event is not None else b"",
    )
    key = f"{parent.run_id}/{parent.initiated_event_id}/{child.run_id}"
    send(b, kind, parent.namespace, parent.workflow_id, key, payload.to_bytes())


def answer_request(
    b: DecisionBuilder, request: inbox.ExternalRequest, kind: str, failed_cause: int
) -> None:
    """Answers a signal or cancel request of another run (nothing if it wants no answer)."""
    if not request.initiated_event_id:
        return
    payload = inbox.ExternalResult(
        source_run_id=request.source_run_id,
        initiated_event_id=request.initiated_event_id,
        failed_cause=failed_cause,
    )
    key = f"{request.source_run_id}/{request.initiated_event_id}"
    send(b, kind, request.source_namespace, request.source_workflow_id, key, payload.to_bytes())


def buffered_about(state: ExecutionState, event_types: tuple[int, ...], initiated_id: int) -> bool:
    """Whether an event of `event_types` about `initiated_id` waits in the buffer (not folded)."""
    for raw in state.buffered_events:
        event = HistoryEvent.FromString(raw)
        if event.event_type not in event_types:
            continue
        attrs = getattr(event, str(event.WhichOneof("attributes")))
        if int(getattr(attrs, "initiated_event_id", 0)) == initiated_id:
            return True
    return False


def root_of(state: ExecutionState) -> tuple[str, str]:
    """(workflow id, run id) of the root of `state`'s tree of workflows."""
    if state.parent is None or not state.root_workflow_id:
        return state.workflow_id, state.run_id
    return state.root_workflow_id, state.root_run_id


CHILD_OUTCOMES = (
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
    *CHILD_CLOSED,
)


def pending_child(state: ExecutionState | None, report: inbox.ChildReport) -> ChildInfo | None:
    """The child a report is about, if its parent run still runs and still waits for it."""
    if state is None or state.run_id != report.parent_run_id or not state.is_running:
        return None
    child = state.children.get(report.initiated_event_id)
    if child is None or child.workflow_id != report.child_workflow_id:
        return None
    return child


def unstarted_child(state: ExecutionState | None, report: inbox.ChildReport) -> ChildInfo | None:
    """The pending child a start report is about, unless its start or an outcome is already
    recorded or buffered (a report may come twice)."""
    child = pending_child(state, report)
    if child is None or state is None or child.started_event_id:
        return None
    if buffered_about(state, CHILD_OUTCOMES, child.initiated_event_id):
        return None
    return child


def child_started_event_id(state: ExecutionState, child: ChildInfo) -> int:
    """The child's ChildWorkflowExecutionStarted event id: 0 if none, `STARTED_BUFFERED` while
    it waits in the buffer (the flush wires the real id into the close event)."""
    if child.started_event_id:
        return child.started_event_id
    started = (EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,)
    if buffered_about(state, started, child.initiated_event_id):
        return STARTED_BUFFERED
    return 0
