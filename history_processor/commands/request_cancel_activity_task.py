"""RequestCancelActivityTask: ActivityTaskCancelRequested, and ActivityTaskCanceled if not started.

Temporal's handleCommandRequestCancelActivity + AddActivityTaskCancelRequestedEvent:

- An activity no worker runs (not yet handed out, or waiting out a retry backoff) is canceled
  at once: ActivityTaskCanceled with the details "ACTIVITY_ID_NOT_STARTED", buffered like
  every ActivityTaskCanceled in Temporal (written after the completion's other events, by the
  new workflow task the completion schedules so the workflow sees it; dropped if the same
  completion closes the run).
- A running activity only gets the request: its heartbeats answer `cancel_requested`, and the
  worker ends it with RespondActivityTaskCanceled (or completes or fails it anyway).
- An activity whose close event waits in the buffer keeps the request on record, nothing more.
- An unknown scheduled event id, or a second request, fails the workflow task
  (BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES).

Matching records an attempt's start in history (RecordActivityTaskStarted) before the worker
gets it, as Temporal's matching does. A cancel that comes first finds the attempt "not
started" and cancels it at once; matching's start is then refused (NOT_FOUND) and no worker
ever gets the task.
"""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import (
    ActivityTaskCanceledEventAttributes,
    ActivityTaskCancelRequestedEventAttributes,
    HistoryEvent,
)

from history_processor import events as ev
from history_processor import updates as upd
from history_processor.builder import DecisionBuilder
from history_processor.commands.context import CommandContext, CommandFailure
from history_processor.fold_updates import ACTIVITY_CLOSED, activity_ref

_CAUSE = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES
# Temporal's activityCancellationMsgActivityNotStarted, as its Go data converter encodes it.
NOT_STARTED_DETAILS = Payloads(
    payloads=[Payload(metadata={"encoding": b"json/plain"}, data=b'"ACTIVITY_ID_NOT_STARTED"')]
)


def _has_buffered_close(b: DecisionBuilder, scheduled_event_id: int) -> bool:
    """Temporal's HasActivityFinishEvent: the activity's close event is in the buffer."""
    for raw in b.run.buffered_events:
        event = HistoryEvent.FromString(raw)
        if event.event_type in ACTIVITY_CLOSED and activity_ref(event) == scheduled_event_id:
            return True
    return False


def _identity(ctx: CommandContext) -> str:
    """The identity of the worker completing the workflow task (from its completed event)."""
    for event in ctx.b.events:
        if event.event_id == ctx.completed_id:
            return event.workflow_task_completed_event_attributes.identity
    return ""


def handle(ctx: CommandContext, command: WorkflowCommand) -> None:
    """Requests the cancellation; cancels at once an activity no worker runs."""
    b = ctx.b
    scheduled_event_id = command.request_cancel_activity_task_command_attributes.scheduled_event_id
    if scheduled_event_id <= 0:
        raise CommandFailure(
            _CAUSE, "ScheduledEventId is not set on RequestCancelActivityTaskCommand."
        )
    info = b.run.activities.get(scheduled_event_id)
    if (info is None and not _has_buffered_close(b, scheduled_event_id)) or (
        info is not None and info.cancel_requested
    ):
        raise CommandFailure(
            _CAUSE,
            "invalid history builder state for action: add-activitytask-cancel-requested-event, "
            f"ScheduledEventID: {scheduled_event_id}",
        )
    requested = b.add_event(
        EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
        ActivityTaskCancelRequestedEventAttributes(
            scheduled_event_id=scheduled_event_id, workflow_task_completed_event_id=ctx.completed_id
        ),
    )
    if info is None or info.is_started:
        return
    canceled = ev.new_event(
        EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
        b.now_ms,
        ActivityTaskCanceledEventAttributes(
            details=NOT_STARTED_DETAILS,
            latest_cancel_requested_event_id=requested.event_id,
            scheduled_event_id=scheduled_event_id,
            identity=_identity(ctx),
        ),
    )
    # Temporal's history builder always buffers ActivityTaskCanceled: it follows the other
    # commands' events when the new workflow task flushes it, and a run that this same
    # completion closes never writes it.
    b.add_update(upd.BufferEvent(event=canceled.SerializeToString()))
    ctx.new_workflow_task = True
