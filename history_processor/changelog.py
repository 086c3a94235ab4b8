"""The changelog record of one decision: an EventBatch keyed by run and state transition."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.api.history.v1 import History, HistoryEvent

import schemas
from history_processor.state import ExecutionState


def event_batch(
    namespace: str,
    workflow_id: str,
    command_id: str,
    run: ExecutionState,
    events: Sequence[HistoryEvent],
    updates: Sequence[tuple[str, bytes]],
) -> tuple[bytes, bytes]:
    """The key and encoded EventBatch of a decision whose fold is `run`.

    The key names the run and its state-transition count, so that every batch of the events
    topic has a key of its own (the topic is compacted; no batch may replace another).
    """
    batch = {
        "namespace": namespace,
        "workflow_id": workflow_id,
        "run_id": run.run_id,
        "first_event_id": events[0].event_id if events else 0,
        "last_event_id": events[-1].event_id if events else 0,
        "events": History(events=list(events)).SerializeToString(),
        "updates": [{"kind": kind, "payload": payload} for kind, payload in updates],
        "command_id": command_id,
    }
    key = batch_key(namespace, workflow_id, run.run_id, run.state_transition_count)
    return key, schemas.encode(schemas.EVENT_BATCH, batch)


def batch_key(namespace: str, workflow_id: str, run_id: str, transition: int) -> bytes:
    """The events-topic key of a run's batch that left it at state transition `transition`."""
    return f"{namespace}/{workflow_id}/{run_id}/{transition}".encode()
