"""DecisionBuilder: collects a decision's events, updates and outbox records while folding them.

Every event and update goes through the fold as soon as it is emitted, so handlers always
read a state that is exactly what a restore will rebuild (docs/ARCHITECTURE.md, invariant 2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from google.protobuf.message import Message
from temporalio.api.common.v1 import Link
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from history_processor import events as ev
from history_processor import fold
from history_processor import updates as upd
from history_processor.handling import Env
from history_processor.model import Decision, RunBatch
from history_processor.state import ExecutionState
from schemas.outbox import Destination, OutboxRecord
from schemas.records import InboxCommandRecord, TaskRecord, VisibilityRecord
from schemas.reply import Reply

# Temporal flushes buffered events with completions last (historybuilder reorderBuffer).
_COMPLETIONS = (
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
)


class DecisionBuilder:
    """Accumulates one decision over a private copy of the state.

    Attributes:
        now_ms: The decision's clock reading.
        state: The working state (the input folded with everything emitted so far).
        env: The handler's environment, for decisions that may start the workflow id's next
            run (new run ids, the closing run's start event); None where none can.
    """

    def __init__(self, state: ExecutionState | None, now_ms: int, env: Env | None = None) -> None:
        self.now_ms = now_ms
        self.env = env
        self.state: ExecutionState | None = state.copy() if state is not None else None
        self._events: list[HistoryEvent] = []
        self._updates: list[tuple[str, bytes]] = []
        self._outbox: list[OutboxRecord] = []
        self._closed: list[RunBatch] = []
        self._next_run: Callable[[DecisionBuilder], None] | None = None
        self._deleted = False

    @property
    def run(self) -> ExecutionState:
        """The working state; only for handlers that checked there is a run."""
        assert self.state is not None, "no run"
        return self.state

    @property
    def events(self) -> list[HistoryEvent]:
        """Events emitted so far (with ids)."""
        return list(self._events)

    @property
    def next_event_id(self) -> int:
        """Id the next event will get."""
        return self.state.next_event_id if self.state is not None else 1

    def add_event(
        self, event_type: EventType.ValueType, attrs: Message, time_ms: int | None = None
    ) -> HistoryEvent:
        """Appends an event to history (id assigned here) and folds it."""
        event = ev.new_event(event_type, self.now_ms if time_ms is None else time_ms, attrs)
        self.append(event)
        return event

    def append(self, event: HistoryEvent) -> None:
        """Appends a prepared event (its id is assigned here) and folds it."""
        is_start = event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
        event.event_id = 1 if is_start else self.next_event_id
        self.state = fold.apply_event(self.state, event)
        self._events.append(event)

    def add_update(self, data: Any) -> None:
        """Records a state update (an `updates` payload dataclass) and folds it."""
        kind, payload = upd.encode_update(data, at=self.next_event_id)
        self.state = fold.apply_update(self.state, kind, payload)
        self._updates.append((kind, payload))

    def add_or_buffer(
        self,
        event_type: EventType.ValueType,
        attrs: Message,
        time_ms: int | None = None,
        links: Sequence[Link] = (),
    ) -> None:
        """Adds an event, or buffers it while a workflow task is started (Temporal's rule)."""
        event = ev.new_event(event_type, self.now_ms if time_ms is None else time_ms, attrs)
        event.links.extend(links)
        task = self.run.workflow_task
        if task is not None and task.is_started:
            self.add_update(upd.BufferEvent(event=event.SerializeToString()))
        else:
            self.append(event)

    def flush_buffer(self) -> None:
        """Writes buffered events to history: completions last, started ids wired."""
        if not self.run.buffered_events:
            return
        buffered = [HistoryEvent.FromString(raw) for raw in self.run.buffered_events]
        ordered = [e for e in buffered if e.event_type not in _COMPLETIONS]
        ordered += [e for e in buffered if e.event_type in _COMPLETIONS]
        started_ids: dict[int, int] = {}
        child_started_ids: dict[int, int] = {}
        for event in ordered:
            attrs = ev.attributes(event)
            scheduled = int(getattr(attrs, "scheduled_event_id", 0))
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                started_ids[scheduled] = self.next_event_id
            elif event.event_type in _COMPLETIONS and scheduled in started_ids:
                attrs.started_event_id = started_ids[scheduled]  # type: ignore[attr-defined]
            # A child's start and close buffered together: the close names the start's new id.
            initiated = int(getattr(attrs, "initiated_event_id", 0))
            if event.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
                child_started_ids[initiated] = self.next_event_id
            elif event.event_type in _COMPLETIONS and initiated in child_started_ids:
                attrs.started_event_id = child_started_ids[initiated]  # type: ignore[attr-defined]
            self.append(event)
        self.add_update(upd.BufferFlushed())

    def add_task(self, record: TaskRecord) -> None:
        """Adds a TaskRecord for matching to the outbox."""
        self._outbox.append(OutboxRecord(Destination.TASKS, record))

    def set_visibility(self, record: VisibilityRecord) -> None:
        """Makes `record` the decision's VisibilityRecord of its run (replacing an earlier one
        of the same run; a closed run and the next one both keep theirs)."""
        run_id = record["run_id"]
        self._outbox = [
            o
            for o in self._outbox
            if o.destination is not Destination.VISIBILITY or o.record.get("run_id") != run_id
        ]
        self._outbox.append(OutboxRecord(Destination.VISIBILITY, record))

    def begin_next_run(self) -> None:
        """Sets the closed run's events aside (`Decision.closed_runs`): what is emitted next
        belongs to the workflow id's next run, which must begin with WorkflowExecutionStarted.
        """
        assert self.state is not None and not self.state.is_running, "the run is not closed"
        self._count_transition()
        self._closed.append(RunBatch(self._events, self._updates, self.state))
        self._events, self._updates = [], []
        self.state = None

    def _count_transition(self) -> None:
        """Counts the batch of the working run as `fold.apply_batch` does, so the state a
        decision hands out is exactly the fold of its batch (the processor stores it as is)."""
        if self.state is not None and (self._events or self._updates):
            self.state.state_transition_count += 1

    def continue_with(self, start: Callable[[DecisionBuilder], None]) -> None:
        """Has `start` write the next run once the handler is done with the closing one.

        Continue-as-new, retries and cron close the run from a command or a timeout, but
        the handler that runs them still finishes its work on the closed run (visibility,
        replies); `finish` then calls `begin_next_run` and `start(self)`.
        """
        self._next_run = start

    def delete_run(self) -> None:
        """Deletes the (closed) run once the decision is committed (`Decision.deleted_run`)."""
        assert self.state is not None and not self.state.is_running, "the run is not closed"
        self._deleted = True

    def send_command(self, record: InboxCommandRecord) -> None:
        """Adds an inbox command for the shard of `record`'s workflow (this one or another)."""
        self._outbox.append(OutboxRecord(Destination.INBOX, record))

    def finish(self, reply: Reply | None) -> Decision:
        """The decision accumulated so far, with `reply`; the builder must not be used after."""
        if self._next_run is not None:
            start, self._next_run = self._next_run, None
            self.begin_next_run()
            start(self)
        changed = bool(self._events or self._updates or self._closed)
        self._count_transition()
        return Decision(
            events=list(self._events),
            updates=list(self._updates),
            outbox=list(self._outbox),
            reply=reply,
            state=self.state if changed else None,
            closed_runs=list(self._closed),
            deleted_run=self.state if self._deleted else None,
        )
