"""RecordWorkflowTaskStarted (from matching): a poller takes a workflow task."""

from __future__ import annotations

from temporalio.api.enums.v1 import TaskQueueKind as TaskQueueKindProto

from history_processor import updates as upd
from history_processor.builder import DecisionBuilder
from history_processor.handling import (
    MSG_WORKFLOW_COMPLETED,
    MSG_WORKFLOW_TASK_NOT_FOUND,
    Env,
    not_found,
    reply_only,
    workflow_not_found,
)
from history_processor.model import Command, Decision
from history_processor.outbox import workflow_task_record
from history_processor.poll_response import started_task_response
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import start_workflow_task
from schemas.inbox import RecordWorkflowTaskStarted
from schemas.prepared import version_stamp
from schemas.reply import Code, Reply


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Writes WorkflowTaskStarted and answers with the poll response (history included).

    Errors tell matching to drop the task: NOT_FOUND (stale task), ALREADY_EXISTS (another
    poller started it), FAILED_PRECONDITION (sticky poller for a task moved to the normal queue).
    A retry with the same request id gets the same answer again.
    """
    msg: RecordWorkflowTaskStarted = command.payload
    if msg.started_time_ms:
        return _optimistic(state, msg, frozenset(env.updates))
    if state is None:
        return reply_only(workflow_not_found(command.workflow_id))
    if state.run_id != msg.run_id or not state.is_running:
        return reply_only(not_found(MSG_WORKFLOW_COMPLETED))
    task = state.workflow_task
    if (
        task is None
        or task.scheduled_event_id != msg.scheduled_event_id
        or task.attempt != msg.attempt
    ):
        return reply_only(not_found(MSG_WORKFLOW_TASK_NOT_FOUND))
    poll = msg.poll()
    poller_sticky = poll.task_queue.kind == TaskQueueKindProto.TASK_QUEUE_KIND_STICKY
    b = DecisionBuilder(state, env.now_ms)
    if task.is_started:
        if task.request_id != msg.request_id:
            return reply_only(Reply.error(Code.ALREADY_EXISTS, "Workflow task already started."))
        response = started_task_response(
            b, env, state.next_event_id, bool(state.sticky_task_queue), poll.identity
        )
        return reply_only(Reply.of(response))
    if state.sticky_task_queue and poll.task_queue.name != state.sticky_task_queue:
        # The task reached a poller of another queue (e.g. the normal one): stop being sticky.
        b.add_update(upd.Sticky())
    elif not state.sticky_task_queue and poller_sticky:
        return reply_only(
            Reply.error(
                Code.FAILED_PRECONDITION,
                "rejecting sticky poller because workflow has moved to normal queue",
            )
        )
    start_workflow_task(b, msg.request_id, poll.identity, version_stamp(poll))
    response = started_task_response(
        b, env, state.next_event_id, bool(b.run.sticky_task_queue), poll.identity
    )
    return b.finish(Reply.of(response))


def _optimistic(
    state: ExecutionState | None,
    msg: RecordWorkflowTaskStarted,
    admitted: frozenset[str] = frozenset(),
) -> Decision:
    """Matching already handed out the task's template (see `optimistic`); make it true.

    The start is written only if the history is still what the template showed: the task is
    pending and no event was written since the template was made (its started event id is the
    run's next one; for a speculative task, whose scheduled event is written nowhere, the
    scheduled event id is). Otherwise the poller holds a stale task (its completion gets
    NOT_FOUND) and, if the task is still pending, it is dispatched again. The template must
    carry exactly the requests of the updates admitted now (`msg.update_ids`): one admitted
    since it was made, or one it carries that was forgotten, makes it stale too
    (`wf_updates.registry` keeps the stale template's completion away).
    """
    if state is None or state.run_id != msg.run_id or not state.is_running:
        return reply_only(_unanswered())
    task = state.workflow_task
    if task is None or task.scheduled_event_id != msg.scheduled_event_id:
        return reply_only(_unanswered())
    b = DecisionBuilder(state, msg.started_time_ms)
    speculative = task.transient and task.attempt == 1
    if speculative:
        shown_next = task.scheduled_event_id
    else:  # a sender that does not say: the template showed the scheduled event as the last
        shown_next = msg.started_event_id or task.scheduled_event_id + 1
    if (
        task.is_started
        or task.attempt != msg.attempt
        or (task.transient and not speculative)
        or state.next_event_id != shown_next
        or frozenset(msg.update_ids) != admitted
    ):
        if not task.is_started:
            b.add_task(workflow_task_record(state))
        return b.finish(_unanswered())
    poll = msg.poll()
    start_workflow_task(b, msg.request_id, poll.identity, version_stamp(poll))
    decision = b.finish(_unanswered())
    # The poller has its task already, and the completion it sends next commits the start.
    decision.deferrable = True
    return decision


def _unanswered() -> Reply:
    """The reply of a command nobody waits for."""
    return Reply()
