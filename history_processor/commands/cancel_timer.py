"""CancelTimer: TimerCanceled for a pending timer, or for one whose TimerFired is still buffered."""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent, TimerCanceledEventAttributes

from history_processor import events as ev
from history_processor import updates as upd
from history_processor.commands.context import CommandContext, CommandFailure
from history_processor.commands.start_timer import id_error
from history_processor.fold_updates import buffered_timer_fired

_BAD_CANCEL = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES


def _buffered_fire_started_id(ctx: CommandContext, timer_id: str) -> int | None:
    """Started event id of the timer's buffered TimerFired, if the timer fired unseen."""
    for raw in ctx.b.run.buffered_events:
        if buffered_timer_fired(raw) == timer_id:
            return HistoryEvent.FromString(raw).timer_fired_event_attributes.started_event_id
    return None


def _identity(ctx: CommandContext) -> str:
    """The completing worker's identity, as its WorkflowTaskCompleted event records it."""
    for event in ctx.b.events:
        if event.event_id == ctx.completed_id:
            return event.workflow_task_completed_event_attributes.identity
    return ""


def handle(ctx: CommandContext, command: WorkflowCommand) -> None:
    """Cancels the timer (AddTimerCanceledEvent).

    A timer that fired while the task ran (its TimerFired buffered, so the workflow never saw
    it) is canceled too: the buffered fire is dropped, as Temporal's GetAndRemoveTimerFireEvent
    does, and if nothing else is buffered the workflow may close without another task.

    Raises:
        CommandFailure: BAD_CANCEL_TIMER_ATTRIBUTES for a missing, too long or unknown timer id.
    """
    if not command.HasField("cancel_timer_command_attributes"):
        raise CommandFailure(
            _BAD_CANCEL, "CancelTimerCommandAttributes is not set on CancelTimerCommand."
        )
    timer_id = command.cancel_timer_command_attributes.timer_id
    bad_id = id_error(timer_id, "CancelTimerCommand")
    if bad_id is not None:
        raise CommandFailure(_BAD_CANCEL, bad_id)
    b = ctx.b
    timer = b.run.timers.get(timer_id)
    if timer is not None:
        started_event_id = timer.started_event_id
    else:
        fired = _buffered_fire_started_id(ctx, timer_id)
        if fired is None:
            raise CommandFailure(
                _BAD_CANCEL,
                "invalid history builder state for action: add-timer-canceled-event, "
                f"TimerID: {timer_id}",
            )
        started_event_id = fired
        b.add_update(upd.BufferedTimerFiredRemoved(timer_id=timer_id))
        ctx.had_buffered = ctx.had_buffered and b.run.has_buffered_events
    event = ev.new_event(
        EventType.EVENT_TYPE_TIMER_CANCELED,
        b.now_ms,
        TimerCanceledEventAttributes(
            timer_id=timer_id,
            started_event_id=started_event_id,
            workflow_task_completed_event_id=ctx.completed_id,
            identity=_identity(ctx),
        ),
    )
    if command.HasField("user_metadata"):
        event.user_metadata.CopyFrom(command.user_metadata)
    b.append(event)
