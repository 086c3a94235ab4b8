"""The prepared poll response of an optimistic workflow-task start, as matching finishes it.

While a scheduled workflow task waits for a poller, everything its poll response holds is
known except who polls and when; history puts that response (the template, ending with its
WorkflowTaskStarted event) into the task record's payload, and sends the record again with a
new template when events are written before the task starts. Matching finishes
it for the poller it hands the task to (`finish`) and tells history in the inbox, which writes
the same WorkflowTaskStarted event (``history_processor/optimistic.py`` explains why that keeps
Temporal's history).
"""

from __future__ import annotations

from temporalio.api.common.v1 import WorkerVersionStamp
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
)

_VERSIONED = 2  # temporal.api.enums.v1.WorkerVersioningMode.WORKER_VERSIONING_MODE_VERSIONED


def version_stamp(poll: PollWorkflowTaskQueueRequest) -> WorkerVersionStamp | None:
    """Temporal's StampFromCapabilities for an unversioned or old-versioning poller."""
    options = poll.deployment_options
    if options.worker_versioning_mode == _VERSIONED and options.deployment_name:
        return None
    caps = poll.worker_version_capabilities
    if caps.use_versioning and caps.deployment_series_name:
        return None
    if caps.build_id:
        return WorkerVersionStamp(use_versioning=caps.use_versioning, build_id=caps.build_id)
    return None


def finish(
    prepared: bytes, poll: PollWorkflowTaskQueueRequest, request_id: str, now_ms: int
) -> PollWorkflowTaskQueueResponse:
    """The poll response for `poll`: the template with the poller, request id and time.

    Raises:
        ValueError: `prepared` is not a template (its history does not end with a started
            event).
    """
    response = PollWorkflowTaskQueueResponse.FromString(prepared)
    events = response.history.events
    if not events or events[-1].event_type != EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        raise ValueError("a prepared poll response must end with WorkflowTaskStarted")
    started = events[-1]
    started.event_time.FromMilliseconds(now_ms)
    attrs = started.workflow_task_started_event_attributes
    attrs.identity = poll.identity
    attrs.request_id = request_id
    stamp = version_stamp(poll)
    if stamp is not None:
        attrs.worker_version.CopyFrom(stamp)
    response.started_time.FromMilliseconds(now_ms)
    return response
