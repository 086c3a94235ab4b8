"""StartChildWorkflow (from the parent's shard): start the child run and report back.

Temporal's StartWorkflowExecution with parent info, called by the parent's transfer task: the
id conflict policy is always FAIL, the reuse policy the command's. A start whose request id
made the current run is a duplicate and is answered as a success again.
"""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import (
    EventType,
    StartChildWorkflowExecutionFailedCause,
    WorkflowIdConflictPolicy,
)
from temporalio.api.history.v1 import StartChildWorkflowExecutionInitiatedEventAttributes
from temporalio.api.sdk.v1 import UserMetadata
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest

from history_processor import events as ev
from history_processor import reach
from history_processor import updates as upd
from history_processor.builder import DecisionBuilder
from history_processor.handlers.start_workflow_execution import (
    _started_attributes,
    resolve_existing,
)
from history_processor.handling import Env
from history_processor.model import Command, Decision
from history_processor.outbox import visibility_record
from history_processor.relatives import ParentInfo
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import schedule_workflow_task
from schemas import inbox

_Enum = StartChildWorkflowExecutionFailedCause
_ALREADY_EXISTS = _Enum.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS


def start_request(
    msg: inbox.StartChildWorkflow, initiated: StartChildWorkflowExecutionInitiatedEventAttributes
) -> StartWorkflowExecutionRequest:
    """The StartWorkflowExecution request Temporal's parent sends for the child."""
    req = StartWorkflowExecutionRequest(
        namespace=initiated.namespace,
        workflow_id=initiated.workflow_id,
        workflow_type=initiated.workflow_type,
        task_queue=initiated.task_queue,
        request_id=msg.request_id,
        workflow_id_reuse_policy=initiated.workflow_id_reuse_policy,
        workflow_id_conflict_policy=WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
        cron_schedule=initiated.cron_schedule,
    )
    for name in (
        "input",
        "workflow_execution_timeout",
        "workflow_run_timeout",
        "workflow_task_timeout",
        "retry_policy",
        "memo",
        "search_attributes",
        "header",
        "priority",
    ):
        if initiated.HasField(name):
            getattr(req, name).CopyFrom(getattr(initiated, name))
    if msg.user_metadata:
        req.user_metadata.CopyFrom(UserMetadata.FromString(msg.user_metadata))
    return req


def _execution(state: ExecutionState) -> WorkflowExecution:
    return WorkflowExecution(workflow_id=state.workflow_id, run_id=state.run_id)


def _parent(msg: inbox.StartChildWorkflow) -> ParentInfo:
    return ParentInfo(
        namespace=msg.parent_namespace,
        namespace_id=msg.parent_namespace_id,
        workflow_id=msg.parent_workflow_id,
        run_id=msg.parent_run_id,
        initiated_event_id=msg.initiated_event_id,
    )


def _create_child_run(
    b: DecisionBuilder,
    command: Command,
    msg: inbox.StartChildWorkflow,
    req: StartWorkflowExecutionRequest,
    env: Env,
) -> None:
    """Appends the child's WorkflowExecutionStarted, naming its parent and root."""
    run_id = env.new_id()
    attrs = _started_attributes(req, req.workflow_id, run_id, env)
    attrs.parent_workflow_namespace = msg.parent_namespace
    attrs.parent_workflow_namespace_id = msg.parent_namespace_id
    attrs.parent_workflow_execution.CopyFrom(
        WorkflowExecution(workflow_id=msg.parent_workflow_id, run_id=msg.parent_run_id)
    )
    attrs.parent_initiated_event_id = msg.initiated_event_id
    attrs.root_workflow_execution.CopyFrom(
        WorkflowExecution(workflow_id=msg.root_workflow_id, run_id=msg.root_run_id)
    )
    # Temporal writes the run timeout even when it is zero (the parent filled it in).
    attrs.workflow_run_timeout.CopyFrom(req.workflow_run_timeout)
    started = ev.new_event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, env.now_ms, attrs)
    if req.HasField("user_metadata"):
        started.user_metadata.CopyFrom(req.user_metadata)
    b.append(started)
    b.add_update(
        upd.ExecutionCreated(
            namespace=command.namespace,
            namespace_id=command.namespace_id,
            run_id=run_id,
            request_id=req.request_id,
        )
    )


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Starts the child (or finds its id taken) and tells the parent."""
    msg: inbox.StartChildWorkflow = command.payload
    initiated = StartChildWorkflowExecutionInitiatedEventAttributes.FromString(msg.initiated)
    parent = _parent(msg)
    b = DecisionBuilder(state, env.now_ms)
    if state is not None and state.start_request_id == msg.request_id:
        # The same start again: the parent ignores a report it has already recorded.
        reach.report_to_parent(b, parent, inbox.CHILD_WORKFLOW_STARTED, _execution(state))
        return b.finish(reach.DONE)
    req = start_request(msg, initiated)
    if state is not None and resolve_existing(state, req) is not None:
        reach.report_to_parent(
            b,
            parent,
            inbox.START_CHILD_WORKFLOW_FAILED,
            WorkflowExecution(workflow_id=req.workflow_id),
            failed_cause=_ALREADY_EXISTS,
        )
        return b.finish(reach.DONE)
    _create_child_run(b, command, msg, req, env)
    if b.run.first_workflow_task_backoff_ms == 0:
        schedule_workflow_task(b)
    b.set_visibility(visibility_record(b.run))
    reach.report_to_parent(b, parent, inbox.CHILD_WORKFLOW_STARTED, _execution(b.run))
    return b.finish(reach.DONE)
