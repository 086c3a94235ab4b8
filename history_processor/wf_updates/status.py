"""Where an update stands (admitted, accepted, completed) and the replies that tell a caller so."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage as Stage
from temporalio.api.update.v1 import Outcome, UpdateRef
from temporalio.api.workflowservice.v1 import (
    PollWorkflowExecutionUpdateResponse,
    UpdateWorkflowExecutionResponse,
)

from history_processor.model import EventReader
from history_processor.state import ExecutionState
from history_processor.wf_updates.protocol import accepted_update_completed_workflow
from schemas.inbox import POLL_WORKFLOW_EXECUTION_UPDATE
from schemas.reply import Reply

ADMITTED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
ACCEPTED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
COMPLETED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED


def recorded(
    state: ExecutionState, update_id: str, read_events: EventReader
) -> tuple[Stage.ValueType, Outcome | None] | None:
    """The stage (and outcome once completed) of an update written to the run's history.

    An accepted update of a closed run is completed with Temporal's
    AcceptedUpdateCompletedWorkflow failure: its caller must get an outcome, not an error.

    Returns:
        (stage, outcome), or None when the run has no event of the update.
    """
    info = state.workflow_updates.get(update_id)
    if info is None:
        return None
    if info.completed_event_id:
        events = read_events(info.completed_event_id, info.completed_event_id + 1)
        outcome = Outcome()
        if events:
            attrs = events[0].workflow_execution_update_completed_event_attributes
            outcome.CopyFrom(attrs.outcome)
        return COMPLETED, outcome
    if not state.is_running:
        return COMPLETED, accepted_update_completed_workflow()
    return ACCEPTED, None


def reached(stage: Stage.ValueType, wait_stage: Stage.ValueType) -> bool:
    """Whether a caller waiting for `wait_stage` may be answered at `stage`.

    UNSPECIFIED waits for nothing (Temporal's WaitLifecycleStage answers at once).
    """
    return wait_stage == Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_UNSPECIFIED or (
        stage >= wait_stage
    )


def update_ref(state: ExecutionState, update_id: str) -> UpdateRef:
    """The reference a response names the update by."""
    return UpdateRef(
        workflow_execution=WorkflowExecution(workflow_id=state.workflow_id, run_id=state.run_id),
        update_id=update_id,
    )


def answer(
    kind: str,
    state: ExecutionState,
    update_id: str,
    stage: Stage.ValueType,
    outcome: Outcome | None,
) -> Reply:
    """The reply of a caller (of inbox `kind`) whose update reached `stage`.

    A rejected update is answered at COMPLETED with the rejection as its outcome, as
    Temporal's statusRejected.
    """
    response_type = (
        PollWorkflowExecutionUpdateResponse
        if kind == POLL_WORKFLOW_EXECUTION_UPDATE
        else UpdateWorkflowExecutionResponse
    )
    response = response_type(update_ref=update_ref(state, update_id), stage=stage)
    if outcome is not None:
        response.outcome.CopyFrom(outcome)
    return Reply.of(response)
