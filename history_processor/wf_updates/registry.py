"""The update registry: admitted workflow updates and their waiting callers, in memory only.

Temporal keeps admitted updates in the update registry of its workflow context
(service/history/workflow/update/registry.go), never in the database: an update is written
to history first when a worker accepts it. Strom keeps them in the history processor, beside
its buffered queries and parked reads. A restart or a shard hand-over forgets them; their
callers' waits end early with the stage reached so far (ADMITTED), and the caller retries,
which admits the update again (Temporal's WorkflowUpdateAbortedErr, retried the same way).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio.api.update.v1 import Request

from history_processor.model import Command

Workflow = tuple[str, str]
"""(namespace, workflow id)."""


@dataclass(frozen=True)
class Admitted:
    """An update admitted to a run, not yet accepted or rejected by a worker.

    Attributes:
        run_id: The run it was admitted to.
        request: The update's request, as the worker gets it.
    """

    run_id: str
    request: Request


@dataclass(frozen=True)
class Waiter:
    """A caller (UpdateWorkflowExecution or PollWorkflowExecutionUpdate) waiting for a stage.

    Attributes:
        command: The inbox command, decided again after every commit on the workflow.
        reply_to: Where its reply goes.
        update_id: The update it waits on.
        deadline_ms: When its wait ends with the stage reached so far.
    """

    command: Command
    reply_to: dict[str, Any] | None
    update_id: str
    deadline_ms: int


@dataclass(frozen=True)
class StaleTemplate:
    """A workflow task whose prepared (optimistic) response was handed out without the
    requests of updates admitted meanwhile; history refused that start and dispatched the
    task again.

    The stale copy and the new one have the same task token, so only their completions tell
    them apart: the new one carried `update_ids` and answers them; the stale one cannot.

    Attributes:
        run_id: The run.
        scheduled_event_id: The task's scheduled event id.
        attempt: The task's attempt.
        update_ids: The updates admitted when the template was refused.
    """

    run_id: str
    scheduled_event_id: int
    attempt: int
    update_ids: frozenset[str]


class UpdateRegistry:
    """The admitted updates and waiters of one processor, by partition and workflow."""

    def __init__(self) -> None:
        self._admitted: dict[int, dict[Workflow, dict[str, Admitted]]] = {}
        self._waiters: dict[int, dict[Workflow, dict[str, Waiter]]] = {}
        self._stale: dict[int, dict[Workflow, StaleTemplate]] = {}

    def holds(self, partition: int, workflow: Workflow) -> bool:
        """Whether anything of the workflow is here (admitted updates, waiters, a stale mark)."""
        return any(
            workflow in table.get(partition, {})
            for table in (self._admitted, self._waiters, self._stale)
        )

    def mark_stale(self, partition: int, workflow: Workflow, stale: StaleTemplate) -> None:
        """Remembers a refused template (see `StaleTemplate`)."""
        self._stale.setdefault(partition, {})[workflow] = stale

    def stale_template(self, partition: int, workflow: Workflow) -> StaleTemplate | None:
        """The workflow's refused template, if any."""
        return self._stale.get(partition, {}).get(workflow)

    def clear_stale(self, partition: int, workflow: Workflow) -> None:
        """Forgets the workflow's refused template."""
        self._stale.get(partition, {}).pop(workflow, None)

    def admit(self, partition: int, workflow: Workflow, update_id: str, update: Admitted) -> None:
        """Registers an update (admission order is the order workers get them)."""
        self._admitted.setdefault(partition, {}).setdefault(workflow, {})[update_id] = update

    def inputs(self, partition: int, workflow: Workflow, run_id: str) -> dict[str, Request]:
        """What a decision on the run gets in ``Env.updates``: update id -> request."""
        updates = self._admitted.get(partition, {}).get(workflow, {})
        return {uid: u.request for uid, u in updates.items() if u.run_id == run_id}

    def drop(self, partition: int, workflow: Workflow, update_ids: set[str]) -> None:
        """Forgets admitted updates (accepted ones are in history; rejected ones are gone)."""
        updates = self._admitted.get(partition, {}).get(workflow)
        if updates is None:
            return
        for update_id in update_ids:
            updates.pop(update_id, None)
        if not updates:
            del self._admitted[partition][workflow]

    def drop_other_runs(self, partition: int, workflow: Workflow, run_id: str) -> None:
        """Forgets the admitted updates of runs other than `run_id`."""
        updates = self._admitted.get(partition, {}).get(workflow, {})
        self.drop(partition, workflow, {uid for uid, u in updates.items() if u.run_id != run_id})

    def wait(self, partition: int, waiter: Waiter) -> None:
        """Keeps a caller waiting (again: a caller decided anew keeps its place)."""
        workflow = (waiter.command.namespace, waiter.command.workflow_id)
        by_workflow = self._waiters.setdefault(partition, {}).setdefault(workflow, {})
        by_workflow[waiter.command.command_id] = waiter

    def take_waiters(self, partition: int, workflow: Workflow) -> list[Waiter]:
        """Removes and returns the callers waiting on a workflow, oldest first."""
        waiters = self._waiters.get(partition, {}).pop(workflow, {})
        return list(waiters.values())

    def expire(self, partition: int, now_ms: int) -> list[Waiter]:
        """Removes and returns the callers whose wait ended."""
        expired = []
        workflows = self._waiters.get(partition, {})
        for workflow in list(workflows):
            waiters = workflows[workflow]
            for command_id in [c for c, w in waiters.items() if w.deadline_ms <= now_ms]:
                expired.append(waiters.pop(command_id))
            if not waiters:
                del workflows[workflow]
        return expired

    def forget(self, owned: set[int]) -> list[Waiter]:
        """Drops everything of partitions no longer owned; returns their waiters."""
        lost: list[Waiter] = []
        for partition in [p for p in self._admitted if p not in owned]:
            del self._admitted[partition]
        for partition in [p for p in self._stale if p not in owned]:
            del self._stale[partition]
        for partition in [p for p in self._waiters if p not in owned]:
            for waiters in self._waiters.pop(partition).values():
                lost.extend(waiters.values())
        return lost

    def __len__(self) -> int:
        return sum(len(u) for w in self._admitted.values() for u in w.values())
