"""Optimistic start of a run's first workflow task: matching answers the poll without a round trip.

Temporal records a workflow task's start in history before the poller gets it (matching ->
history -> matching). For the first workflow task of a run, everything the poll response
holds is known when the task is scheduled, except who polls and when. So the history puts a
prepared response (a template) into the task record; matching fills in the poller's identity,
the request id and the time, hands it out, and tells history in the inbox (acknowledged by
Kafka before the poll is answered, so it precedes the worker's completion in the partition).
History then writes the same WorkflowTaskStarted event, or, when the run moved on in between,
writes nothing and schedules the task again; the worker's completion of the stale task gets
NOT_FOUND, exactly as for any stale task.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
)

from history_processor.builder import DecisionBuilder
from history_processor.state import TaskQueueKind
from history_processor.workflow_tasks import poll_response, start_workflow_task, version_stamp


def template(b: DecisionBuilder) -> bytes:
    """The prepared poll response of the workflow task `b` just scheduled, or b"".

    Only a run's first workflow task qualifies: attempt 1 on the normal queue, with the whole
    history (events 1..scheduled) emitted by this very decision.
    """
    state = b.run
    task = state.workflow_task
    events = b.events
    if (
        task is None
        or task.attempt != 1
        or task.transient
        or task.task_queue_kind is not TaskQueueKind.NORMAL
        or not events
        or events[0].event_id != 1
        or task.scheduled_event_id != state.next_event_id - 1
    ):
        return b""
    speculative = DecisionBuilder(state, b.now_ms)
    start_workflow_task(speculative, request_id="", identity="", stamp=None)
    return poll_response(speculative.run, events + speculative.events, b"").SerializeToString()


def finish(
    prepared: bytes, poll: PollWorkflowTaskQueueRequest, request_id: str, now_ms: int
) -> PollWorkflowTaskQueueResponse:
    """The poll response for `poll`: the template with the poller, request id and time."""
    response = PollWorkflowTaskQueueResponse.FromString(prepared)
    started = response.history.events[-1]
    assert started.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
    started.event_time.FromMilliseconds(now_ms)
    attrs = started.workflow_task_started_event_attributes
    attrs.identity = poll.identity
    attrs.request_id = request_id
    stamp = version_stamp(poll)
    if stamp is not None:
        attrs.worker_version.CopyFrom(stamp)
    response.started_time.FromMilliseconds(now_ms)
    return response
