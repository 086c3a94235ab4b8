"""The decider's input and output: Command in, Decision out (events, outbox records, reply)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from temporalio.api.history.v1 import HistoryEvent

from schemas.outbox import Destination, OutboxRecord
from schemas.records import InboxCommandRecord, TaskRecord, VisibilityRecord
from schemas.reply import Reply

if TYPE_CHECKING:
    from history_processor.state import ExecutionState

# Reads committed events of the current run with first_event_id <= id < next_event_id, in order.
EventReader = Callable[[int, int], Sequence[HistoryEvent]]


def no_events(first_event_id: int, next_event_id: int) -> list[HistoryEvent]:
    """An EventReader for runs without committed events (tests, brand-new runs)."""
    return []


@dataclass(frozen=True)
class Command:
    """One inbox command, its payload already parsed (see `schemas.inbox.parse_payload`).

    Attributes:
        kind: Inbox kind, e.g. "StartWorkflowExecution", or "TimerFired" for a due timer.
        command_id: Unique id of the command (correlates the reply).
        namespace: Namespace name.
        namespace_id: Namespace id (the processor resolves it from the namespaces topic).
        workflow_id: Workflow id (the shard key).
        payload: The Temporal request proto, or an internal message of `schemas.inbox`.
    """

    kind: str
    command_id: str
    namespace: str
    namespace_id: str
    workflow_id: str
    payload: Any


@dataclass
class RunBatch:
    """The events and updates a decision wrote to a run it closed before starting the next one.

    Attributes:
        events: The closed run's new events, ids contiguous from its next_event_id.
        updates: Its state updates (see `Decision.updates`).
        state: The closed run as the batch leaves it (as `Decision.state`).
    """

    events: list[HistoryEvent]
    updates: list[tuple[str, bytes]]
    state: ExecutionState


@dataclass
class Decision:
    """Everything one command produces; committed atomically by the caller.

    Attributes:
        events: New history events of the run, ids contiguous from the state's next_event_id
            (from 1 for a new run).
        updates: (kind, payload) state updates that are not history events; fold them with
            the events through `fold.apply_batch`.
        outbox: Records for other topics, in the order they were added.
        reply: The reply; None only for a long-poll read with nothing new yet (the caller
            parks the command and decides it again after the run's next commit).
        state: The run as the decision leaves it: what `fold.apply_batch` makes of the
            run and `events` and `updates` (the state transition counted), or None when
            the decision changed nothing. Read-only for the caller, who may store it as is.
        closed_runs: Runs this decision closed before it started the run of `events`
            (continue-as-new, a workflow retry or cron run, a start that terminates the
            running run); committed before `events`, in order. Empty for most decisions.
        deleted_run: The run this decision deletes (DeleteWorkflowExecution), once its
            batches are committed; the processor removes its events, state and timers
            (`history_processor.deletion`), the outbox its visibility document.
        deferrable: Nobody waits for what it writes (a workflow task's start that matching
            has already answered): its transaction may wait for the next input that somebody
            does wait for (`streams.app.Context.defer_commit`).
    """

    events: list[HistoryEvent] = field(default_factory=list)
    updates: list[tuple[str, bytes]] = field(default_factory=list)
    outbox: list[OutboxRecord] = field(default_factory=list)
    reply: Reply | None = field(default_factory=Reply)
    state: ExecutionState | None = None
    closed_runs: list[RunBatch] = field(default_factory=list)
    deleted_run: ExecutionState | None = None
    deferrable: bool = False

    @property
    def tasks(self) -> list[TaskRecord]:
        """The TaskRecords of the outbox."""
        return [o.record for o in self.outbox if o.destination is Destination.TASKS]  # type: ignore[misc]

    @property
    def visibility(self) -> VisibilityRecord | None:
        """The last VisibilityRecord of the outbox (the run's newest visible state), if any."""
        records = [o.record for o in self.outbox if o.destination is Destination.VISIBILITY]
        return records[-1] if records else None  # type: ignore[return-value]

    @property
    def commands(self) -> list[InboxCommandRecord]:
        """The inbox commands of the outbox, for this or other shards."""
        return [o.record for o in self.outbox if o.destination is Destination.INBOX]  # type: ignore[misc]
