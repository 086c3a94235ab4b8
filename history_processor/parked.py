"""Parked reads: long polls of a history (GetWorkflowExecutionHistory with wait_new_event)
waiting in the history processor for the workflow's next events, by partition and workflow.

They live only in memory: a parked read lost with its process is sent again by the frontend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from temporalio.api.enums.v1 import HistoryEventFilterType
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest

from history_processor.model import Command
from history_processor.state import ExecutionState

#: A parked long-poll read is answered empty after this long; the frontend then asks again.
PARK_TIMEOUT_MS = 5_000

_CLOSE_EVENT = HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT


@dataclass(frozen=True)
class HistoryWatch:
    """What must change in a run before a long poll of its history that found nothing new
    can be answered (`reads.get_workflow_execution_history` decides it again only then):
    the run's id, whether it runs, or, unless the poll waits for the close event only, its
    next event id.

    Attributes:
        run_id: The run the poll found.
        running: Whether it was running.
        next_event_id: Its next event id; 0 for a poll of the close event only.
    """

    run_id: str
    running: bool
    next_event_id: int

    @classmethod
    def of(cls, command: Command, state: ExecutionState | None) -> HistoryWatch | None:
        """The watch of a history long poll parked on `state`; None for any other read,
        which is decided again after every commit of its workflow."""
        request = command.payload
        if state is None or not isinstance(request, GetWorkflowExecutionHistoryRequest):
            return None
        close_only = request.history_event_filter_type == _CLOSE_EVENT
        return cls(state.run_id, state.is_running, 0 if close_only else state.next_event_id)

    def unchanged(self, run: ExecutionState | None) -> bool:
        """True when `run` (the workflow's current run) still gives the poll nothing new."""
        if run is None or run.run_id != self.run_id or run.is_running != self.running:
            return False
        return self.next_event_id == 0 or run.next_event_id == self.next_event_id


@dataclass
class Parked:
    """A read waiting for new events.

    Attributes:
        command: The read, decided again when the workflow changes.
        reply_to: Where its reply goes.
        expires_at_ms: When it is answered as it stands.
        watch: What of the run it waits on (None: decide it again after every commit).
    """

    command: Command
    reply_to: dict[str, Any] | None
    expires_at_ms: int
    watch: HistoryWatch | None = None


class ParkedReads:
    """The parked reads of each partition, by workflow and command id."""

    def __init__(self) -> None:
        self._parked: dict[int, dict[tuple[str, str], dict[str, Parked]]] = {}

    def park(
        self,
        partition: int,
        command: Command,
        reply_to: dict[str, Any] | None,
        now_ms: int,
        watch: HistoryWatch | None = None,
    ) -> None:
        """Parks a read until the workflow changes as `watch` says or PARK_TIMEOUT_MS passes."""
        workflows = self._parked.setdefault(partition, {})
        on_workflow = workflows.setdefault((command.namespace, command.workflow_id), {})
        on_workflow[command.command_id] = Parked(command, reply_to, now_ms + PARK_TIMEOUT_MS, watch)

    def take(
        self,
        partition: int,
        namespace: str,
        workflow_id: str,
        current: Callable[[], ExecutionState | None],
    ) -> list[Parked]:
        """Removes and returns the reads parked on a workflow that just changed, except those
        whose watch says the change gives them nothing new (they stay parked).

        `current` loads the workflow's current run; it is called only if a watch needs it.
        """
        workflows = self._parked.get(partition, {})
        key = (namespace, workflow_id)
        on_workflow = workflows.get(key)
        if not on_workflow:
            return []
        watched = any(p.watch is not None for p in on_workflow.values())
        run = current() if watched else None
        woken = [p for p in on_workflow.values() if p.watch is None or not p.watch.unchanged(run)]
        for entry in woken:
            del on_workflow[entry.command.command_id]
        if not on_workflow:
            del workflows[key]
        return woken

    def expired(self, partition: int, now_ms: int) -> list[Parked]:
        """Removes and returns the partition's reads whose time is up."""
        workflows = self._parked.get(partition, {})
        done: list[Parked] = []
        for key in list(workflows):
            on_workflow = workflows[key]
            due = [p for p in on_workflow.values() if p.expires_at_ms <= now_ms]
            for entry in due:
                del on_workflow[entry.command.command_id]
            if not on_workflow:
                del workflows[key]
            done += due
        return done

    def pop(self, partition: int) -> list[Parked]:
        """Removes and returns every read parked on a partition."""
        workflows = self._parked.pop(partition, {})
        return [entry for on_workflow in workflows.values() for entry in on_workflow.values()]

    def forget(self, owned: set[int]) -> None:
        """Drops the reads of partitions no longer owned (their callers ask again)."""
        for partition in list(self._parked):
            if partition not in owned:
                del self._parked[partition]
