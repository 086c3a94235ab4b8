"""The PollWorkflowTaskQueueResponse of a workflow task started by a decision."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import PollWorkflowTaskQueueResponse

from history_processor.builder import DecisionBuilder
from history_processor.handling import Env
from history_processor.reads import page_of
from history_processor.wf_updates.protocol import request_message
from history_processor.workflow_tasks import HISTORY_PAGE_SIZE, poll_response


def started_task_response(
    b: DecisionBuilder,
    env: Env,
    committed_next_event_id: int,
    sticky: bool,
    identity: str,
    page_size: int = HISTORY_PAGE_SIZE,
) -> PollWorkflowTaskQueueResponse:
    """Builds the poll response for the task the decision in `b` just started.

    A sticky worker has the run cached and gets only events after the previous started event;
    others get the history from event 1 (paged; the rest through GetWorkflowExecutionHistory).
    The run's buffered queries ride along in ``queries`` (Temporal's consistent query: the
    worker answers them after applying the task's events, in its completion).

    Args:
        b: The decision, after the task was started.
        env: Gives the reader of committed events.
        committed_next_event_id: Next event id of the state the decision started from (events
            below it are committed; the decision's own events come from `b`).
        sticky: Whether the worker polled its sticky queue.
        identity: The poller's identity (goes into transient started events).
        page_size: Maximum events in the response.
    """
    state = b.run
    first = state.last_completed_wft_started_event_id + 1 if sticky else 1
    committed = []
    if first < committed_next_event_id:
        committed = list(env.read_events(first, committed_next_event_id))
    new = [event for event in b.events if event.event_id >= first]
    page, token = page_of(state, committed + new, page_size, identity=identity)
    response = poll_response(state, page, token)
    for query_id, query in env.queries.items():
        response.queries[query_id].CopyFrom(query)
    started = state.workflow_task
    assert started is not None
    for update_id, request in env.updates.items():
        response.messages.append(request_message(update_id, request, started.started_event_id))
    return response
