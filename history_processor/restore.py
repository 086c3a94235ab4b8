"""The fold of an EventBatch record read back from the changelog (a restore or a rebuild).

The live processor folds each batch as it decides it and stores that fold; a restore has
only the record, and folds it onto the run the store holds so far.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.api.history.v1 import History, HistoryEvent

import schemas
from history_processor import deletion, store
from history_processor.fold import apply_batch
from history_processor.state import ExecutionState
from streams import StateTransaction


@dataclass
class Restored:
    """A changelog record folded onto the stored run.

    Attributes:
        before: The workflow's stored current run before the batch (another run's state
            when the batch begins a new run).
        run: The run after the batch.
        events: The batch's events.
    """

    before: ExecutionState | None
    run: ExecutionState
    events: list[HistoryEvent]


def fold_record(state: StateTransaction, value: bytes) -> Restored | None:
    """Folds one EventBatch record onto the run it belongs to.

    Returns:
        The fold, or None when there is nothing to store: a delete marker (the run is
        removed from the store here) or a later batch of a deleted run whose first batches
        compaction already removed (its marker or tombstones follow).
    """
    batch = schemas.decode(value, schemas.EVENT_BATCH)
    namespace, workflow_id = batch["namespace"], batch["workflow_id"]
    if deletion.is_marker(batch["updates"]):
        store.delete_run(state, namespace, workflow_id, batch["run_id"])
        return None
    before = store.load_state(state, namespace, workflow_id)
    events = list(History.FromString(batch["events"]).events)
    updates = [(u["kind"], u["payload"]) for u in batch["updates"]]
    current = before.copy() if before else None
    if current is not None and current.run_id != batch["run_id"]:
        current = None  # the batch starts a new run of this workflow id
    if current is None and not (events and events[0].event_id == 1):
        return None
    run = apply_batch(current, events, updates)
    return Restored(before, run, events) if run is not None else None
