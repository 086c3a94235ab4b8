"""Read access to the workflow id's runs other than the current one, for the decisions that
act on one (reset of an older run, delete by run id)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from temporalio.api.history.v1 import HistoryEvent

from history_processor.state import ExecutionState


def _no_run(run_id: str) -> ExecutionState | None:
    return None


def _no_events(run_id: str, first: int, until: int) -> Sequence[HistoryEvent]:
    return []


@dataclass(frozen=True)
class OlderRuns:
    """Readers of the shard's kept runs of the command's workflow id.

    Attributes:
        state: The kept state of a run by its run id (None if not kept); must not be mutated.
        read_events: `read_events(run_id, first, until)`: the run's committed events with
            first <= event_id < until, in order.
    """

    state: Callable[[str], ExecutionState | None] = _no_run
    read_events: Callable[[str, int, int], Sequence[HistoryEvent]] = _no_events
