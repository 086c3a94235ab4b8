"""User timers: StartTimer / CancelTimer commands, TimerFired from the deadline, buffering."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import CommandType, WorkflowTaskFailedCause
from temporalio.api.sdk.v1 import UserMetadata
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedResponse,
)

from history_processor.commands.start_timer import MAX_DURATION_SECONDS
from history_processor.deadlines import Deadline, DeadlineKind, deadlines
from history_processor.model import Decision
from history_processor.updates import UpdateKind
from schemas.reply import Code
from tests.unit.history.harness import (
    Glue,
    complete_workflow,
    first_task,
    ok_payload,
    schedule_activity,
    sticky,
    types,
)

_Cause = WorkflowTaskFailedCause
USER_TIMER = DeadlineKind.USER_TIMER.value


def start_timer(timer_id: str, ms: int | None = 1000, **kw: Any) -> WorkflowCommand:
    """A StartTimer command as the SDK sends it (`ms` None: no StartToFireTimeout)."""
    command = WorkflowCommand(command_type=CommandType.COMMAND_TYPE_START_TIMER, **kw)
    command.start_timer_command_attributes.timer_id = timer_id
    if ms is not None:
        command.start_timer_command_attributes.start_to_fire_timeout.FromMilliseconds(ms)
    return command


def cancel_timer(timer_id: str) -> WorkflowCommand:
    """A CancelTimer command."""
    command = WorkflowCommand(command_type=CommandType.COMMAND_TYPE_CANCEL_TIMER)
    command.cancel_timer_command_attributes.timer_id = timer_id
    return command


def timer_deadline(glue: Glue, timer_id: str) -> Deadline:
    found = [d for d in deadlines(glue.state) if d.kind == USER_TIMER and d.ref == timer_id]
    assert len(found) == 1, deadlines(glue.state)
    return found[0]


def fire_timer(glue: Glue, timer_id: str) -> Decision:
    """The processor's timer scan reaching the timer's deadline."""
    deadline = timer_deadline(glue, timer_id)
    glue.now_ms = max(glue.now_ms, deadline.fire_at_ms)
    return glue.submit("TimerFired", deadline, advance_ms=0)


def with_timers(glue: Glue, *commands: WorkflowCommand) -> Decision:
    """Runs the first workflow task with `commands`; returns its completion."""
    poll = first_task(glue)
    decision = glue.complete_workflow_task(poll, *commands, sticky_attributes=sticky())
    assert decision.reply is not None and decision.reply.ok, decision.reply
    return decision


def next_poll(glue: Glue, request_id: str = "poll-2") -> PollWorkflowTaskQueueResponse:
    return ok_payload(glue.poll_workflow_task(request_id=request_id), PollWorkflowTaskQueueResponse)


def failed_task(decision: Decision) -> tuple[int, str]:
    """Cause and failure message of the decision's WorkflowTaskFailed (its reply agrees)."""
    # A failure on a sticky queue is retried at once on the normal queue (a scheduled event).
    assert types(decision)[0] == "WORKFLOW_TASK_FAILED"
    failed = decision.events[0].workflow_task_failed_event_attributes
    reply = decision.reply
    assert reply is not None and reply.status_code == Code.INVALID_ARGUMENT
    assert failed.failure.message == reply.message
    return failed.cause, failed.failure.message


def test_start_timer_writes_timer_started_and_a_deadline() -> None:
    glue = Glue()
    summary = UserMetadata(summary=Payload(data=b'"nap"'))
    decision = with_timers(glue, start_timer("1", 1500, user_metadata=summary))
    assert types(decision) == ["WORKFLOW_TASK_COMPLETED", "TIMER_STARTED"]
    started = decision.events[1]
    attrs = started.timer_started_event_attributes
    assert (attrs.timer_id, attrs.workflow_task_completed_event_id) == ("1", 4)
    assert attrs.start_to_fire_timeout.ToMilliseconds() == 1500
    assert started.user_metadata == summary
    assert glue.state is not None
    fire_at = started.event_time.ToMilliseconds() + 1500
    assert timer_deadline(glue, "1") == Deadline(fire_at, USER_TIMER, "1", glue.state.run_id)
    assert glue.state.timers["1"].started_event_id == 5
    assert glue.restore() == glue.state


