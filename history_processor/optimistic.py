"""Optimistic workflow-task start: matching answers the poll without a round trip to history.

Temporal records a workflow task's start in history before the poller gets it (matching ->
history -> matching). While a scheduled task waits, everything its poll response holds is
known, except who polls and when. So after the handler has decided, the
history puts a prepared response (a template) into the task record (`prepare`); matching fills
in the poller's identity, the request id and the time (`schemas.prepared.finish`), hands it
out, and tells history in the inbox (acknowledged by Kafka before the poll is answered, so it
precedes the worker's completion in the partition). History then writes the same
WorkflowTaskStarted event, or, when the run moved on in between, writes nothing and sends the
task again (without a template); the worker's completion of the stale task gets NOT_FOUND,
exactly as for any stale task.

A task waiting for a poller does not go stale when events come in meanwhile (a signal sent
right after the start, an activity or a timer finishing while the workers are busy): the
decision that writes them sends the task again with a template that shows them (a revision,
`MAX_EVENTS_AFTER_SCHEDULED` at most, then one without a template), and matching puts its
payload into the copy it still holds (`matching_processor.revisions`). A template handed out
just before such events arrive is still stale (the race of a signal sent right after the start
with the first poll). Temporal's worker gets such
events in the task's history the same way, from RecordWorkflowTaskStarted.
"""

from __future__ import annotations

from collections.abc import Mapping

from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.update.v1 import Request as UpdateRequest

from history_processor.builder import DecisionBuilder
from history_processor.model import Decision, EventReader
from history_processor.outbox import workflow_task_record
from history_processor.state import ExecutionState, TaskQueueKind, WorkflowTaskInfo
from history_processor.wf_updates.protocol import request_message
from history_processor.workflow_tasks import (
    HISTORY_PAGE_SIZE,
    poll_response,
    start_workflow_task,
    transient_events,
)
from schemas.outbox import Destination, OutboxRecord

#: Larger responses go the classic way; the template travels inside a Kafka record.
MAX_TEMPLATE_BYTES = 256 * 1024

#: Events a waiting task's template may show after its scheduled event; each one written sends
#: the task again (a revision), so this bounds the revisions of one task.
MAX_EVENTS_AFTER_SCHEDULED = 16


def prepare(
    decision: Decision,
    read_events: EventReader,
    now_ms: int,
    updates: Mapping[str, UpdateRequest] | None = None,
    admits_update: bool = False,
    before: ExecutionState | None = None,
) -> None:
    """Puts the template into the decision's record of the run's pending workflow task.

    Qualifies: an attempt-1, not yet started task whose scheduled event is followed by at most
    `MAX_EVENTS_AFTER_SCHEDULED` events once the decision is applied, or the speculative task
    (written nowhere yet, its scheduled event id is the run's next one) of a decision that
    admits an update, and whose response fits one page and `MAX_TEMPLATE_BYTES`. Other task
    records keep an empty payload (the classic start).

    A decision that writes events while the task waits (`before` already had it pending and
    may have sent it with a template) adds a record of the task: its revision, with a template
    that shows them, or with none once the task no longer qualifies.

    Args:
        decision: A handler's decision; its task record's payload is filled in place.
        read_events: Reader of the run's committed events.
        now_ms: The decision's clock reading.
        updates: The run's admitted workflow updates once the decision is applied. A
            speculative task's template carries them (as the requests in ``messages``, which
            the start must find unchanged, see `handlers.record_workflow_task_started`), and
            so does a normal task scheduled by the decision that admits an update (the first
            task of an update-with-start); other normal tasks get none while any are admitted.
        admits_update: The decision admits a new update. Only then is every update in
            `updates` still waiting for a worker; a decision that settles some (a completion)
            leaves its speculative task to the classic start.
        before: The run as the decision found it (None: a new workflow).
    """
    state = decision.state
    if state is None:
        return
    task = state.workflow_task
    if task is None or (not task.transient and not decision.events):
        # A normal task's template comes with the events it shows (its scheduled event, or
        # events written while it waits): a task merely sent again (history refusing a stale
        # template, a sticky worker gone) goes the classic way, so that no second template
        # of it is ever handed out beside one history accepted.
        return
    record = next(
        (
            r
            for r in decision.tasks
            if r["task_kind"] == "workflow"
            and r["run_id"] == state.run_id
            and r["scheduled_event_id"] == task.scheduled_event_id
        ),
        None,
    )
    if record is None:
        if not _revises(decision, before):
            return
        record = workflow_task_record(state)
        decision.outbox.append(OutboxRecord(Destination.TASKS, record))
    if _qualifies(state, task, bool(updates), admits_update):
        carried = updates if task.transient or admits_update else None
        record["payload"] = template(state, decision.events, read_events, now_ms, carried)


