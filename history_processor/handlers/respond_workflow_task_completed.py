"""RespondWorkflowTaskCompleted: the workflow's commands become history; maybe a new task."""

from __future__ import annotations

import dataclasses

from temporalio.api.common.v1 import WorkerVersionStamp
from temporalio.api.enums.v1 import CommandType, EventType, TimeoutType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import (
    WorkflowTaskCompletedEventAttributes,
    WorkflowTaskScheduledEventAttributes,
    WorkflowTaskStartedEventAttributes,
    WorkflowTaskTimedOutEventAttributes,
)
from temporalio.api.workflowservice.v1 import (
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskCompletedResponse,
)

from history_processor import events as ev
from history_processor import updates as upd
from history_processor.builder import DecisionBuilder
from history_processor.closing import terminate
from history_processor.commands import (
    CommandFailure,
    apply_commands,
    sequence_error,
    unsupported,
)
from history_processor.eager_activities import EagerDispatch
from history_processor.handling import (
    IDENTITY_HISTORY_SERVICE,
    Env,
    enum_message,
    not_found,
    reply_only,
    started_workflow_task,
)
from history_processor.model import Command, Decision
from history_processor.outbox import visibility_record
from history_processor.poll_response import started_task_response
from history_processor.state import ExecutionState, WorkflowTaskInfo
from history_processor.wf_updates import speculative
from history_processor.wf_updates.protocol import ProtocolContext, handle_message
from history_processor.workflow_tasks import (
    current_task_queue,
    fail_workflow_task,
    schedule_workflow_task,
    start_workflow_task,
    task_suggest_reasons,
)
from schemas.reply import Code, Reply

_NEW_TASK_REQUEST_ID = "request-from-RespondWorkflowTaskCompleted"
# Temporal's history.workflowTaskHeartbeatTimeout: how long a worker may keep a workflow task
# alive with heartbeats (completions that only ask for a new task, e.g. while a local activity
# runs) before the task times out.
WORKFLOW_TASK_HEARTBEAT_TIMEOUT_MS = 30 * 60 * 1000


def _stamp(req: RespondWorkflowTaskCompletedRequest) -> WorkerVersionStamp | None:
    return req.worker_version_stamp if req.HasField("worker_version_stamp") else None


def _write_transient_events(
    b: DecisionBuilder, task: WorkflowTaskInfo, req: RespondWorkflowTaskCompletedRequest
) -> None:
    """A transient task's scheduled and started events finally go into history."""
    stamp = _stamp(req)
    if stamp is not None and stamp.use_versioning:
        stamp = None  # Strom has no versioning-2 build id assignment; Temporal drops it too.
    b.add_event(
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        WorkflowTaskScheduledEventAttributes(
            task_queue=current_task_queue(b.run),
            start_to_close_timeout=ev.duration(task.start_to_close_timeout_ms),
            attempt=task.attempt,
        ),
        time_ms=task.scheduled_time_ms,
    )
    b.add_event(
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        WorkflowTaskStartedEventAttributes(
            scheduled_event_id=task.scheduled_event_id,
            identity=req.identity,
            request_id=task.request_id,
            suggest_continue_as_new=task.suggest_continue_as_new,
            suggest_continue_as_new_reasons=task_suggest_reasons(task),
            history_size_bytes=task.history_size_bytes,
            worker_version=stamp,
        ),
        time_ms=task.started_time_ms,
    )


def _completed_attributes(
    task: WorkflowTaskInfo, req: RespondWorkflowTaskCompletedRequest
) -> WorkflowTaskCompletedEventAttributes:
    attrs = WorkflowTaskCompletedEventAttributes(
        scheduled_event_id=task.scheduled_event_id,
        started_event_id=task.started_event_id,
        identity=req.identity,
        binary_checksum=req.binary_checksum,
        worker_deployment_name=req.deployment_options.deployment_name,
    )
    for name in ("sdk_metadata", "metering_metadata"):
        if req.HasField(name):
            getattr(attrs, name).CopyFrom(getattr(req, name))
    if req.HasField("worker_version_stamp"):
        attrs.worker_version.CopyFrom(req.worker_version_stamp)
    return attrs