def test_fired_timer_writes_timer_fired_and_schedules_a_workflow_task() -> None:
    glue = Glue()
    with_timers(glue, start_timer("1"))
    fired = fire_timer(glue, "1")
    assert types(fired) == ["TIMER_FIRED", "WORKFLOW_TASK_SCHEDULED"]
    attrs = fired.events[0].timer_fired_event_attributes
    assert (attrs.timer_id, attrs.started_event_id) == ("1", 5)
    assert fired.events[0].event_time.ToMilliseconds() == glue.now_ms
    assert [t["task_kind"] for t in fired.tasks] == ["workflow"]
    assert glue.state is not None and glue.state.timers == {}
    assert [d for d in deadlines(glue.state) if d.kind == USER_TIMER] == []
    assert glue.restore() == glue.state
    # The worker sees the fire and completes the workflow.
    done = glue.complete_workflow_task(next_poll(glue), complete_workflow())
    assert types(done)[-1] == "WORKFLOW_EXECUTION_COMPLETED"


def test_a_stale_timer_deadline_changes_nothing() -> None:
    glue = Glue()
    with_timers(glue, start_timer("1"))
    deadline = timer_deadline(glue, "1")
    fire_timer(glue, "1")
    again = glue.submit("TimerFired", deadline, advance_ms=0)
    assert again.events == [] and again.updates == [] and again.tasks == []


def test_timers_due_together_fire_in_one_decision_before_the_workflow_task() -> None:
    glue = Glue()
    with_timers(glue, start_timer("b", 2000), start_timer("a", 1000), start_timer("c", 2000))
    first = fire_timer(glue, "a")
    assert types(first) == ["TIMER_FIRED", "WORKFLOW_TASK_SCHEDULED"]
    glue.now_ms += 1000
    # Temporal's order for timers due at once: expiry, then started event id.
    both = fire_timer(glue, "c")
    assert types(both) == ["TIMER_FIRED", "TIMER_FIRED"]  # a workflow task is pending already
    ids = [e.timer_fired_event_attributes.timer_id for e in both.events]
    assert ids == ["b", "c"]
    assert glue.state is not None and glue.state.timers == {}
    assert glue.restore() == glue.state


def test_a_timer_firing_during_a_started_task_is_buffered_then_flushed() -> None:
    glue = Glue()
    with_timers(glue, start_timer("1", 1000), schedule_activity("a"))
    glue.start_activity(6)
    glue.complete_activity(6)
    poll = next_poll(glue)  # the task for the activity result is running
    fired = fire_timer(glue, "1")
    assert fired.events == [] and fired.tasks == []
    assert [kind for kind, _ in fired.updates] == [UpdateKind.BUFFER_EVENT.value]
    # Its effect on state is immediate: the timer is no longer pending and cannot fire again.
    assert glue.state is not None and glue.state.timers == {}
    assert [d for d in deadlines(glue.state) if d.kind == USER_TIMER] == []
    done = glue.complete_workflow_task(poll, sticky_attributes=sticky())
    assert types(done) == ["WORKFLOW_TASK_COMPLETED", "TIMER_FIRED", "WORKFLOW_TASK_SCHEDULED"]
    assert done.events[1].timer_fired_event_attributes.started_event_id == 5
    assert glue.restore() == glue.state


def test_closing_while_a_timer_fire_is_buffered_is_an_unhandled_command() -> None:
    glue = Glue()
    with_timers(glue, start_timer("1", 1000), schedule_activity("a"))
    glue.start_activity(6)
    glue.complete_activity(6)
    poll = next_poll(glue)
    fire_timer(glue, "1")
    decision = glue.complete_workflow_task(poll, complete_workflow())
    cause, _ = failed_task(decision)
    assert cause == _Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
    # The next task shows the workflow its timer fired.
    assert types(decision) == ["WORKFLOW_TASK_FAILED", "TIMER_FIRED", "WORKFLOW_TASK_SCHEDULED"]


def test_cancel_timer_writes_timer_canceled_and_drops_the_deadline() -> None:
    glue = Glue()
    with_timers(glue, start_timer("1", 60_000), schedule_activity("a"))
    deadline = timer_deadline(glue, "1")
    glue.start_activity(6)
    glue.complete_activity(6)
    poll = next_poll(glue)
    done = glue.complete_workflow_task(poll, cancel_timer("1"), sticky_attributes=sticky())
    assert types(done) == ["WORKFLOW_TASK_COMPLETED", "TIMER_CANCELED"]
    completed_id = done.events[0].event_id
    attrs = done.events[1].timer_canceled_event_attributes
    assert (attrs.timer_id, attrs.started_event_id) == ("1", 5)
    assert attrs.workflow_task_completed_event_id == completed_id
    assert attrs.identity == glue.identity
    assert glue.state is not None and glue.state.timers == {}
    assert deadline not in deadlines(glue.state)
    stale = glue.submit("TimerFired", deadline, advance_ms=60_000)
    assert stale.events == [] and stale.updates == []
    assert glue.restore() == glue.state


