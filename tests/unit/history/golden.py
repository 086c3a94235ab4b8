"""Replays the commands the SDK sent to the real Temporal server (read back from a golden
history) through Strom's decider."""

from __future__ import annotations

from pathlib import Path

from google.protobuf import json_format
from temporalio.api.command.v1 import (
    CancelTimerCommandAttributes,
    CancelWorkflowExecutionCommandAttributes,
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    FailWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    StartTimerCommandAttributes,
)
from temporalio.api.common.v1 import WorkerVersionStamp, WorkflowExecution
from temporalio.api.enums.v1 import (
    CommandType,
    EventType,
    TaskQueueKind,
    WorkflowIdConflictPolicy,
)
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.api.taskqueue.v1 import StickyExecutionAttributes, TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueResponse,
    RequestCancelWorkflowExecutionRequest,
    RequestCancelWorkflowExecutionResponse,
    RespondActivityTaskCanceledRequest,
    RespondActivityTaskCanceledResponse,
    RespondActivityTaskCompletedResponse,
    RespondActivityTaskFailedResponse,
    RespondWorkflowTaskCompletedResponse,
    RespondWorkflowTaskFailedRequest,
    RespondWorkflowTaskFailedResponse,
    SignalWithStartWorkflowExecutionRequest,
    SignalWithStartWorkflowExecutionResponse,
    SignalWorkflowExecutionRequest,
    SignalWorkflowExecutionResponse,
    StartWorkflowExecutionResponse,
    TerminateWorkflowExecutionRequest,
    TerminateWorkflowExecutionResponse,
)

from history_processor.deadlines import DeadlineKind, deadlines
from tests.unit.history.golden_markers import (
    custom_attributes,
    forced_new_task,
    marker_command,
)
from tests.unit.history.harness import Glue, ok_payload, seconds

HISTORIES = Path(__file__).resolve().parents[2] / "golden" / "histories"
DEFAULT_STICKY_QUEUE = "worker-1-sticky"
USER_TIMER = DeadlineKind.USER_TIMER.value


def load(name: str) -> History:
    """A golden history by file stem."""
    return json_format.Parse((HISTORIES / f"{name}.json").read_text(), History())


def _sticky_queue(golden: History) -> str:
    for event in golden.events:
        queue = event.workflow_task_scheduled_event_attributes.task_queue
        if queue.kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY:
            return queue.name
    return DEFAULT_STICKY_QUEUE


def _commands(golden: History, completed_id: int) -> list[Command]:
    """The commands the worker sent with the workflow task completed as `completed_id`."""
    out: list[Command] = []
    for event in golden.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            a = event.activity_task_scheduled_event_attributes
            if a.workflow_task_completed_event_id != completed_id:
                continue
            attrs = ScheduleActivityTaskCommandAttributes(
                activity_id=a.activity_id,
                activity_type=a.activity_type,
                task_queue=a.task_queue,
                header=a.header,
                input=a.input,
                start_to_close_timeout=a.start_to_close_timeout,
                heartbeat_timeout=a.heartbeat_timeout,
                request_eager_execution=True,
                use_workflow_build_id=a.use_workflow_build_id,
                priority=a.priority,
            )
            # The SDK leaves unset what the server filled in (maximum interval, timeouts).
            policy = a.retry_policy
            attrs.retry_policy.initial_interval.CopyFrom(policy.initial_interval)
            attrs.retry_policy.backoff_coefficient = policy.backoff_coefficient
            attrs.retry_policy.maximum_attempts = policy.maximum_attempts
            out.append(
                Command(
                    command_type=CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
                    schedule_activity_task_command_attributes=attrs,
                )
            )
        elif event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            t = event.timer_started_event_attributes
            if t.workflow_task_completed_event_id == completed_id:
                out.append(
                    Command(
                        command_type=CommandType.COMMAND_TYPE_START_TIMER,
                        start_timer_command_attributes=StartTimerCommandAttributes(
                            timer_id=t.timer_id, start_to_fire_timeout=t.start_to_fire_timeout
                        ),
                    )
                )
        elif event.event_type == EventType.EVENT_TYPE_TIMER_CANCELED:
            c = event.timer_canceled_event_attributes
            if c.workflow_task_completed_event_id == completed_id:
                out.append(
                    Command(
                        command_type=CommandType.COMMAND_TYPE_CANCEL_TIMER,
                        cancel_timer_command_attributes=CancelTimerCommandAttributes(
                            timer_id=c.timer_id
                        ),
                    )
                )
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
            r = event.activity_task_cancel_requested_event_attributes
            if r.workflow_task_completed_event_id == completed_id:
                command = Command(
                    command_type=CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK
                )
                command.request_cancel_activity_task_command_attributes.scheduled_event_id = (
                    r.scheduled_event_id
                )
                out.append(command)
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            c = event.workflow_execution_completed_event_attributes
            if c.workflow_task_completed_event_id == completed_id:
                out.append(
                    Command(
                        command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
                        complete_workflow_execution_command_attributes=(
                            CompleteWorkflowExecutionCommandAttributes(result=c.result)
                        ),
                    )
                )
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            f = event.workflow_execution_failed_event_attributes
            if f.workflow_task_completed_event_id == completed_id:
                out.append(
                    Command(
                        command_type=CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
                        fail_workflow_execution_command_attributes=(
                            FailWorkflowExecutionCommandAttributes(failure=f.failure)
                        ),
                    )
                )
        elif (marker := marker_command(event, completed_id)) is not None:
            out.append(marker)
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
            x = event.workflow_execution_canceled_event_attributes
            if x.workflow_task_completed_event_id == completed_id:
                attrs = CancelWorkflowExecutionCommandAttributes()
                if x.HasField("details"):
                    attrs.details.CopyFrom(x.details)
                out.append(
                    Command(
                        command_type=CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
                        cancel_workflow_execution_command_attributes=attrs,
                    )
                )
    return out


