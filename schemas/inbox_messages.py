"""Strom's internal inbox messages (matching, history shards and the replicator -> history).

They travel as JSON (`schemas.jsoncodec`) so that a field added later never breaks an older
reader; `schemas.inbox` pairs each with its kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import TaskQueueKind
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowExecutionUpdateRequest,
    PollWorkflowTaskQueueRequest,
    QueryWorkflowRequest,
    StartWorkflowExecutionRequest,
    UpdateWorkflowExecutionRequest,
)

from schemas import jsoncodec


class JsonPayload:
    """JSON encoding of the internal messages (one codec: `schemas.jsoncodec`)."""

    def to_bytes(self) -> bytes:
        """The message as compact UTF-8 JSON, bytes fields base64."""
        return jsoncodec.dumps(self)

    def SerializeToString(self) -> bytes:
        """Same as `to_bytes`; lets callers that serialize protos send these too."""
        return self.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Any:
        """Parses `to_bytes` output; unknown keys are ignored, missing ones take defaults.

        Raises:
            PayloadDecodeError: not such a message (bad JSON, missing or mistyped field).
        """
        return jsoncodec.loads(cls, data)


@dataclass(frozen=True)
class RecordWorkflowTaskStarted(JsonPayload):
    """Matching -> history: a poller got this workflow task; record ``WorkflowTaskStarted``.

    History validates the task against mutable state (stale -> NOT_FOUND) and replies with
    the poller's ``PollWorkflowTaskQueueResponse``. A retry with the same ``request_id`` gets
    the same answer (Temporal's idempotency rule for this call).

    Attributes:
        namespace: Namespace name.
        workflow_id: Workflow id of the task.
        run_id: Run id of the task.
        scheduled_event_id: Event id of the task's ``WorkflowTaskScheduled``.
        attempt: Attempt of the task.
        task_token: Token from the task record.
        request_id: Unique per dispatch; the dedupe key of the start.
        identity: The poller's identity (goes into ``WorkflowTaskStarted``).
        task_queue: Queue the task was polled from (a sticky queue's name for sticky polls).
        task_queue_kind: ``"normal"`` or ``"sticky"``.
        poll_request: Serialized ``PollWorkflowTaskQueueRequest`` of the poller.
        started_time_ms: Non-zero for an optimistic start: matching already answered the
            poll from the task's prepared response (`schemas.prepared`); no reply.
        update_ids: Of an optimistic start, the workflow updates whose requests the prepared
            response carried (a speculative task's); history refuses the start unless they
            are the run's admitted updates.
        started_event_id: Of an optimistic start, the started event id its prepared response
            showed (the run's next event id when history made it); history refuses the start
            unless that is still the run's next event id. 0 (a sender before this field): the
            task's scheduled event must be the run's last.
    """

    namespace: str
    workflow_id: str
    run_id: str
    scheduled_event_id: int
    attempt: int
    task_token: bytes
    request_id: str
    identity: str
    task_queue: str
    task_queue_kind: str
    poll_request: bytes = b""
    started_time_ms: int = 0
    update_ids: list[str] = field(default_factory=list)
    started_event_id: int = 0

    @classmethod
    def for_task(
        cls,
        task: Mapping[str, Any],
        poll: PollWorkflowTaskQueueRequest,
        request_id: str,
        started_time_ms: int = 0,
        update_ids: Iterable[str] = (),
        started_event_id: int = 0,
    ) -> RecordWorkflowTaskStarted:
        """The message for a workflow task record handed to `poll`."""
        return cls(
            namespace=task["namespace"],
            workflow_id=task["workflow_id"],
            run_id=task["run_id"],
            scheduled_event_id=int(task["scheduled_event_id"]),
            attempt=int(task["attempt"]),
            task_token=bytes(task["task_token"]),
            request_id=request_id,
            identity=poll.identity,
            task_queue=task["task_queue"],
            task_queue_kind=task["task_queue_kind"],
            poll_request=poll.SerializeToString(),
            started_time_ms=started_time_ms,
            update_ids=list(update_ids),
            started_event_id=started_event_id,
        )

    def poll(self) -> PollWorkflowTaskQueueRequest:
        """The poller's request (rebuilt from the plain fields if it was not sent)."""
        if self.poll_request:
            return PollWorkflowTaskQueueRequest.FromString(self.poll_request)
        kind = (
            TaskQueueKind.TASK_QUEUE_KIND_STICKY
            if self.task_queue_kind == "sticky"
            else TaskQueueKind.TASK_QUEUE_KIND_NORMAL
        )
        return PollWorkflowTaskQueueRequest(
            identity=self.identity, task_queue=TaskQueue(name=self.task_queue, kind=kind)
        )


@dataclass(frozen=True)
class ActivityTaskStarted(JsonPayload):
    """Matching -> history: an activity attempt is handed to a worker.

    The payload of RecordActivityTaskStarted (a call: the worker gets the task only after
    history answered OK) and of the older fire-and-forget ActivityTaskStarted.

    Attributes:
        namespace: Namespace name.
        workflow_id: Workflow id of the activity.
        run_id: Run id of the activity.
        scheduled_event_id: Event id of the activity's ``ActivityTaskScheduled``.
        attempt: Attempt handed out.
        task_token: Token from the task record.
        request_id: Unique per dispatch.
        identity: The poller's identity.
        started_time_ms: When matching handed it out, epoch milliseconds.
        stamp: The task record's stamp (Temporal's RecordActivityTaskStartedRequest.stamp).
    """

    namespace: str
    workflow_id: str
    run_id: str
    scheduled_event_id: int
    attempt: int
    task_token: bytes
    request_id: str
    identity: str
    started_time_ms: int = 0
    stamp: int = 0

    @classmethod
    def for_task(
        cls, task: Mapping[str, Any], identity: str, request_id: str, now_ms: int
    ) -> ActivityTaskStarted:
        """The message for an activity task record handed to the poller `identity`."""
        return cls(
            namespace=task["namespace"],
            workflow_id=task["workflow_id"],
            run_id=task["run_id"],
            scheduled_event_id=int(task["scheduled_event_id"]),
            attempt=int(task["attempt"]),
            task_token=bytes(task["task_token"]),
            request_id=request_id,
            identity=identity,
            started_time_ms=now_ms,
            stamp=int(task.get("stamp", 0)),
        )


@dataclass(frozen=True)
class QueryWorkflow(JsonPayload):
    """Frontend -> history: a QueryWorkflow request (a read: it writes no event).

    History answers at once with where the query goes (the run's sticky and normal queues)
    or a rejection, or keeps it in memory until a workflow task answers it (Temporal's
    consistent query; see ``history_processor/queries.py``).

    Attributes:
        request: Serialized ``QueryWorkflowRequest``.
        deadline_ms: When the caller gives up, epoch milliseconds; a query still waiting in
            history then is answered DEADLINE_EXCEEDED and forgotten.
        sticky_failed: The sticky worker did not answer: clear the run's sticky queue (as
            Temporal's ResetStickyTaskQueue) and route to the normal queue.
    """

    request: bytes
    deadline_ms: int
    sticky_failed: bool = False

    def query_request(self) -> QueryWorkflowRequest:
        """The client's request."""
        return QueryWorkflowRequest.FromString(self.request)


@dataclass(frozen=True)
class GetQueryTask(JsonPayload):
    """Matching -> history: a poller took a query task of this run (Temporal's matching
    reads mutable state and history at this point).

    Attributes:
        namespace: Namespace name.
        workflow_id: Workflow id.
        run_id: Run id the query was routed for.
        task_queue: The poller's queue: the run's sticky queue gets no history (the worker
            has the run cached), any other queue the full history.
    """

    namespace: str
    workflow_id: str
    run_id: str
    task_queue: str


@dataclass(frozen=True)
class StickyWorkerUnavailable(JsonPayload):
    """Matching -> history: a sticky workflow task arrived for a queue nobody polls.

    Temporal's matching refuses such a task (StickyWorkerUnavailable) and history pushes it
    to the normal queue at once instead of letting it wait out its schedule-to-start timeout.
    Matching drops the sticky copy; history sends the task to the normal queue if it is
    still pending there (fire and forget, duplicates are harmless).

    Attributes:
        namespace: Namespace name.
        workflow_id: Workflow id of the task.
        run_id: Run id of the task.
        scheduled_event_id: Event id of the task's ``WorkflowTaskScheduled``.
        attempt: Attempt of the task.
        task_queue: The sticky queue without a worker.
    """

    namespace: str
    workflow_id: str
    run_id: str
    scheduled_event_id: int
    attempt: int
    task_queue: str


@dataclass(frozen=True)
class StartChildWorkflow(JsonPayload):
    """Parent shard -> child shard: start the child a StartChildWorkflowExecutionInitiated asks for.

    The child's shard starts the run (or finds the id taken) and reports back with
    ChildWorkflowStarted or StartChildWorkflowFailed. `request_id` is the start's dedupe key.

    Attributes:
        parent_namespace: The parent's namespace name.
        parent_namespace_id: The parent's namespace id.
        parent_workflow_id: The parent's workflow id.
        parent_run_id: The parent's run id.
        initiated_event_id: The parent's initiated event id.
        root_workflow_id: Workflow id of the root of the parent's tree.
        root_run_id: Run id of that root.
        request_id: Made from the parent run and the initiated event id.
        initiated: Serialized ``StartChildWorkflowExecutionInitiatedEventAttributes``.
        user_metadata: Serialized ``UserMetadata`` of the command, if any.
    """

    parent_namespace: str
    parent_namespace_id: str
    parent_workflow_id: str
    parent_run_id: str
    initiated_event_id: int
    root_workflow_id: str
    root_run_id: str
    request_id: str
    initiated: bytes
    user_metadata: bytes = b""


@dataclass(frozen=True)
class ChildReport(JsonPayload):
    """Child shard -> parent shard: what became of a child (kinds ChildWorkflowStarted,
    StartChildWorkflowFailed, ChildWorkflowClosed). The record's workflow id is the parent's.

    Attributes:
        parent_run_id: The parent run that initiated the child.
        initiated_event_id: The parent's initiated event id.
        child_workflow_id: The child's workflow id.
        child_run_id: The child's run id ("" when it did not start).
        failed_cause: StartChildWorkflowExecutionFailedCause (StartChildWorkflowFailed only).
        close_event: Serialized close ``HistoryEvent`` of the child (ChildWorkflowClosed only).
    """

    parent_run_id: str
    initiated_event_id: int
    child_workflow_id: str
    child_run_id: str = ""
    failed_cause: int = 0
    close_event: bytes = b""


@dataclass(frozen=True)
class ExternalRequest(JsonPayload):
    """Source shard -> target shard: signal (SignalExternalWorkflow) or cancel
    (CancelExternalWorkflow) a workflow; parent close policies send the cancel too.

    The target answers with a SignalExternalWorkflowResult / CancelExternalWorkflowResult
    when `initiated_event_id` is set. Signals are deduplicated by `request_id`.

    Attributes:
        source_namespace: The requester's namespace name.
        source_workflow_id: The requester's workflow id.
        source_run_id: The requester's run id.
        initiated_event_id: The requester's *Initiated event id (0: no answer wanted).
        run_id: The target run ("" for the current run).
        first_execution_run_id: The target's chain (parent close policies), or "".
        request_id: Made from the source run and the initiated event id.
        child_workflow_only: The target must be the requester's child.
        signal_name: The signal's name (signals only).
        input: Serialized ``Payloads`` of the signal, if any.
        header: Serialized ``Header`` of the signal, if any.
        control: The command's control string.
        reason: The cancel's reason (written as the cancel request's cause).
    """

    source_namespace: str
    source_workflow_id: str
    source_run_id: str
    initiated_event_id: int
    run_id: str = ""
    first_execution_run_id: str = ""
    request_id: str = ""
    child_workflow_only: bool = False
    signal_name: str = ""
    input: bytes = b""
    header: bytes = b""
    control: str = ""
    reason: str = ""


@dataclass(frozen=True)
class ExternalResult(JsonPayload):
    """Target shard -> source shard: how a signal or cancel request ended.

    Attributes:
        source_run_id: The requesting run.
        initiated_event_id: The requester's *Initiated event id.
        failed_cause: 0 on success, else the Signal/CancelExternalWorkflowExecutionFailedCause.
    """

    source_run_id: str
    initiated_event_id: int
    failed_cause: int = 0


@dataclass(frozen=True)
class UpdateWorkflow(JsonPayload):
    """Frontend -> history: an UpdateWorkflowExecution request.

    History admits the update into its in-memory registry (or joins the waiting caller to
    the update of the same id) and answers when the wait stage is reached, or at
    ``deadline_ms`` with the stage reached so far (`history_processor/wf_updates`).

    Attributes:
        request: Serialized ``UpdateWorkflowExecutionRequest`` (validated, defaults filled).
        deadline_ms: When the wait ends, epoch milliseconds.
    """

    request: bytes
    deadline_ms: int

    def update_request(self) -> UpdateWorkflowExecutionRequest:
        """The client's request."""
        return UpdateWorkflowExecutionRequest.FromString(self.request)


@dataclass(frozen=True)
class UpdateWithStart(JsonPayload):
    """Frontend -> history: update-with-start, the two operations of an ExecuteMultiOperation.

    Attributes:
        start: Serialized ``StartWorkflowExecutionRequest`` (validated, namespace set).
        update: Serialized ``UpdateWorkflowExecutionRequest`` (validated, defaults filled).
        deadline_ms: When the wait ends, epoch milliseconds.
        run_id: Set by history on the waiting copy of the command: the run its update was
            admitted to. Empty from the frontend.
        started: Set with ``run_id``: the command's own decision started that run.
    """

    start: bytes
    update: bytes
    deadline_ms: int
    run_id: str = ""
    started: bool = False

    def start_request(self) -> StartWorkflowExecutionRequest:
        """The start operation."""
        return StartWorkflowExecutionRequest.FromString(self.start)

    def update_request(self) -> UpdateWorkflowExecutionRequest:
        """The update operation."""
        return UpdateWorkflowExecutionRequest.FromString(self.update)


@dataclass(frozen=True)
class PollWorkflowUpdate(JsonPayload):
    """Frontend -> history: a PollWorkflowExecutionUpdate request (a read).

    Attributes:
        request: Serialized ``PollWorkflowExecutionUpdateRequest``.
        deadline_ms: When the wait ends, epoch milliseconds.
    """

    request: bytes
    deadline_ms: int

    def poll_request(self) -> PollWorkflowExecutionUpdateRequest:
        """The client's request."""
        return PollWorkflowExecutionUpdateRequest.FromString(self.request)


@dataclass(frozen=True)
class ReplicateEvents(JsonPayload):
    """Replicator -> history of a standby cluster: one EventBatch of the active cluster.

    History folds it into mutable state and indexes the run, without deciding anything
    (`history_processor/handlers/replicate_events.py` has the rules).

    Attributes:
        source_cluster: The active cluster the batch comes from.
        batch: The ``strom.v1.EventBatch`` record as the active cluster wrote it.
        transition: The run's state-transition count after the batch (the last part of the
            active cluster's batch key): batches of a run are numbered from 1 without gaps.
        failover_version: The active cluster's failover version of the batch (Temporal's
            event version): its events' version, or the namespace's for a batch without events.
    """

    source_cluster: str
    batch: bytes
    transition: int
    failover_version: int
