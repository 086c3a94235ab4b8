"""One handler module per command kind; `HANDLERS` maps the kind to its `handle` function.

`INBOX_HANDLERS` covers exactly the kinds `schemas.inbox.PAYLOAD_TYPES` declares (a unit test
checks it): the payload type of a kind is declared once, in the contract, and its handler here.
`TimerFired` is history's own: the processor makes it from its timer index, never from Kafka.
"""

from __future__ import annotations

from collections.abc import Callable

from history_processor.handlers import (
    activity_task_started,
    cancel_external_workflow,
    cancel_external_workflow_result,
    child_workflow_closed,
    child_workflow_started,
    delete_workflow_execution,
    describe_workflow_execution,
    execute_multi_operation,
    get_query_task,
    get_workflow_execution_history,
    get_workflow_execution_history_reverse,
    pause_activity,
    poll_workflow_execution_update,
    query_workflow,
    record_activity_task_heartbeat,
    record_activity_task_heartbeat_by_id,
    record_activity_task_started,
    record_workflow_task_started,
    replicate_events,
    request_cancel_workflow_execution,
    reset_activity,
    reset_sticky_task_queue,
    reset_workflow_execution,
    respond_activity_task_canceled,
    respond_activity_task_canceled_by_id,
    respond_activity_task_completed,
    respond_activity_task_completed_by_id,
    respond_activity_task_failed,
    respond_activity_task_failed_by_id,
    respond_workflow_task_completed,
    respond_workflow_task_failed,
    signal_external_workflow,
    signal_external_workflow_result,
    signal_with_start_workflow_execution,
    signal_workflow_execution,
    start_child_workflow,
    start_child_workflow_failed,
    start_workflow_execution,
    sticky_worker_unavailable,
    terminate_workflow_execution,
    timer_fired,
    unpause_activity,
    update_activity_options,
    update_workflow_execution,
)
from history_processor.handling import Env
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState

Handler = Callable[[ExecutionState | None, Command, Env], Decision]

TIMER_FIRED = "TimerFired"
"""The kind of the commands the processor makes for due durable timers."""

INBOX_HANDLERS: dict[str, Handler] = {
    "StartWorkflowExecution": start_workflow_execution.handle,
    "RecordWorkflowTaskStarted": record_workflow_task_started.handle,
    "RespondWorkflowTaskCompleted": respond_workflow_task_completed.handle,
    "RespondWorkflowTaskFailed": respond_workflow_task_failed.handle,
    "ActivityTaskStarted": activity_task_started.handle,
    "RespondActivityTaskCompleted": respond_activity_task_completed.handle,
    "RespondActivityTaskFailed": respond_activity_task_failed.handle,
    "RecordActivityTaskHeartbeat": record_activity_task_heartbeat.handle,
    "TerminateWorkflowExecution": terminate_workflow_execution.handle,
    "GetWorkflowExecutionHistory": get_workflow_execution_history.handle,
    "DescribeWorkflowExecution": describe_workflow_execution.handle,
    "QueryWorkflow": query_workflow.handle,
    "GetQueryTask": get_query_task.handle,
    "RespondActivityTaskCanceled": respond_activity_task_canceled.handle,
    "RespondActivityTaskCompletedById": respond_activity_task_completed_by_id.handle,
    "RespondActivityTaskFailedById": respond_activity_task_failed_by_id.handle,
    "RespondActivityTaskCanceledById": respond_activity_task_canceled_by_id.handle,
    "RecordActivityTaskHeartbeatById": record_activity_task_heartbeat_by_id.handle,
    "ResetStickyTaskQueue": reset_sticky_task_queue.handle,
    "GetWorkflowExecutionHistoryReverse": get_workflow_execution_history_reverse.handle,
    "StickyWorkerUnavailable": sticky_worker_unavailable.handle,
    "SignalWorkflowExecution": signal_workflow_execution.handle,
    "SignalWithStartWorkflowExecution": signal_with_start_workflow_execution.handle,
    "RequestCancelWorkflowExecution": request_cancel_workflow_execution.handle,
    "StartChildWorkflow": start_child_workflow.handle,
    "ChildWorkflowStarted": child_workflow_started.handle,
    "StartChildWorkflowFailed": start_child_workflow_failed.handle,
    "ChildWorkflowClosed": child_workflow_closed.handle,
    "SignalExternalWorkflow": signal_external_workflow.handle,
    "SignalExternalWorkflowResult": signal_external_workflow_result.handle,
    "CancelExternalWorkflow": cancel_external_workflow.handle,
    "CancelExternalWorkflowResult": cancel_external_workflow_result.handle,
    "RecordActivityTaskStarted": record_activity_task_started.handle,
    "DeleteWorkflowExecution": delete_workflow_execution.handle,
    "ResetWorkflowExecution": reset_workflow_execution.handle,
    "UpdateWorkflowExecution": update_workflow_execution.handle,
    "PollWorkflowExecutionUpdate": poll_workflow_execution_update.handle,
    "PauseActivity": pause_activity.handle,
    "UnpauseActivity": unpause_activity.handle,
    "ResetActivity": reset_activity.handle,
    "UpdateActivityOptions": update_activity_options.handle,
    "ReplicateEvents": replicate_events.handle,
    "ExecuteMultiOperation": execute_multi_operation.handle,
}

HANDLERS: dict[str, Handler] = {**INBOX_HANDLERS, TIMER_FIRED: timer_fired.handle}