def _started_by_signal(golden: History) -> bool:
    """True when signal-with-start began the run (its signal is event 2)."""
    return golden.events[1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED


def _signal_with_start(glue: Glue, golden: History, signal: HistoryEvent) -> None:
    """Sends the signal-with-start behind `signal`: it starts the run or signals it."""
    first = golden.events[0].workflow_execution_started_event_attributes
    attrs = signal.workflow_execution_signaled_event_attributes
    request = SignalWithStartWorkflowExecutionRequest(
        workflow_id=glue.workflow_id,
        workflow_type=first.workflow_type,
        task_queue=TaskQueue(name="golden", kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
        input=first.input,
        workflow_task_timeout=first.workflow_task_timeout,
        identity=attrs.identity,
        request_id=attrs.request_id,
        workflow_id_conflict_policy=(
            WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
        ),
        signal_name=attrs.signal_name,
        signal_input=attrs.input,
        priority=first.priority,
    )
    if attrs.HasField("header"):
        request.header.CopyFrom(attrs.header)
    ok_payload(
        glue.submit("SignalWithStartWorkflowExecution", request),
        SignalWithStartWorkflowExecutionResponse,
    )


def _signal(glue: Glue, golden: History, event: HistoryEvent) -> None:
    """Replays a WorkflowExecutionSignaled: signal-with-start again if it began the run."""
    if _started_by_signal(golden):
        _signal_with_start(glue, golden, event)
        return
    attrs = event.workflow_execution_signaled_event_attributes
    request = SignalWorkflowExecutionRequest(
        workflow_execution=WorkflowExecution(workflow_id=glue.workflow_id),
        signal_name=attrs.signal_name,
        input=attrs.input,
        identity=attrs.identity,
        request_id=attrs.request_id,
    )
    if attrs.HasField("header"):
        request.header.CopyFrom(attrs.header)
    ok_payload(glue.submit("SignalWorkflowExecution", request), SignalWorkflowExecutionResponse)


def _lose_attempts(glue: Glue, attempt: int) -> None:
    """Plays the transient attempts a golden history does not show: the SDK reports only the
    first failure of a workflow task, later attempts time out."""
    lost = 0
    while (task := glue.state.workflow_task if glue.state else None) and task.attempt < attempt:
        lost += 1
        glue.poll_workflow_task(request_id=f"lost-{lost}")
        glue.fire("workflow_task_start_to_close")


def _start_attempt(glue: Glue, scheduled_event_id: int) -> None:
    """Matching hands the attempt to the worker, unless it was started eagerly (first attempts
    of the golden runs: the SDK asks for eager execution and Temporal granted it)."""
    assert glue.state is not None
    if not glue.state.activities[scheduled_event_id].is_started:
        glue.start_activity(scheduled_event_id)


def _fire_timer(glue: Glue, timer_id: str) -> None:
    """The timer index reaching the user timer's deadline."""
    found = [d for d in deadlines(glue.state) if d.kind == USER_TIMER and d.ref == timer_id]
    assert found, f"timer {timer_id} is not pending"
    glue.now_ms = max(glue.now_ms, found[0].fire_at_ms)
    glue.submit("TimerFired", found[0], advance_ms=0)


def drive(golden: History) -> Glue:
    """Sends Strom the command sequence behind `golden`; returns the glue with Strom's run."""
    first = golden.events[0].workflow_execution_started_event_attributes
    task_started = next(
        e for e in golden.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
    )
    build_id = task_started.workflow_task_started_event_attributes.worker_version.build_id
    glue = Glue(workflow_id=first.workflow_id, identity=first.identity, build_id=build_id)
    glue.search_attributes = custom_attributes(golden)
    sticky = _sticky_queue(golden)
    poll: PollWorkflowTaskQueueResponse | None = None
    if _started_by_signal(golden):
        _signal_with_start(glue, golden, golden.events[1])
        rest = golden.events[2:]
    else:
        started = glue.start(
            workflow_type=first.workflow_type.name,
            input=first.input,
            identity=first.identity,
            priority=first.priority,
            workflow_task_timeout=first.workflow_task_timeout,
            request_eager_execution=first.eager_execution_accepted,
            **{
                name: getattr(first, name)
                for name in ("memo", "search_attributes")
                if first.HasField(name)
            },
        )
        if first.eager_execution_accepted:
            poll = ok_payload(started, StartWorkflowExecutionResponse).eager_workflow_task
        rest = golden.events[1:]
    for event in rest:
        poll = _step(glue, golden, event, sticky, poll)
    return glue


def _step(
    glue: Glue,
    golden: History,
    event: HistoryEvent,
    sticky: str,
    poll: PollWorkflowTaskQueueResponse | None,
) -> PollWorkflowTaskQueueResponse | None:
    kind = event.event_type
    if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        if poll is not None and poll.started_event_id == event.event_id:
            return poll  # started by the start request (eager) or by the completion (inline)
        request_id = event.workflow_task_started_event_attributes.request_id
        return ok_payload(
            glue.poll_workflow_task(request_id=request_id), PollWorkflowTaskQueueResponse
        )
    if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        assert poll is not None
        attrs = event.workflow_task_completed_event_attributes
        decision = glue.complete_workflow_task(
            poll,
            *_commands(golden, event.event_id),
            sticky_attributes=StickyExecutionAttributes(
                worker_task_queue=TaskQueue(
                    name=sticky, kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY, normal_name="golden"
                ),
                schedule_to_start_timeout=seconds(10),
            ),
            return_new_workflow_task=True,
            force_create_new_workflow_task=forced_new_task(golden, event),
            sdk_metadata=attrs.sdk_metadata,
            metering_metadata=attrs.metering_metadata,
            worker_version_stamp=WorkerVersionStamp(build_id=attrs.worker_version.build_id),
        )
        completed = ok_payload(decision, RespondWorkflowTaskCompletedResponse)
        return completed.workflow_task if completed.HasField("workflow_task") else None
    if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        _lose_attempts(glue, event.workflow_task_scheduled_event_attributes.attempt)
    elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
        assert poll is not None
        failed_task = event.workflow_task_failed_event_attributes
        request = RespondWorkflowTaskFailedRequest(
            task_token=poll.task_token,
            cause=failed_task.cause,
            failure=failed_task.failure,
            identity=failed_task.identity,
        )
        ok_payload(
            glue.submit("RespondWorkflowTaskFailed", request), RespondWorkflowTaskFailedResponse
        )
        return None
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
        terminated = event.workflow_execution_terminated_event_attributes
        terminate = TerminateWorkflowExecutionRequest(
            reason=terminated.reason, details=terminated.details, identity=terminated.identity
        )
        ok_payload(
            glue.submit("TerminateWorkflowExecution", terminate), TerminateWorkflowExecutionResponse
        )
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        _signal(glue, golden, event)
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
        requested = event.workflow_execution_cancel_requested_event_attributes
        cancel = RequestCancelWorkflowExecutionRequest(
            workflow_execution=WorkflowExecution(workflow_id=glue.workflow_id),
            reason=requested.cause,
            identity=requested.identity,
        )
        ok_payload(
            glue.submit("RequestCancelWorkflowExecution", cancel),
            RequestCancelWorkflowExecutionResponse,
        )
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        started = event.activity_task_started_event_attributes
        for _ in range(started.attempt - 1):
            _start_attempt(glue, started.scheduled_event_id)
            glue.fail_activity(started.scheduled_event_id, started.last_failure)
            glue.fire("activity_retry")
        _start_attempt(glue, started.scheduled_event_id)
    elif kind == EventType.EVENT_TYPE_TIMER_FIRED and len(glue.events) < event.event_id:
        # Timers due together fire in one decision: the first one's step wrote them all.
        _fire_timer(glue, event.timer_fired_event_attributes.timer_id)
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        completed = event.activity_task_completed_event_attributes
        decision = glue.complete_activity(completed.scheduled_event_id, completed.result)
        ok_payload(decision, RespondActivityTaskCompletedResponse)
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
        canceled = event.activity_task_canceled_event_attributes
        if canceled.started_event_id:  # otherwise the cancel command itself wrote it
            request = RespondActivityTaskCanceledRequest(
                task_token=glue.activity_task(canceled.scheduled_event_id)["task_token"],
                details=canceled.details if canceled.HasField("details") else None,
                identity=canceled.identity,
            )
            decision = glue.submit("RespondActivityTaskCanceled", request)
            ok_payload(decision, RespondActivityTaskCanceledResponse)
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        failed = event.activity_task_failed_event_attributes
        decision = glue.fail_activity(failed.scheduled_event_id, failed.failure)
        ok_payload(decision, RespondActivityTaskFailedResponse)
    return poll