def _fail(
    state: ExecutionState,
    req: RespondWorkflowTaskCompletedRequest,
    failure: CommandFailure,
    env: Env,
) -> Decision:
    """Fails the task instead (the partial completion is discarded, as Temporal reloads)."""
    name = WorkflowTaskFailedCause.Name(failure.cause)
    cause_text = enum_message(name, "WORKFLOW_TASK_FAILED_CAUSE_")
    message = f"{cause_text}: {failure.detail}" if failure.detail else cause_text
    task = state.workflow_task
    assert task is not None
    unhandled = (
        failure.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
    )
    if task.attempt > 1 and not unhandled:
        # Drop it: the task times out and is retried later (Temporal avoids a busy loop).
        return reply_only(Reply.error(Code.INVALID_ARGUMENT, message))
    b = DecisionBuilder(state, env.now_ms)
    fail_workflow_task(
        b, failure.cause, ev.server_failure(message), req.identity, req.binary_checksum
    )
    if failure.terminate_workflow:
        b.flush_buffer()
        terminate(b, message, None, IDENTITY_HISTORY_SERVICE)
    else:
        schedule_workflow_task(b)
    return b.finish(Reply.error(Code.INVALID_ARGUMENT, message))


def _heartbeat_timed_out(
    state: ExecutionState, req: RespondWorkflowTaskCompletedRequest, now_ms: int
) -> bool:
    """Whether this completion is a workflow task heartbeat past the heartbeat timeout.

    A heartbeat (a completion asking for a new task with no commands or messages) keeps a
    workflow task alive, e.g. while a local activity runs longer than the task timeout. Only
    heartbeats that make no progress count against the timeout, as in Temporal.
    """
    task = state.workflow_task
    assert task is not None
    heartbeat = req.force_create_new_workflow_task and not req.commands and not req.messages
    return heartbeat and now_ms > task.first_scheduled_time_ms + WORKFLOW_TASK_HEARTBEAT_TIMEOUT_MS


