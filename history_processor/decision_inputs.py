"""What a history decision reads from its shard's store, and the id it gives new runs.

The processor hands these to `decide`: readers of the run's events and of the workflow's
older runs, bound to the open state transaction, so the decider stays a pure function of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from temporalio.api.history.v1 import HistoryEvent

from history_processor import store
from history_processor.model import Command
from history_processor.older_runs import OlderRuns
from history_processor.state import ExecutionState
from schemas.ids import uuid7
from streams import StateTransaction


@dataclass(frozen=True)
class TimerInput:
    """A due timer as a dead letter's input: no source topic, so it is never replayed."""

    timer_key: bytes
    deadline: bytes

    def topic(self) -> str:
        return ""

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return 0

    def key(self) -> bytes:
        return self.timer_key

    def value(self) -> bytes:
        return self.deadline


def older_runs(state: StateTransaction, command: Command) -> OlderRuns:
    """The command's workflow's kept runs, read from `state`."""

    def run(run_id: str) -> ExecutionState | None:
        return store.load_run(state, command.namespace, command.workflow_id, run_id)

    def events(run_id: str, first: int, until: int) -> list[HistoryEvent]:
        return store.read_events(
            state, command.namespace, command.workflow_id, run_id, first, until
        )

    return OlderRuns(run, events)


def new_id() -> str:
    """A new run id (UUIDv7, as Temporal's)."""
    return str(uuid7())


def event_reader(
    state: StateTransaction, run: ExecutionState | None
) -> Callable[[int, int], list[HistoryEvent]]:
    """Reads `run`'s events [first, until) from `state` (none for no run)."""

    def read(first: int, until: int) -> list[HistoryEvent]:
        if run is None:
            return []
        return store.read_events(state, run.namespace, run.workflow_id, run.run_id, first, until)

    return read
