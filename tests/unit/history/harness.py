"""An in-memory stand-in for the history processor's glue: decide, fold, store events."""

from __future__ import annotations

import itertools
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.duration_pb2 import Duration
from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.command.v1 import ScheduleActivityTaskCommandAttributes
from temporalio.api.common.v1 import (
    ActivityType,
    Payload,
    Payloads,
    WorkerVersionCapabilities,
    WorkerVersionStamp,
    WorkflowType,
)
from temporalio.api.enums.v1 import CommandType, EventType, TaskQueueKind
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.api.taskqueue.v1 import StickyExecutionAttributes, TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    RespondActivityTaskCompletedRequest,
    RespondActivityTaskFailedRequest,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskCompletedResponse,
    StartWorkflowExecutionRequest,
)

from history_processor.deadlines import Deadline, deadlines
from history_processor.decide import decide
from history_processor.fold import apply_batch
from history_processor.model import Command, Decision
from history_processor.older_runs import OlderRuns
from history_processor.pending_limits import PendingLimits
from history_processor.state import ExecutionState
from schemas import tokens
from schemas.inbox import ActivityTaskStarted, RecordWorkflowTaskStarted
from schemas.reply import Reply
from schemas.visibility.attributes import ValueType

NAMESPACE = "default"
NAMESPACE_ID = "ns-0001"
START_MS = 1_700_000_000_000


def record_started(
    task: dict[str, Any],
    poll: PollWorkflowTaskQueueRequest,
    request_id: str,
    started_time_ms: int = 0,
) -> RecordWorkflowTaskStarted:
    """The RecordWorkflowTaskStarted matching sends for `task` handed to `poll` (optimistic,
    from the task's template, when `started_time_ms` is given)."""
    shown = 0
    if started_time_ms and task["payload"]:
        shown = PollWorkflowTaskQueueResponse.FromString(task["payload"]).started_event_id
    return RecordWorkflowTaskStarted.for_task(
        task, poll, request_id, started_time_ms, started_event_id=shown
    )