def _time_out_heartbeat(
    state: ExecutionState,
    task: WorkflowTaskInfo,
    req: RespondWorkflowTaskCompletedRequest,
    env: Env,
) -> Decision:
    """Times the heartbeating task out (AddWorkflowTaskTimedOutEvent, then ClearStickyTaskQueue);
    the next task goes through matching on the normal queue."""
    b = DecisionBuilder(state, env.now_ms)
    if task.transient:
        b.add_update(
            upd.WorkflowTaskFailed(
                scheduled_event_id=task.scheduled_event_id, next_attempt=task.attempt + 1
            )
        )
    else:
        b.add_event(
            EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
            WorkflowTaskTimedOutEventAttributes(
                scheduled_event_id=task.scheduled_event_id,
                started_event_id=task.started_event_id,
                timeout_type=TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
            ),
        )
    if b.run.sticky_task_queue:
        b.add_update(upd.Sticky())
    schedule_workflow_task(b)
    return b.finish(not_found("workflow task heartbeat timeout"))


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Completes the started workflow task with its commands."""
    req: RespondWorkflowTaskCompletedRequest = command.payload
    found = started_workflow_task(state, req.task_token)
    if isinstance(found, Reply):
        return reply_only(found)
    assert state is not None
    _, task = found
    commands = list(req.commands)
    bad_sequence = sequence_error(commands)
    if bad_sequence is not None:
        return reply_only(Reply.error(Code.INVALID_ARGUMENT, bad_sequence))
    other = unsupported(commands)
    if other is not None:
        name = enum_message(CommandType.Name(other.command_type), "COMMAND_TYPE_")
        return reply_only(
            Reply.error(Code.UNIMPLEMENTED, f"Strom does not support command {name} yet.")
        )
    if _heartbeat_timed_out(state, req, env.now_ms):
        return _time_out_heartbeat(state, task, req, env)
    protocol = ProtocolContext.of(req, env.updates)
    if speculative.may_drop(state, req):
        return _drop_speculative(state, req, protocol, env)
    b = DecisionBuilder(state, env.now_ms, env)
    had_buffered = state.has_buffered_events
    if task.transient:
        _write_transient_events(b, task, req)
    completed = b.add_event(
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, _completed_attributes(task, req)
    )
    sticky = req.sticky_attributes.worker_task_queue.name
    if sticky:
        timeout = req.sticky_attributes.schedule_to_start_timeout.ToMilliseconds()
        b.add_update(upd.Sticky(task_queue=sticky, schedule_to_start_timeout_ms=timeout))
    elif state.sticky_task_queue:
        b.add_update(upd.Sticky())
    eager = EagerDispatch(req)
    try:
        needs_task = apply_commands(
            b, commands, completed.event_id, had_buffered, eager, env.search_attributes, protocol
        )
        for msg in protocol.take_remaining():
            handle_message(b, protocol, msg)
    except CommandFailure as failure:
        return _fail(state, req, failure, env)
    # Temporal starts eager activities after all commands, so a run closed by them starts none.
    response = RespondWorkflowTaskCompletedResponse(activity_tasks=eager.start(b, env.new_id))
    if not b.run.is_running:
        b.set_visibility(visibility_record(b.run))
        return b.finish(Reply.of(response))
    if (b.run.memo, b.run.search_attributes) != (state.memo, state.search_attributes):
        # Upserts (and a new build id in BuildIds) change what List and Count see.
        b.set_visibility(visibility_record(b.run))
    # `and`: a CancelTimer may have dropped the only buffered event (a TimerFired never seen).
    if (
        (had_buffered and b.run.has_buffered_events)
        or req.force_create_new_workflow_task
        or needs_task
    ):
        inline = req.return_new_workflow_task
        schedule_workflow_task(b, emit_task=not inline)
        if req.force_create_new_workflow_task and not commands and not req.messages:
            # A heartbeat: the new task inherits when the chain of heartbeats began.
            b.add_update(upd.WorkflowTaskHeartbeat(task.first_scheduled_time_ms))
        if inline:
            # Temporal starts the new task at once and returns it (no trip through matching);
            # its history size is the one before this completion, as Temporal counts it.
            start_workflow_task(
                b,
                _NEW_TASK_REQUEST_ID,
                req.identity,
                _stamp(req),
                history_size_bytes=state.history_size_bytes,
            )
            unhandled = {k: v for k, v in env.updates.items() if k not in protocol.handled}
            new_env = dataclasses.replace(env, updates=unhandled)
            new_task = started_task_response(b, new_env, state.next_event_id, True, req.identity)
            response.workflow_task.CopyFrom(new_task)
    if any(update_id not in protocol.handled for update_id in env.updates):
        # Updates admitted while the task ran still wait for a worker (Temporal: a new
        # task, speculative if nothing else needs one).
        speculative.schedule(b)
    return b.finish(Reply.of(response))


def _drop_speculative(
    state: ExecutionState,
    req: RespondWorkflowTaskCompletedRequest,
    protocol: ProtocolContext,
    env: Env,
) -> Decision:
    """Completes a speculative task that only rejected updates: no event is written."""
    b = DecisionBuilder(state, env.now_ms)
    try:
        for msg in protocol.take_remaining():
            handle_message(b, protocol, msg)
    except CommandFailure as failure:
        return _fail(state, req, failure, env)
    speculative.drop(b)
    sticky = req.sticky_attributes.worker_task_queue.name
    if sticky:
        timeout = req.sticky_attributes.schedule_to_start_timeout.ToMilliseconds()
        b.add_update(upd.Sticky(task_queue=sticky, schedule_to_start_timeout_ms=timeout))
    elif state.sticky_task_queue:
        b.add_update(upd.Sticky())
    if any(update_id not in protocol.handled for update_id in env.updates):
        speculative.schedule(b)
    # The worker rolls its history back to the last task really completed (Temporal's
    # ResetHistoryEventId), dropping the speculative task's events it was shown.
    response = RespondWorkflowTaskCompletedResponse(
        reset_history_event_id=state.last_completed_wft_started_event_id
    )
    return b.finish(Reply.of(response))
