"""Outbox records built from state: TaskRecords for matching and VisibilityRecords."""

from __future__ import annotations

from temporalio.api.common.v1 import (
    ActivityType,
    Header,
    Payloads,
    Priority,
    WorkflowExecution,
    WorkflowType,
)
from temporalio.api.history.v1 import ActivityTaskScheduledEventAttributes
from temporalio.api.workflowservice.v1 import PollActivityTaskQueueResponse

from history_processor import events as ev
from history_processor.state import ActivityInfo, ExecutionState, TaskQueueKind
from schemas import tokens
from schemas.records import TaskRecord, VisibilityRecord


def workflow_task_token(state: ExecutionState, started_event_id: int = 0) -> bytes:
    """Token of the run's pending workflow task."""
    task = state.workflow_task
    assert task is not None
    return tokens.encode(
        tokens.TaskToken(
            kind=tokens.TaskKind.WORKFLOW,
            namespace_id=state.namespace_id,
            workflow_id=state.workflow_id,
            run_id=state.run_id,
            scheduled_event_id=task.scheduled_event_id,
            attempt=task.attempt,
            started_event_id=started_event_id,
        )
    )


def activity_task_token(state: ExecutionState, info: ActivityInfo) -> bytes:
    """Token of the current attempt of an activity."""
    return tokens.encode(
        tokens.TaskToken(
            kind=tokens.TaskKind.ACTIVITY,
            namespace_id=state.namespace_id,
            workflow_id=state.workflow_id,
            run_id=state.run_id,
            scheduled_event_id=info.scheduled_event_id,
            attempt=info.attempt,
            activity_id=info.activity_id,
        )
    )


def workflow_task_record(state: ExecutionState) -> TaskRecord:
    """TaskRecord of the run's pending workflow task."""
    task = state.workflow_task
    assert task is not None
    return {
        "task_kind": "workflow",
        "namespace": state.namespace,
        "task_queue": task.task_queue,
        "task_queue_kind": task.task_queue_kind.value,
        "task_queue_partition": 0,  # normal queues: placed by schemas.outbox.route
        "workflow_id": state.workflow_id,
        "run_id": state.run_id,
        "scheduled_event_id": task.scheduled_event_id,
        "attempt": task.attempt,
        "task_token": workflow_task_token(state),
        "schedule_time_ms": task.scheduled_time_ms,
        "schedule_to_start_timeout_ms": task.schedule_to_start_timeout_ms,
        "payload": b"",
        "stamp": 0,
    }


def activity_poll_response(
    state: ExecutionState, info: ActivityInfo
) -> PollActivityTaskQueueResponse:
    """The PollActivityTaskQueueResponse matching hands out (it fills started_time)."""
    attrs = ActivityTaskScheduledEventAttributes.FromString(info.scheduled_attributes)
    response = PollActivityTaskQueueResponse(
        task_token=activity_task_token(state, info),
        workflow_namespace=state.namespace,
        workflow_type=WorkflowType(name=state.workflow_type),
        workflow_execution=WorkflowExecution(workflow_id=state.workflow_id, run_id=state.run_id),
        activity_type=ActivityType(name=info.activity_type),
        activity_id=info.activity_id,
        header=attrs.header if attrs.HasField("header") else Header(),
        input=attrs.input if attrs.HasField("input") else Payloads(),
        attempt=info.attempt,
        # The activity's current options (UpdateActivityOptions may have changed them).
        schedule_to_close_timeout=ev.duration(info.schedule_to_close_timeout_ms),
        start_to_close_timeout=ev.duration(info.start_to_close_timeout_ms),
        heartbeat_timeout=ev.duration(info.heartbeat_timeout_ms),
        retry_policy=info.retry_policy.to_proto(),
        priority=Priority.FromString(info.priority) if info.priority else attrs.priority,
    )
    if info.heartbeat_details:
        response.heartbeat_details.ParseFromString(info.heartbeat_details)
    response.scheduled_time.FromMilliseconds(info.first_scheduled_time_ms)
    response.current_attempt_scheduled_time.FromMilliseconds(info.scheduled_time_ms)
    return response


def activity_task_record(state: ExecutionState, info: ActivityInfo) -> TaskRecord:
    """TaskRecord of the current attempt of an activity."""
    return {
        "task_kind": "activity",
        "namespace": state.namespace,
        "task_queue": info.task_queue,
        "task_queue_kind": TaskQueueKind.NORMAL.value,
        "task_queue_partition": 0,  # placed by schemas.outbox.route
        "workflow_id": state.workflow_id,
        "run_id": state.run_id,
        "scheduled_event_id": info.scheduled_event_id,
        "attempt": info.attempt,
        "task_token": activity_task_token(state, info),
        "schedule_time_ms": info.scheduled_time_ms,
        "schedule_to_start_timeout_ms": info.schedule_to_start_timeout_ms,
        "payload": activity_poll_response(state, info).SerializeToString(),
        "stamp": info.stamp,
    }


def visibility_record(state: ExecutionState) -> VisibilityRecord:
    """VisibilityRecord of the run as it is now.

    The version is the run's next event id: it grows with every change of the run, so
    Elasticsearch's external versioning never lets an older record overwrite a newer one.
    """
    closed = not state.is_running
    return {
        "namespace": state.namespace,
        "namespace_id": state.namespace_id,
        "workflow_id": state.workflow_id,
        "run_id": state.run_id,
        "workflow_type": state.workflow_type,
        "task_queue": state.task_queue,
        "status": state.status.value,
        "start_time_ms": state.start_time_ms,
        "execution_time_ms": state.execution_time_ms,
        "close_time_ms": state.close_time_ms if closed else None,
        "execution_duration_ms": (
            max(0, state.close_time_ms - state.execution_time_ms) if closed else None
        ),
        "history_length": state.next_event_id - 1,
        "version": state.next_event_id,
        "memo": state.memo,
        "search_attributes": state.search_attributes,
        "deleted": False,
    }