def _revises(decision: Decision, before: ExecutionState | None) -> bool:
    """Whether the decision writes events while the run's task waits with a template that
    does not show them (its earlier record may carry one: it qualified before)."""
    state = decision.state
    if state is None or before is None or not decision.events or decision.closed_runs:
        return False
    task, waiting = state.workflow_task, before.workflow_task
    return (
        task is not None
        and waiting is not None
        and before.run_id == state.run_id
        and waiting.scheduled_event_id == task.scheduled_event_id
        and waiting.attempt == task.attempt == 1
        and not task.is_started
        and not task.transient
        and before.next_event_id - 1 - task.scheduled_event_id <= MAX_EVENTS_AFTER_SCHEDULED
    )


def _qualifies(
    state: ExecutionState, task: WorkflowTaskInfo, has_updates: bool, admits_update: bool
) -> bool:
    if task.attempt != 1 or task.is_started:
        return False
    if task.transient:  # speculative: what it shows is the committed history plus itself
        return admits_update and task.scheduled_event_id == state.next_event_id
    # A normal task carries updates only when the decision admitting them scheduled it (the
    # first task of an update-with-start): all of them still wait for a worker then.
    shown_after = state.next_event_id - 1 - task.scheduled_event_id
    return (admits_update or not has_updates) and shown_after <= MAX_EVENTS_AFTER_SCHEDULED


def template(
    state: ExecutionState,
    new_events: list[HistoryEvent],
    read_events: EventReader,
    now_ms: int,
    updates: Mapping[str, UpdateRequest] | None = None,
) -> bytes:
    """The prepared poll response of the run's pending task, or b"" if it is too large.

    The response is the one RecordWorkflowTaskStarted would give: the history from event 1 on
    the normal queue, from the last completed task's started event on the sticky queue (the
    worker has the rest).

    Args:
        state: The run with the task pending as its last event.
        new_events: Events of the decision that are not committed yet (the run's newest).
        read_events: Reader of the committed events.
        now_ms: Stands in for the start time until matching sets the real one.
        updates: The update requests a speculative task carries in ``messages``.
    """
    task = state.workflow_task
    assert task is not None
    sticky = task.task_queue_kind is TaskQueueKind.STICKY
    first = state.last_completed_wft_started_event_id + 1 if sticky else 1
    if state.next_event_id - first >= HISTORY_PAGE_SIZE:
        return b""
    new_from = new_events[0].event_id if new_events else state.next_event_id
    committed = list(read_events(first, new_from)) if first < new_from else []
    history = committed + [e for e in new_events if e.event_id >= first]
    speculative = DecisionBuilder(state, now_ms)
    start_workflow_task(speculative, request_id="", identity="", stamp=None)
    # A transient task's scheduled and started events are shown, never written (its own
    # `speculative.events` is empty then).
    shown = speculative.events or transient_events(speculative.run, identity="")
    response = poll_response(speculative.run, history + shown, b"")
    started = speculative.run.workflow_task
    assert started is not None
    for update_id, request in (updates or {}).items():
        response.messages.append(request_message(update_id, request, started.started_event_id))
    prepared = response.SerializeToString()
    return prepared if len(prepared) <= MAX_TEMPLATE_BYTES else b""
