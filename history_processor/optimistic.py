"""Optimistic workflow-task start: matching answers the poll without a round trip to history.

Temporal records a workflow task's start in history before the poller gets it (matching ->
history -> matching). When a task is scheduled as the run's last event, everything its poll
response holds is known, except who polls and when. So the history puts a prepared response
(a template) into the task record; matching fills in the poller's identity,
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
from history_processor.workflow_tasks import (
    HISTORY_PAGE_SIZE,
    poll_response,
    start_workflow_task,
    version_stamp,
)

#: Larger responses go the classic way; the template travels inside a Kafka record.
MAX_TEMPLATE_BYTES = 256 * 1024


def template(b: DecisionBuilder) -> bytes:
    """The prepared poll response of the workflow task `b` just scheduled, or b"".

    Qualifies: an attempt-1 task whose scheduled event is the run's last event, whose
    response fits one page and `MAX_TEMPLATE_BYTES`. The response is the one
    RecordWorkflowTaskStarted would give: the history from event 1 on the normal queue, from
    the last completed task's started event on the sticky queue (the worker has the rest).
    """
    state = b.run
    task = state.workflow_task
    if (
        task is None
        or task.attempt != 1
        or task.transient
        or task.scheduled_event_id != state.next_event_id - 1
    ):
        return b""
    sticky = task.task_queue_kind is TaskQueueKind.STICKY
    first = state.last_completed_wft_started_event_id + 1 if sticky else 1
    if state.next_event_id - first >= HISTORY_PAGE_SIZE:
        return b""
    history = b.read_events(first, state.next_event_id)
    if history is None:
        return b""
    speculative = DecisionBuilder(state, b.now_ms)
    start_workflow_task(speculative, request_id="", identity="", stamp=None)
    response = poll_response(speculative.run, history + speculative.events, b"")
    prepared = response.SerializeToString()
    return prepared if len(prepared) <= MAX_TEMPLATE_BYTES else b""


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
