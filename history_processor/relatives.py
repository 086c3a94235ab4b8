"""State a run keeps about the workflows it reaches: its parent, its children, its requests.

Temporal's ParentExecutionInfo / RootExecutionInfo on the execution, ChildExecutionInfo,
SignalInfo and RequestCancelInfo in mutable state. Only plain data here; `fold_relatives` folds
the events that change it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes

# Deterministic request ids: the same initiating event always yields the same id, so a command
# sent twice to another shard is recognized there (Temporal keeps a random id in mutable state).
_REQUEST_ID_NAMESPACE = uuid.UUID("3f7c1f1e-2b0a-4c55-9a1e-5d7a0d8c6b11")


def request_id(run_id: str, initiated_event_id: int) -> str:
    """The request id of the cross-workflow request a run's `initiated_event_id` made."""
    return str(uuid.uuid5(_REQUEST_ID_NAMESPACE, f"{run_id}/{initiated_event_id}"))


@dataclass
class ParentInfo:
    """The run that started this one as its child.

    Attributes:
        namespace: The parent's namespace name.
        namespace_id: The parent's namespace id.
        workflow_id: The parent's workflow id.
        run_id: The parent's run id.
        initiated_event_id: The parent's StartChildWorkflowExecutionInitiated event id.
    """

    namespace: str
    namespace_id: str
    workflow_id: str
    run_id: str
    initiated_event_id: int


@dataclass
class ChildInfo:
    """A child this run initiated that has not closed yet (Temporal's ChildExecutionInfo).

    Attributes:
        initiated_event_id: Its StartChildWorkflowExecutionInitiated event id (the key).
        namespace: The child's namespace name.
        namespace_id: The child's namespace id.
        workflow_id: The child's workflow id.
        workflow_type: The child's workflow type.
        parent_close_policy: Temporal's ParentClosePolicy value.
        run_id: The child's run id once started.
        started_event_id: Its ChildWorkflowExecutionStarted event id once written.
    """

    initiated_event_id: int
    namespace: str
    namespace_id: str
    workflow_id: str
    workflow_type: str
    parent_close_policy: int
    run_id: str = ""
    started_event_id: int = 0


@dataclass
class ExternalRequest:
    """A signal or cancel request to another workflow waiting for its result.

    Attributes:
        initiated_event_id: Its *Initiated event id (the key).
        namespace: The target's namespace name.
        namespace_id: The target's namespace id.
        workflow_id: The target's workflow id.
        run_id: The target's run id ("" for its current run).
        control: The command's control string, echoed in the result event.
    """

    initiated_event_id: int
    namespace: str
    namespace_id: str
    workflow_id: str
    run_id: str
    control: str = ""


def parent_of(attrs: WorkflowExecutionStartedEventAttributes) -> ParentInfo | None:
    """The parent a WorkflowExecutionStarted names, if any."""
    if not attrs.HasField("parent_workflow_execution"):
        return None
    parent = attrs.parent_workflow_execution
    return ParentInfo(
        namespace=attrs.parent_workflow_namespace,
        namespace_id=attrs.parent_workflow_namespace_id,
        workflow_id=parent.workflow_id,
        run_id=parent.run_id,
        initiated_event_id=attrs.parent_initiated_event_id,
    )
