"""Held decisions: speculative workflow-task state kept in memory until the run's next commit.

Temporal keeps an admitted update and its speculative workflow task in the mutable state of
its workflow context, in memory, and writes them to the database only with the next real
change of the run (the completion that accepts an update), or never, when the worker only
rejects. Strom does the same: a decision whose only effects are *speculative-safe*
(`holdable`) is not committed in a Kafka transaction of its own. The processor keeps its
state updates here, and

1. every later command on the run is decided on the held state (`HeldRun.state`), which is
   the stored state with the held updates folded;
2. the next decision on the run that must be written carries the held updates first in its
   own batch (`HeldRun.updates`, folded onto `HeldRun.stored`), so the changelog, and thus a
   restore, folds exactly what was decided, in the order it was decided;
3. a hand-over, a restart or an aborted transaction drops what is held: the speculative task
   is forgotten (a worker's completion of it gets NOT_FOUND "Workflow task not found."), the
   admitted updates with it, and their callers are sent on (`Reply.shard_moved`) or time out;
   the frontend sends the update again, which admits it anew.

Speculative-safe means: no history event, no closed or deleted run, no outbox record but the
speculative task's own record, state updates only of the workflow task and its sticky queue,
and a speculative task (attempt-1 transient, `speculative.is_speculative`) before or after
the decision. Its task record leaves through the plain producer of acknowledgements
(`send_after_commit`), not in a transaction: see `HeldRuns.hold` for why that is safe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from history_processor.deadlines import Deadline, deadlines
from history_processor.model import Decision
from history_processor.state import ExecutionState
from history_processor.updates import UpdateKind
from history_processor.wf_updates.registry import Workflow
from history_processor.wf_updates.speculative import is_speculative
from schemas.outbox import Destination

#: Past this many held state updates the next one is committed (with them): a workflow whose
#: worker rejects update after update must not grow memory without bound.
MAX_HELD_UPDATES = 64

_SAFE_KINDS = frozenset(
    kind.value
    for kind in (
        UpdateKind.WORKFLOW_TASK_SCHEDULED,
        UpdateKind.WORKFLOW_TASK_STARTED,
        UpdateKind.WORKFLOW_TASK_FAILED,
        UpdateKind.STICKY,
    )
)


@dataclass
class HeldRun:
    """The held state of one run.

    Attributes:
        stored: The run as the shard's store has it (what the held updates fold onto).
        state: The run as the held decisions left it: what later commands are decided on.
        updates: The held state updates, in the order they were decided.
        deadlines: Deadlines of the held state that the store's timer index does not have
            (the speculative task's timeouts), not yet fired.
    """

    stored: ExecutionState
    state: ExecutionState
    updates: list[tuple[str, bytes]] = field(default_factory=list)
    deadlines: list[Deadline] = field(default_factory=list)


def holdable(before: ExecutionState | None, decision: Decision) -> bool:
    """Whether a decision's only effects are speculative-safe (see the module docstring).

    Args:
        before: The run the decision was made on (the held state, if any).
        decision: The decision.
    """
    if before is None or not before.is_running:
        return False
    if decision.events or decision.closed_runs or decision.deleted_run is not None:
        return False
    if not decision.updates and not decision.outbox:
        return False  # nothing to hold (a reply only)
    if any(kind not in _SAFE_KINDS for kind, _ in decision.updates):
        return False
    after = decision.state or before
    if after.run_id != before.run_id or not after.is_running:
        return False
    if not (is_speculative(before.workflow_task) or is_speculative(after.workflow_task)):
        return False
    if after.workflow_task is not None and not is_speculative(after.workflow_task):
        return False  # a real task now (a timeout's next attempt): it must be written
    if any(out.destination is not Destination.TASKS for out in decision.outbox):
        return False
    task = after.workflow_task
    for record in decision.tasks:
        if (
            record["task_kind"] != "workflow"
            or task is None
            or not is_speculative(task)
            or record["run_id"] != after.run_id
            or record["scheduled_event_id"] != task.scheduled_event_id
        ):
            return False
    return True


class HeldRuns:
    """The held runs of one processor, by partition and workflow."""

    def __init__(self) -> None:
        self._runs: dict[int, dict[Workflow, HeldRun]] = {}

    def get(self, partition: int, workflow: Workflow) -> HeldRun | None:
        """The workflow's held run, if any."""
        return self._runs.get(partition, {}).get(workflow)

    def state(
        self, partition: int, workflow: Workflow, stored: ExecutionState | None
    ) -> ExecutionState | None:
        """The state to decide on: the held one over `stored` (the store's current run)."""
        held = self.get(partition, workflow)
        if held is None or stored is None or stored.run_id != held.stored.run_id:
            return stored
        return held.state

    def hold(
        self, partition: int, workflow: Workflow, before: ExecutionState | None, decision: Decision
    ) -> HeldRun | None:
        """Holds the decision instead of committing it, if it is speculative-safe.

        Its task record must then go out without a transaction (the processor sends it as
        an acknowledgement, after whatever it was decided on has committed). That is safe
        because a speculative task exists only here: its start (matching's
        RecordWorkflowTaskStarted) and its completion come back through this shard's inbox
        and are decided against what the shard's live owner holds. A zombie (a fenced or
        revoked owner) may still send the record of a task it alone knows; its start and
        completion then reach the real owner, which does not know that task and answers
        NOT_FOUND, or holds an identical one (the same update sent again by the frontend
        is scheduled on the same committed history, with the same ids and request), which
        the worker then serves; either way nothing the zombie decided is written.

        Returns:
            The held run, or None when the decision must be committed (with what is held).
        """
        if not holdable(before, decision):
            return None
        assert before is not None
        held = self.get(partition, workflow)
        if held is not None and held.stored.run_id != before.run_id:
            return None
        if held is not None and len(held.updates) + len(decision.updates) > MAX_HELD_UPDATES:
            return None
        if held is None:
            held = HeldRun(stored=before, state=before)
            self._runs.setdefault(partition, {})[workflow] = held
        held.updates.extend(decision.updates)
        if decision.state is not None:
            held.state = decision.state
        stored = set(deadlines(held.stored))
        held.deadlines = [d for d in deadlines(held.state) if d not in stored]
        return held

    def take(self, partition: int, workflow: Workflow) -> HeldRun | None:
        """Removes and returns the workflow's held run (its updates are being committed)."""
        runs = self._runs.get(partition)
        if runs is None:
            return None
        held = runs.pop(workflow, None)
        if not runs:
            del self._runs[partition]
        return held

    def due(self, partition: int, now_ms: int) -> list[tuple[Workflow, Deadline]]:
        """Removes and returns the held deadlines of a partition that are due."""
        out = []
        for workflow, held in self._runs.get(partition, {}).items():
            out += [(workflow, d) for d in held.deadlines if d.fire_at_ms <= now_ms]
            held.deadlines = [d for d in held.deadlines if d.fire_at_ms > now_ms]
        return out

    def next_deadline_ms(self, partition: int) -> int | None:
        """The earliest held deadline of a partition, if any."""
        fire = [d.fire_at_ms for h in self._runs.get(partition, {}).values() for d in h.deadlines]
        return min(fire) if fire else None

    def drop(self, partitions: set[int] | None = None) -> list[tuple[int, Workflow]]:
        """Forgets the held runs of `partitions` (None: all); returns which were held."""
        dropped = []
        for partition in list(self._runs):
            if partitions is None or partition in partitions:
                dropped += [(partition, wf) for wf in self._runs.pop(partition)]
        return dropped

    def forget(self, owned: set[int]) -> None:
        """Forgets the held runs of partitions no longer owned."""
        self.drop({p for p in self._runs if p not in owned})

    def __len__(self) -> int:
        return sum(len(runs) for runs in self._runs.values())
