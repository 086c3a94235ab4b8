"""One module per WorkflowService RPC Strom serves; ``HANDLERS`` maps RPC names to them.

A handler is ``async def handle(env, request, call) -> response``: it validates first,
raises ``frontend.errors.ServiceError`` for a bad request, then talks to the backends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from frontend.context import Call, Env
from frontend.rpc import (
    count_workflow_executions,
    describe_namespace,
    describe_task_queue,
    describe_workflow_execution,
    execute_multi_operation,
    get_cluster_info,
    get_search_attributes,
    get_system_info,
    get_workflow_execution_history,
    get_workflow_execution_history_reverse,
    list_namespaces,
    list_workflow_executions,
    poll_activity_task_queue,
    poll_workflow_execution_update,
    poll_workflow_task_queue,
    query_workflow,
    record_activity_task_heartbeat,
    record_activity_task_heartbeat_by_id,
    request_cancel_workflow_execution,
    reset_sticky_task_queue,
    respond_activity_task_canceled,
    respond_activity_task_canceled_by_id,
    respond_activity_task_completed,
    respond_activity_task_completed_by_id,
    respond_activity_task_failed,
    respond_activity_task_failed_by_id,
    respond_query_task_completed,
    respond_workflow_task_completed,
    respond_workflow_task_failed,
    shutdown_worker,
    signal_with_start_workflow_execution,
    signal_workflow_execution,
    start_workflow_execution,
    terminate_workflow_execution,
    update_workflow_execution,
)

Handler = Callable[[Env, Any, Call], Awaitable[Any]]

HANDLERS: dict[str, Handler] = {
    "GetSystemInfo": get_system_info.handle,
    "GetClusterInfo": get_cluster_info.handle,
    "DescribeNamespace": describe_namespace.handle,
    "ListNamespaces": list_namespaces.handle,
    "StartWorkflowExecution": start_workflow_execution.handle,
    "PollWorkflowTaskQueue": poll_workflow_task_queue.handle,
    "PollActivityTaskQueue": poll_activity_task_queue.handle,
    "RespondWorkflowTaskCompleted": respond_workflow_task_completed.handle,
    "RespondWorkflowTaskFailed": respond_workflow_task_failed.handle,
    "RespondActivityTaskCompleted": respond_activity_task_completed.handle,
    "RespondActivityTaskFailed": respond_activity_task_failed.handle,
    "RecordActivityTaskHeartbeat": record_activity_task_heartbeat.handle,
    "GetWorkflowExecutionHistory": get_workflow_execution_history.handle,
    "DescribeWorkflowExecution": describe_workflow_execution.handle,
    "TerminateWorkflowExecution": terminate_workflow_execution.handle,
    "ListWorkflowExecutions": list_workflow_executions.handle,
    "CountWorkflowExecutions": count_workflow_executions.handle,
    "ShutdownWorker": shutdown_worker.handle,
    "QueryWorkflow": query_workflow.handle,
    "RespondQueryTaskCompleted": respond_query_task_completed.handle,
    "GetSearchAttributes": get_search_attributes.handle,
    "RespondActivityTaskCanceled": respond_activity_task_canceled.handle,
    "RespondActivityTaskCompletedById": respond_activity_task_completed_by_id.handle,
    "RespondActivityTaskFailedById": respond_activity_task_failed_by_id.handle,
    "RespondActivityTaskCanceledById": respond_activity_task_canceled_by_id.handle,
    "RecordActivityTaskHeartbeatById": record_activity_task_heartbeat_by_id.handle,
    "ResetStickyTaskQueue": reset_sticky_task_queue.handle,
    "DescribeTaskQueue": describe_task_queue.handle,
    "GetWorkflowExecutionHistoryReverse": get_workflow_execution_history_reverse.handle,
    "SignalWorkflowExecution": signal_workflow_execution.handle,
    "SignalWithStartWorkflowExecution": signal_with_start_workflow_execution.handle,
    "RequestCancelWorkflowExecution": request_cancel_workflow_execution.handle,
    "UpdateWorkflowExecution": update_workflow_execution.handle,
    "PollWorkflowExecutionUpdate": poll_workflow_execution_update.handle,
    "ExecuteMultiOperation": execute_multi_operation.handle,
}
"""The RPCs Strom serves; every other WorkflowService RPC answers UNIMPLEMENTED."""
