"""Eager activity dispatch: activities started at once and returned with the workflow task reply.

Mirrors Temporal's handleCommandScheduleActivity / handlePostCommandEagerExecuteActivity
(service/history/api/respondworkflowtaskcompleted): an activity whose command asks for eager
execution gets no task for matching; once all commands are handled its first attempt is
started for the worker that completed the workflow task (identity of the completion, a fresh
request id, started now) and its PollActivityTaskQueueResponse goes into
``RespondWorkflowTaskCompletedResponse.activity_tasks``. Nothing is written to history for the
start: like any attempt, ActivityTaskStarted is written when the attempt ends. Retries go
through matching as usual.

Temporal's server grants every request when ``system.enableActivityEagerExecution`` is on (the
default) and worker versioning allows it; the SDKs (core, Go) only ask for activities on their
own task queue and for at most 3 per workflow task by default. Strom adds two guards of its
own, which the official SDKs' requests never trip by default: the activity must be on the
run's task queue, and one reply carries at most `MAX_ACTIVITIES_PER_WORKFLOW_TASK` activities
and `MAX_REPLY_BYTES` of them (the reply travels as one Kafka record). Declined activities go
through matching; SDKs release the slots they reserved for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from temporalio.api.command.v1 import ScheduleActivityTaskCommandAttributes
from temporalio.api.enums.v1 import VersioningBehavior
from temporalio.api.workflowservice.v1 import (
    PollActivityTaskQueueResponse,
    RespondWorkflowTaskCompletedRequest,
)

from history_processor import updates as upd
from history_processor.builder import DecisionBuilder
from history_processor.outbox import activity_poll_response
from history_processor.state import ActivityInfo, ExecutionState

# Temporal's system.enableActivityEagerExecution (per namespace, default true).
ENABLED = True
# Strom's own bounds (Temporal has none; the SDKs reserve 3 slots per workflow task by default).
MAX_ACTIVITIES_PER_WORKFLOW_TASK = 10
MAX_REPLY_BYTES = 512 * 1024


def _versioning_forbids(
    request: RespondWorkflowTaskCompletedRequest, attrs: ScheduleActivityTaskCommandAttributes
) -> bool:
    """Temporal: a workflow on (old, build-id based) versioning runs an activity eagerly only
    if the activity uses the workflow's build id. Strom assigns no build ids, so only the
    completing worker's stamp can say versioning is used."""
    old_versioning = (
        request.worker_version_stamp.use_versioning
        and request.versioning_behavior == VersioningBehavior.VERSIONING_BEHAVIOR_UNSPECIFIED
    )
    return old_versioning and not attrs.use_workflow_build_id


@dataclass
class EagerDispatch:
    """Picks and starts the eager activities of one RespondWorkflowTaskCompleted.

    Attributes:
        request: The completion; its identity becomes the attempts' started identity.
        enabled: Whether the namespace allows eager activities.
        max_activities: At most this many activities per reply.
        max_bytes: At most this many bytes of poll responses per reply.
        selected: Scheduled event ids of the activities taken so far, in command order.
    """

    request: RespondWorkflowTaskCompletedRequest
    enabled: bool = ENABLED
    max_activities: int = MAX_ACTIVITIES_PER_WORKFLOW_TASK
    max_bytes: int = MAX_REPLY_BYTES
    selected: list[int] = field(default_factory=list)
    _bytes: int = 0

    def take(
        self,
        state: ExecutionState,
        attrs: ScheduleActivityTaskCommandAttributes,
        info: ActivityInfo,
    ) -> bool:
        """Decides whether the activity just scheduled by `attrs` is dispatched eagerly.

        Must be called once per ScheduleActivityTask command, right after its scheduled event.

        Returns:
            True if the activity is taken: the caller must not emit its task record.
        """
        if not (attrs.request_eager_execution and self.enabled):
            return False
        if _versioning_forbids(self.request, attrs) or info.task_queue != state.task_queue:
            return False
        size = activity_poll_response(state, info).ByteSize()
        if len(self.selected) >= self.max_activities or self._bytes + size > self.max_bytes:
            return False
        self.selected.append(info.scheduled_event_id)
        self._bytes += size
        return True

    def start(
        self, b: DecisionBuilder, new_id: Callable[[], str]
    ) -> list[PollActivityTaskQueueResponse]:
        """Starts the first attempt of every taken activity (after all commands are handled).

        An activity gone by now (the run closed in the same workflow task) is not started;
        it never gets a task either, as in Temporal.

        Returns:
            The poll responses for the reply, in command order.
        """
        out: list[PollActivityTaskQueueResponse] = []
        for scheduled_event_id in self.selected:
            info = b.run.activities.get(scheduled_event_id) if b.run.is_running else None
            if info is None:
                continue
            b.add_update(
                upd.ActivityStarted(
                    scheduled_event_id=scheduled_event_id,
                    attempt=info.attempt,
                    started_time_ms=b.now_ms,
                    request_id=new_id(),
                    identity=self.request.identity,
                )
            )
            response = activity_poll_response(b.run, b.run.activities[scheduled_event_id])
            response.started_time.FromMilliseconds(b.now_ms)
            out.append(response)
        return out
