"""ReplicateEvents: a standby cluster folds one event batch of the active cluster, deciding nothing.

The batch becomes this cluster's batch verbatim (same events, ids, versions, state updates and
state-transition number), so the standby's history equals the active one's event for event,
and the run's visibility document is indexed here too. A run the active cluster deleted (its
delete marker) is deleted here as well (`deletion`). Nothing else leaves: no workflow or
activity task, no command to another workflow, no reply to a caller; the processor does not
fire the timers of a standby namespace. Rules, as Temporal's standby history applies them:

- A batch already folded (its transition is not above the run's) is a duplicate: ignored, so
  a replicator that sends a batch again after a crash changes nothing, and a cluster's own
  batches coming back from a cluster that folded them (every cluster replicates from every
  other) change nothing either. A batch of state updates only of a run that is no longer
  the current one is such an echo too, and so is the start of a run older than the current
  one (the replicator reads a source partition again to fill a gap).
- A batch must continue the run without a gap (transition = the run's + 1) or start a new
  run of the workflow id (transition 1, first event WorkflowExecutionStarted).
- A batch whose failover version is older than the local state's (the version of the last
  event of the workflow id's current run) is refused: it was written by a cluster that was
  no longer active for the namespace when this one wrote or accepted newer events. A batch
  of state updates only carries no version of its own and is not compared.

A refused batch is dead-lettered and counted by the processor (`standby.refused_batch`);
every refusal message starts with one of the `REASONS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History, HistoryEvent

import schemas
from history_processor.deletion import deleted_visibility, is_marker
from history_processor.exceptions import FoldError
from history_processor.fold import apply_batch
from history_processor.handling import Env
from history_processor.model import Command, Decision
from history_processor.outbox import visibility_record
from history_processor.state import ExecutionState
from schemas.exceptions import PayloadDecodeError
from schemas.inbox import ReplicateEvents
from schemas.outbox import Destination, OutboxRecord
from schemas.reply import Code, Reply


@dataclass(frozen=True)
class Batch:
    """A decoded replicated batch: the run it belongs to, its events and state updates."""

    run_id: str
    events: list[HistoryEvent]
    updates: list[tuple[str, bytes]]
    deleted: bool


def decode(message: ReplicateEvents) -> Batch:
    """The batch a ReplicateEvents message carries.

    Raises:
        PayloadDecodeError: The bytes are not an EventBatch.
    """
    try:
        record = schemas.decode(message.batch, schemas.EVENT_BATCH)
        events = list(History.FromString(record["events"]).events)
    except (schemas.SchemaError, ValueError) as exc:
        raise PayloadDecodeError(f"replicated batch is not an EventBatch: {exc}") from exc
    updates = [(u["kind"], u["payload"]) for u in record["updates"]]
    return Batch(record["run_id"], events, updates, is_marker(record["updates"]))


def local_version(state: ExecutionState | None, env: Env) -> int:
    """The failover version of the local state: that of the current run's last event."""
    if state is None or state.next_event_id <= 1:
        return 0
    last = env.read_events(state.next_event_id - 1, state.next_event_id)
    return last[-1].version if last else 0


GAP = "gap"
OLDER_VERSION = "older_version"
UNFOLDABLE = "unfoldable"
REASONS = (GAP, OLDER_VERSION, UNFOLDABLE)
"""Why a batch is refused: the first word of every refusal message."""


def refusal(
    state: ExecutionState | None, batch: Batch, transition: int, version: int, local: int
) -> str | None:
    """Why the batch must not be folded ("" when it is a harmless duplicate), or None to fold it.

    Args:
        state: The workflow id's current run here, if any.
        batch: The replicated batch.
        transition: Its state-transition number in the run.
        version: Its failover version.
        local: The failover version of the local state (`local_version`).
    """
    same_run = state is not None and state.run_id == batch.run_id
    if same_run and state is not None and transition <= state.state_transition_count:
        return ""
    if batch.events and version < local:
        return (
            f"{OLDER_VERSION}: failover version {version} is older than the local state's {local}"
        )
    if same_run and state is not None:
        if transition != state.state_transition_count + 1:
            return (
                f"{GAP}: batch {transition} of run {batch.run_id} does not follow batch "
                f"{state.state_transition_count}"
            )
        return None
    starts = (
        transition == 1
        and bool(batch.events)
        and batch.events[0].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    )
    if not batch.events and state is not None:
        return ""  # state updates of an older run: an echo of what this cluster had
    if starts and state is not None and _started_ms(batch) < state.start_time_ms:
        return ""  # an older run's start sent again (a source partition read again)
    if not starts:
        return f"{GAP}: batch {transition} of run {batch.run_id} arrived before the run's start"
    return None


def _started_ms(batch: Batch) -> int:
    return batch.events[0].event_time.ToMilliseconds()


def reason(message: str) -> str:
    """The reason (one of `REASONS`) of a refusal message."""
    word = message.split(":", 1)[0]
    return word if word in REASONS else UNFOLDABLE


def deletion(state: ExecutionState | None, batch: Batch, env: Env) -> Decision:
    """The active cluster deleted a run (its delete marker): this cluster deletes it too.

    The processor removes the run's state, events and timers and writes its own delete
    marker and tombstones (`Decision.deleted_run`), as for DeleteWorkflowExecution; the
    visibility document goes. A run this cluster does not keep (already deleted, or never
    replicated) changes nothing, so the marker coming back from the other cluster is harmless.
    """
    if state is not None and state.run_id == batch.run_id:
        run: ExecutionState | None = state
    else:
        run = env.older_runs.state(batch.run_id)
    if run is None:
        return Decision()
    return Decision(
        outbox=[OutboxRecord(Destination.VISIBILITY, deleted_visibility(run))], deleted_run=run
    )


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Folds the batch into the run and indexes it, or refuses it (FAILED_PRECONDITION)."""
    message: ReplicateEvents = command.payload
    batch = decode(message)
    if batch.deleted:
        return deletion(state, batch, env)
    why = refusal(
        state, batch, message.transition, message.failover_version, local_version(state, env)
    )
    if why == "":
        return Decision()
    if why is not None:
        return Decision(reply=Reply.error(Code.FAILED_PRECONDITION, why))
    same_run = state is not None and state.run_id == batch.run_id
    base = state.copy() if same_run and state is not None else None
    try:
        run = apply_batch(base, batch.events, batch.updates)
    except FoldError as exc:
        why = f"{UNFOLDABLE}: batch does not fold: {exc}"
        return Decision(reply=Reply.error(Code.FAILED_PRECONDITION, why))
    if run is None:
        return Decision()
    outbox = [OutboxRecord(Destination.VISIBILITY, visibility_record(run))]
    return Decision(events=batch.events, updates=batch.updates, outbox=outbox, state=run)