@dataclass
class Glue:
    """Runs commands for one workflow id like the Kafka glue would, minus Kafka.

    Every decision is folded with `apply_batch`; the state is round-tripped through bytes
    after each one, and `restore()` rebuilds it from all batches to check that state is a
    fold of the events (docs/ARCHITECTURE.md, invariant 2).
    """

    workflow_id: str = "wf-1"
    identity: str = "worker-1"
    build_id: str = ""
    now_ms: int = START_MS
    state: ExecutionState | None = None
    events: list[HistoryEvent] = field(default_factory=list)
    batches: list[tuple[list[HistoryEvent], list[tuple[str, bytes]]]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    # Activity tasks handed out eagerly in RespondWorkflowTaskCompleted replies, shaped like
    # task records.
    eager: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    # Buffered queries by id, as the processor hands them to every decision (queries.py).
    queries: dict[str, Any] = field(default_factory=dict)
    # The namespace's custom search attributes, as the processor reads them from its registry.
    search_attributes: dict[str, ValueType] = field(default_factory=dict)
    # Events of the runs the workflow id had before the current one, by run id.
    older_runs: dict[str, list[HistoryEvent]] = field(default_factory=dict)
    # Their last states, as the shard keeps them (`store.load_run`).
    older_states: dict[str, ExecutionState] = field(default_factory=dict)
    # Admitted workflow updates by id, as the processor hands them to every decision.
    updates: dict[str, Any] = field(default_factory=dict)
    # The operator's caps on pending work, as the processor hands them to every decision.
    pending_limits: PendingLimits = field(default_factory=PendingLimits)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def new_id(self) -> str:
        return f"run-{next(self._ids):04d}"

    def read_events(self, first: int, next_id: int) -> list[HistoryEvent]:
        return [e for e in self.events if first <= e.event_id < next_id]

    def _read_older_events(self, run_id: str, first: int, next_id: int) -> list[HistoryEvent]:
        return [e for e in self.older_runs.get(run_id, []) if first <= e.event_id < next_id]

    def submit(self, kind: str, payload: Any, advance_ms: int = 5) -> Decision:
        self.now_ms += advance_ms
        command = Command(
            kind, f"cmd-{len(self.decisions)}", NAMESPACE, NAMESPACE_ID, self.workflow_id, payload
        )
        before = self.state.to_bytes() if self.state is not None else None
        decision = decide(
            self.state,
            command,
            self.now_ms,
            self.new_id,
            self.read_events,
            queries=self.queries,
            search_attributes=self.search_attributes,
            updates=self.updates,
            pending_limits=self.pending_limits,
            older_runs=OlderRuns(self.older_states.get, self._read_older_events),
        )
        # decide must not touch its input.
        assert (self.state.to_bytes() if self.state is not None else None) == before
        previous_run = self.state.run_id if self.state is not None else None
        state = ExecutionState.from_bytes(before) if before is not None else None
        last_state = state
        for closed in decision.closed_runs:
            # A run closed by the decision before it started the next (continue-as-new...).
            state = last_state = apply_batch(state, closed.events, closed.updates)
            _same_fold(closed.state, state)
            self.events.extend(closed.events)
            self.batches.append((list(closed.events), list(closed.updates)))
        state = apply_batch(state, decision.events, decision.updates)
        if decision.events or decision.updates:
            _same_fold(decision.state, state)
        if state is not None and state.run_id != previous_run:
            if previous_run is not None:
                self.older_runs[previous_run] = self.events
                assert last_state is not None
                self.older_states[previous_run] = last_state
            self.events = []
            self.batches = []
        self.events.extend(decision.events)
        if decision.events or decision.updates:
            self.batches.append((list(decision.events), list(decision.updates)))
        self.state = ExecutionState.from_bytes(state.to_bytes()) if state is not None else None
        self.tasks.extend(decision.tasks)
        self._record_eager(kind, decision)
        self.decisions.append(decision)
        return decision

    def _record_eager(self, kind: str, decision: Decision) -> None:
        reply = decision.reply
        if kind != "RespondWorkflowTaskCompleted" or reply is None or not reply.ok:
            return
        completed = RespondWorkflowTaskCompletedResponse.FromString(reply.payload)
        for response in completed.activity_tasks:
            self.eager.append(
                {
                    "task_kind": "activity",
                    "run_id": response.workflow_execution.run_id,
                    "scheduled_event_id": tokens.decode(response.task_token).scheduled_event_id,
                    "attempt": response.attempt,
                    "task_token": response.task_token,
                    "payload": response.SerializeToString(),
                }
            )

    def restore(self) -> ExecutionState | None:
        state: ExecutionState | None = None
        for events, updates in self.batches:
            state = apply_batch(state, events, updates)
        return state

    def history(self) -> History:
        return History(events=self.events)

    def history_json(self) -> str:
        return json_format.MessageToJson(self.history())

    # --- shortcuts for the common commands -------------------------------------------------

    def start(
        self, workflow_type: str = "OneActivityWorkflow", request_id: str = "req-1", **kw: Any
    ) -> Decision:
        fields: dict[str, Any] = {"input": Payloads(), "identity": "tester", **kw}
        request = StartWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_id=self.workflow_id,
            workflow_type=WorkflowType(name=workflow_type),
            task_queue=TaskQueue(name="golden", kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            request_id=request_id,
            **fields,
        )
        return self.submit("StartWorkflowExecution", request)

    def last_task(self, kind: str, scheduled_event_id: int | None = None) -> dict[str, Any]:
        for task in reversed(self.tasks):
            if task["task_kind"] == kind and scheduled_event_id in (
                None,
                task["scheduled_event_id"],
            ):
                return task
        raise AssertionError(f"no {kind} task for {scheduled_event_id}")

    def activity_task(self, scheduled_event_id: int) -> dict[str, Any]:
        """The latest attempt's task of an activity, from matching's records or eager replies."""
        found = [
            task
            for task in self.tasks + self.eager
            if task["task_kind"] == "activity" and task["scheduled_event_id"] == scheduled_event_id
        ]
        if not found:
            raise AssertionError(f"no activity task for {scheduled_event_id}")
        return max(found, key=lambda task: int(task["attempt"]))

    def poll_workflow_task(self, request_id: str = "poll-1") -> Decision:
        task = self.last_task("workflow")
        sticky = task["task_queue_kind"] == "sticky"
        poll = PollWorkflowTaskQueueRequest(
            namespace=NAMESPACE,
            identity=self.identity,
            worker_version_capabilities=WorkerVersionCapabilities(build_id=self.build_id),
            task_queue=TaskQueue(
                name=task["task_queue"],
                kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY
                if sticky
                else TaskQueueKind.TASK_QUEUE_KIND_NORMAL,
            ),
        )
        message = record_started(task, poll, request_id)
        return self.submit("RecordWorkflowTaskStarted", message)

    def complete_workflow_task(
        self, response: PollWorkflowTaskQueueResponse, *commands: Any, **kw: Any
    ) -> Decision:
        request = RespondWorkflowTaskCompletedRequest(
            task_token=response.task_token, commands=list(commands), identity=self.identity, **kw
        )
        return self.submit("RespondWorkflowTaskCompleted", request)

    def _stamp(self) -> WorkerVersionStamp | None:
        return WorkerVersionStamp(build_id=self.build_id) if self.build_id else None

    def start_activity(self, scheduled_event_id: int) -> Decision:
        task = self.last_task("activity", scheduled_event_id)
        request_id = f"act-{scheduled_event_id}-{task['attempt']}"
        message = ActivityTaskStarted.for_task(task, self.identity, request_id, 0)
        return self.submit("ActivityTaskStarted", message)

    def complete_activity(
        self, scheduled_event_id: int, result: Payloads | None = None
    ) -> Decision:
        task = self.activity_task(scheduled_event_id)
        request = RespondActivityTaskCompletedRequest(
            task_token=task["task_token"],
            result=result,
            identity=self.identity,
            worker_version=self._stamp(),
        )
        return self.submit("RespondActivityTaskCompleted", request)

    def fail_activity(self, scheduled_event_id: int, failure: Any) -> Decision:
        task = self.activity_task(scheduled_event_id)
        request = RespondActivityTaskFailedRequest(
            task_token=task["task_token"],
            failure=failure,
            identity=self.identity,
            worker_version=self._stamp(),
        )
        return self.submit("RespondActivityTaskFailed", request)

    def deadline(self, kind: str) -> Deadline:
        found = [d for d in deadlines(self.state) if d.kind == kind]
        assert found, f"no {kind} deadline in {deadlines(self.state)}"
        return found[0]

    def fire(self, kind: str) -> Decision:
        deadline = self.deadline(kind)
        self.now_ms = max(self.now_ms, deadline.fire_at_ms)
        return self.submit("TimerFired", deadline, advance_ms=0)


def schedule_activity(
    activity_id: str = "1",
    activity_type: str = "greet",
    start_to_close_ms: int = 10_000,
    **kw: Any,
) -> WorkflowCommand:
    """A ScheduleActivityTask command as the SDK sends it."""
    attrs = ScheduleActivityTaskCommandAttributes(
        activity_id=activity_id,
        activity_type=ActivityType(name=activity_type),
        task_queue=TaskQueue(name="golden", kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
        **kw,
    )
    attrs.start_to_close_timeout.FromMilliseconds(start_to_close_ms)
    return WorkflowCommand(
        command_type=CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
        schedule_activity_task_command_attributes=attrs,
    )


def complete_workflow(result: Payloads | None = None) -> WorkflowCommand:
    """A CompleteWorkflowExecution command."""
    command = WorkflowCommand(command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION)
    command.complete_workflow_execution_command_attributes.SetInParent()
    if result is not None:
        command.complete_workflow_execution_command_attributes.result.CopyFrom(result)
    return command


def fail_workflow(message: str = "boom") -> WorkflowCommand:
    """A FailWorkflowExecution command."""
    command = WorkflowCommand(command_type=CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION)
    command.fail_workflow_execution_command_attributes.failure.message = message
    return command


def app_failure(
    message: str = "oops", error_type: str = "Oops", non_retryable: bool = False
) -> Failure:
    """An ApplicationFailure as an SDK reports it."""
    failure = Failure(message=message)
    failure.application_failure_info.type = error_type
    failure.application_failure_info.non_retryable = non_retryable
    return failure


def sticky(name: str = "worker-1-sticky", timeout_ms: int = 10_000) -> StickyExecutionAttributes:
    """Sticky attributes of a worker's completion."""
    attrs = StickyExecutionAttributes(
        worker_task_queue=TaskQueue(
            name=name, kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY, normal_name="golden"
        )
    )
    attrs.schedule_to_start_timeout.FromMilliseconds(timeout_ms)
    return attrs


def types(decision_or_events: Any) -> list[str]:
    """Event type names (without prefix) of a decision or an event list."""
    events = getattr(decision_or_events, "events", decision_or_events)
    return [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in events]


def first_task(glue: Glue) -> PollWorkflowTaskQueueResponse:
    """Starts the workflow and its first workflow task; returns the poll response."""
    glue.start()
    return ok_payload(glue.poll_workflow_task(), PollWorkflowTaskQueueResponse)


def with_activity(glue: Glue, **kw: Any) -> int:
    """Runs the first workflow task scheduling one activity; returns its scheduled event id."""
    poll = first_task(glue)
    decision = glue.complete_workflow_task(
        poll, schedule_activity(**kw), sticky_attributes=sticky()
    )
    assert decision.reply is not None and decision.reply.ok, decision.reply
    return 5


P = TypeVar("P")


def ok_payload(decision: Decision | Reply | None, tp: type[P]) -> P:
    """The successful reply's payload, checked to be a `tp`."""
    reply = decision.reply if isinstance(decision, Decision) else decision
    assert reply is not None and reply.ok, reply
    return tp.FromString(reply.payload)


def payloads(*items: bytes) -> Payloads:
    """A Payloads of raw data items."""
    return Payloads(payloads=[Payload(data=item) for item in items])


def seconds(value: int) -> Duration:
    """A Duration of whole seconds."""
    duration = Duration()
    duration.FromSeconds(value)
    return duration


SERVER_SPECIFIC = frozenset(
    {"originalExecutionRunId", "firstExecutionRunId", "requestId", "historySizeBytes"}
)
"""Event attributes that legitimately differ between two servers running the same workflow."""

RUN_SPECIFIC = SERVER_SPECIFIC | {
    "continuedExecutionRunId",
    "newExecutionRunId",
    "identity",
    "prevAutoResetPoints",
    "workerVersion",
    "sdkMetadata",
    "meteringMetadata",
}
"""... and between runs the harness drives and runs a real worker drove: the runs they link
to, and who ran them."""


def comparable(event: HistoryEvent, ignored: Collection[str] = SERVER_SPECIFIC) -> dict[str, Any]:
    """The event as JSON without its time, task id and `ignored` attributes.

    Two servers running the same workflow must agree on it (golden histories).
    """
    data = json_format.MessageToDict(event)
    for key in ("eventTime", "taskId"):
        data.pop(key, None)
    for key, value in data.items():
        if key.endswith("Attributes"):
            data[key] = {k: v for k, v in value.items() if k not in ignored}
    return data


def _same_fold(decided: ExecutionState | None, restored: ExecutionState | None) -> None:
    """The history processor stores the decider's state as is: it must be exactly what a
    restore folds from the committed batch (invariant 2)."""
    assert decided is not None and restored is not None
    assert decided.to_bytes() == restored.to_bytes()
