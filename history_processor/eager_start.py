"""Eager workflow start: the first workflow task comes back in the StartWorkflowExecution response.

Like Temporal's startworkflow API with ``request_eager_execution``: the first task is started
in the same transition as the run (WorkflowTaskStarted with the start's request id and
identity, and no history size yet), nothing goes to matching, and the response carries the
poll response the starting client hands to its own worker. A retried start gets the same task
again while it is still the run's first, first-attempt task.
"""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    StartWorkflowExecutionRequest,
    StartWorkflowExecutionResponse,
)

from history_processor.builder import DecisionBuilder
from history_processor.handling import Env
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import poll_response, start_workflow_task

FIRST_STARTED_EVENT_ID = 3
"""WorkflowTaskStarted of an eagerly started run: after WorkflowExecutionStarted, Scheduled."""


def start(
    b: DecisionBuilder, req: StartWorkflowExecutionRequest, response: StartWorkflowExecutionResponse
) -> None:
    """Starts the run's scheduled first workflow task and puts it into ``response``."""
    start_workflow_task(b, req.request_id, req.identity, None, history_size_bytes=0)
    response.eager_workflow_task.CopyFrom(poll_response(b.run, b.events, b""))


def retried(state: ExecutionState, env: Env, response: StartWorkflowExecutionResponse) -> None:
    """Adds the eager task to the response of a retried start, if it still is the first one."""
    task = state.workflow_task
    if (
        task is None
        or not state.is_running
        or task.started_event_id != FIRST_STARTED_EVENT_ID
        or task.attempt > 1
    ):
        return
    history = list(env.read_events(1, FIRST_STARTED_EVENT_ID + 1))
    response.eager_workflow_task.CopyFrom(poll_response(state, history, b""))
