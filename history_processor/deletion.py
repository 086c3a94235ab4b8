"""The changelog and visibility records of a deleted run (DeleteWorkflowExecution).

A delete is written to the compacted events topic as two things, in one transaction:
1. A delete marker: an EventBatch without events whose only update is `RUN_DELETED`, keyed
   as the run's next batch. Folding it (live or on restore) removes the run's state, events
   and timers from RocksDB, so a restore that still reads the run's batches drops them again
   at the marker and never resurrects the run.
2. A tombstone for every batch key of the run, the marker's included, so that compaction
   removes the run's records from Kafka too. Once compacted, a restore sees no batch of the
   run at all; tombstones themselves fold to nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from history_processor.changelog import batch_key, event_batch
from history_processor.outbox import visibility_record
from history_processor.state import ExecutionState
from schemas.records import RUN_DELETED, VisibilityRecord


def marker(command_id: str, run: ExecutionState) -> tuple[bytes, bytes]:
    """The key and value of the delete marker of `run` (its state as its last batch left it).

    The key is the one the run's next batch would have had, so it collides with no batch.
    """
    following = run.copy()
    following.state_transition_count += 1
    return event_batch(
        run.namespace,
        run.workflow_id,
        command_id,
        following,
        [],
        [(RUN_DELETED, b"{}")],
    )


def batch_keys(run: ExecutionState) -> list[bytes]:
    """The key of every batch of `run` and of its delete marker (they count up from 1)."""
    return [
        batch_key(run.namespace, run.workflow_id, run.run_id, n)
        for n in range(1, run.state_transition_count + 2)
    ]


def is_marker(updates: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a decoded EventBatch's updates make it a delete marker."""
    return any(u["kind"] == RUN_DELETED for u in updates)


def deleted_visibility(run: ExecutionState) -> VisibilityRecord:
    """The visibility record that deletes the run's document (a version above its last)."""
    record = visibility_record(run)
    record["deleted"] = True
    record["version"] = run.next_event_id + 1
    return record