def test_cancel_of_a_fired_but_unseen_timer_drops_the_buffered_fire() -> None:
    # The workflow cancels a timer (e.g. wait_for's activity won) that fired while the task ran:
    # Temporal removes the buffered TimerFired and the workflow may close at once.
    glue = Glue()
    with_timers(glue, start_timer("1", 1000), schedule_activity("a"))
    glue.start_activity(6)
    glue.complete_activity(6)
    poll = next_poll(glue)
    fire_timer(glue, "1")
    done = glue.complete_workflow_task(poll, cancel_timer("1"), complete_workflow())
    assert types(done) == [
        "WORKFLOW_TASK_COMPLETED",
        "TIMER_CANCELED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    assert done.events[1].timer_canceled_event_attributes.started_event_id == 5
    assert UpdateKind.BUFFERED_TIMER_FIRED_REMOVED.value in [kind for kind, _ in done.updates]
    assert glue.state is not None and glue.state.buffered_events == []
    assert glue.restore() == glue.state


def test_cancel_of_a_fired_timer_keeps_other_buffered_events() -> None:
    glue = Glue()
    with_timers(glue, start_timer("1", 1000), schedule_activity("a"), schedule_activity("b"))
    glue.start_activity(6)
    glue.complete_activity(6)
    poll = next_poll(glue)
    fire_timer(glue, "1")
    glue.start_activity(7)
    glue.complete_activity(7)
    done = glue.complete_workflow_task(poll, cancel_timer("1"), sticky_attributes=sticky())
    # The activity's events are still unseen: they are flushed and a new task goes out.
    assert types(done) == [
        "WORKFLOW_TASK_COMPLETED",
        "TIMER_CANCELED",
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert glue.restore() == glue.state


def test_cancel_of_an_unknown_timer_fails_the_task() -> None:
    glue = Glue()
    poll = first_task(glue)
    cause, message = failed_task(glue.complete_workflow_task(poll, cancel_timer("nope")))
    assert cause == _Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES
    assert message == (
        "BadCancelTimerAttributes: invalid history builder state for action: "
        "add-timer-canceled-event, TimerID: nope"
    )


def test_cancel_of_a_timer_that_fired_and_was_seen_fails_the_task() -> None:
    glue = Glue()
    with_timers(glue, start_timer("1"))
    fire_timer(glue, "1")
    cause, _ = failed_task(glue.complete_workflow_task(next_poll(glue), cancel_timer("1")))
    assert cause == _Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES


def test_duplicate_timer_id_fails_the_task() -> None:
    glue = Glue()
    poll = first_task(glue)
    decision = glue.complete_workflow_task(poll, start_timer("1"), start_timer("1"))
    cause, message = failed_task(decision)
    assert cause == _Cause.WORKFLOW_TASK_FAILED_CAUSE_START_TIMER_DUPLICATE_ID
    assert message == (
        "StartTimerDuplicateId: invalid history builder state for action: "
        "add-timer-started-event, TimerID: 1"
    )
    assert glue.state is not None and glue.state.timers == {}  # the completion is discarded


def test_a_fired_timer_id_may_be_used_again() -> None:
    glue = Glue()
    with_timers(glue, start_timer("1"))
    fire_timer(glue, "1")
    again = glue.complete_workflow_task(next_poll(glue), start_timer("1", 5000))
    assert types(again) == ["WORKFLOW_TASK_COMPLETED", "TIMER_STARTED"]


def _negative(seconds: int, nanos: int) -> WorkflowCommand:
    command = start_timer("t", None)
    timeout = command.start_timer_command_attributes.start_to_fire_timeout
    timeout.seconds, timeout.nanos = seconds, nanos
    return command


@pytest.mark.parametrize(
    ("command", "detail"),
    [
        (start_timer(""), "TimerId is not set on StartTimerCommand."),
        (
            start_timer("x" * 1001),
            f"TimerId on StartTimerCommand exceeds length limit. TimerId={'x' * 1001} "
            "Length=1001 Limit=1000",
        ),
        (
            _negative(-1, 0),
            "An invalid StartToFireTimeout is set on StartTimerCommand: negative duration. "
            "TimerId=t",
        ),
        (
            _negative(0, -5),
            "An invalid StartToFireTimeout is set on StartTimerCommand: negative duration. "
            "TimerId=t",
        ),
        (
            _negative(1, -5),
            "An invalid StartToFireTimeout is set on StartTimerCommand: duration has seconds "
            "and nanos with different signs. TimerId=t",
        ),
        (
            WorkflowCommand(command_type=CommandType.COMMAND_TYPE_START_TIMER),
            "StartTimerCommandAttributes is not set on StartTimerCommand.",
        ),
    ],
    ids=["no-id", "long-id", "negative", "negative-nanos", "mixed-signs", "no-attributes"],
)
def test_bad_start_timer_attributes_fail_the_task(command: WorkflowCommand, detail: str) -> None:
    glue = Glue()
    poll = first_task(glue)
    cause, message = failed_task(glue.complete_workflow_task(poll, command))
    assert cause == _Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES
    assert message == f"BadStartTimerAttributes: {detail}"


@pytest.mark.parametrize(
    ("command", "detail"),
    [
        (cancel_timer(""), "TimerId is not set on CancelTimerCommand."),
        (
            WorkflowCommand(command_type=CommandType.COMMAND_TYPE_CANCEL_TIMER),
            "CancelTimerCommandAttributes is not set on CancelTimerCommand.",
        ),
    ],
    ids=["no-id", "no-attributes"],
)
def test_bad_cancel_timer_attributes_fail_the_task(command: WorkflowCommand, detail: str) -> None:
    glue = Glue()
    poll = first_task(glue)
    cause, message = failed_task(glue.complete_workflow_task(poll, command))
    assert cause == _Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES
    assert message == f"BadCancelTimerAttributes: {detail}"


@pytest.mark.parametrize("ms", [0, None])
def test_a_zero_duration_timer_is_due_at_once(ms: int | None) -> None:
    glue = Glue()
    decision = with_timers(glue, start_timer("0", ms))
    started = decision.events[1]
    assert started.timer_started_event_attributes.HasField("start_to_fire_timeout") == (
        ms is not None
    )
    assert timer_deadline(glue, "0").fire_at_ms == started.event_time.ToMilliseconds()
    assert types(fire_timer(glue, "0")) == ["TIMER_FIRED", "WORKFLOW_TASK_SCHEDULED"]


def test_a_timer_longer_than_a_hundred_years_is_capped() -> None:
    glue = Glue()
    command = start_timer("long", None)
    command.start_timer_command_attributes.start_to_fire_timeout.seconds = 500 * 365 * 86400
    decision = with_timers(glue, command)
    recorded = decision.events[1].timer_started_event_attributes.start_to_fire_timeout
    assert (recorded.seconds, recorded.nanos) == (MAX_DURATION_SECONDS, 0)
    started_ms = decision.events[1].event_time.ToMilliseconds()
    assert timer_deadline(glue, "long").fire_at_ms == started_ms + MAX_DURATION_SECONDS * 1000


def test_a_closed_run_has_no_timer_deadlines() -> None:
    glue = Glue()
    with_timers(glue, start_timer("1", 60_000), schedule_activity("a"))
    deadline = timer_deadline(glue, "1")
    glue.start_activity(6)
    glue.complete_activity(6)
    glue.complete_workflow_task(next_poll(glue), complete_workflow())
    assert glue.state is not None and not glue.state.is_running
    assert deadlines(glue.state) == []
    late = glue.submit("TimerFired", deadline, advance_ms=60_000)
    assert late.events == [] and late.updates == []


def test_return_new_workflow_task_carries_the_flushed_fire() -> None:
    glue = Glue()
    with_timers(glue, start_timer("1", 1000), schedule_activity("a"))
    glue.start_activity(6)
    glue.complete_activity(6)
    poll = next_poll(glue)
    fire_timer(glue, "1")
    done = glue.complete_workflow_task(
        poll, sticky_attributes=sticky(), return_new_workflow_task=True
    )
    new_task = ok_payload(done, RespondWorkflowTaskCompletedResponse).workflow_task
    assert "TIMER_FIRED" in types(list(new_task.history.events))
