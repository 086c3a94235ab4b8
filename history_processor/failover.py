"""A failover: the work a run had pending when its namespace became active in this cluster.

While standby, the cluster folded the old active cluster's batches but dispatched nothing and
fired no timer. Taking over (Temporal's failover, seed 3.8.3: workflows continue from the
last replicated state), history dispatches what the run waits on that was never started
here; what was started on the old cluster is left to its durable timers, which this cluster
now fires: a started workflow task times out and is scheduled again, a started activity
times out and is retried (it may run twice, as the seed accepts). A run written to since
the namespace became active here (its last event carries the namespace's version) needs no
take-over: this cluster dispatched its tasks as it decided them.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.api.history.v1 import HistoryEvent

from history_processor import store
from history_processor.outbox import activity_task_record, workflow_task_record
from history_processor.state import ExecutionState, TaskQueueKind
from schemas.records import TaskRecord
from streams import StateTransaction


def pending_tasks(state: ExecutionState) -> list[TaskRecord]:
    """The task records to dispatch again for one run after a failover to this cluster.

    A workflow task on a sticky queue is left to its schedule-to-start timer, which moves
    it to the normal queue: the sticky worker polled the old cluster.
    """
    if not state.is_running:
        return []
    out: list[TaskRecord] = []
    task = state.workflow_task
    if task is not None and not task.is_started and task.task_queue_kind is TaskQueueKind.NORMAL:
        out.append(workflow_task_record(state))
    for info in state.activities.values():
        if not info.is_started and not info.awaiting_retry and not info.paused:
            out.append(activity_task_record(state, info))
    return out


# Which namespaces a partition may have to take over is kept in the partition's store, so a
# history restarted between the standby period and the failover still takes over: a
# standby namespace is marked when a command of it arrives (`mark`), and a store rebuilt from
# the events topic marks every namespace with batches another cluster wrote
# (`written_elsewhere`). Key: `s<4-byte length><namespace>`, apart from the run, event and
# timer keys of `store` (`r`, `c`, `e`, `t`).
_MARK = b"s"
_MARK_END = b"t"


def mark_key(namespace: str) -> bytes:
    """The store key marking ``namespace`` as one this partition served as standby."""
    raw = namespace.encode()
    return _MARK + len(raw).to_bytes(4, "big") + raw


def mark(state: StateTransaction, namespace: str) -> None:
    """Marks ``namespace``: taken over once it is active here (`marked`)."""
    key = mark_key(namespace)
    if state.get(key) is None:
        state.put(key, b"1")


def unmark(state: StateTransaction, namespace: str) -> None:
    """Forgets the mark of a namespace taken over."""
    state.delete(mark_key(namespace))


def marked(state: StateTransaction) -> set[str]:
    """The namespaces marked in a partition's store."""
    return {key[len(_MARK) + 4 :].decode() for key, _ in state.items(_MARK, _MARK_END)}


class StandbyMarks:
    """The marked namespaces of each owned partition, read from its store once, then kept
    in memory beside the marks (a partition that is given up is read again if it returns)."""

    def __init__(self) -> None:
        self._seen: dict[int, set[str]] = {}

    def of(self, state: StateTransaction) -> set[str]:
        """The namespaces marked in the partition of ``state``."""
        if state.partition not in self._seen:
            self._seen[state.partition] = marked(state)
        return self._seen[state.partition]

    def note(self, state: StateTransaction, namespace: str) -> None:
        """Marks ``namespace``, served as standby by the partition of ``state``."""
        seen = self.of(state)
        if namespace not in seen:
            seen.add(namespace)
            mark(state, namespace)

    def clear(self, state: StateTransaction, namespace: str) -> None:
        """Forgets the mark of a namespace the partition has taken over."""
        self.of(state).discard(namespace)
        unmark(state, namespace)

    def forget(self, owned: set[int]) -> None:
        """Drops what is kept of partitions no longer owned."""
        for partition in set(self._seen) - owned:
            del self._seen[partition]


def written_elsewhere(events: Sequence[HistoryEvent], local_version: int) -> bool:
    """Whether a batch folded from the events topic was written by another cluster, or by
    this one before a failover: its version is not the one this cluster stamps now."""
    return any(event.version and event.version != local_version for event in events)


def became_active(active_elsewhere: str, version: int) -> bool:
    """Whether a marked namespace is active here now: its record names this cluster (a
    version of its own) and no other; a namespace deleted, unknown or made local is not."""
    return not active_elsewhere and version > 0


def needs_take_over(last_version: int, namespace_version: int) -> bool:
    """Whether a run still waits for the take-over: nothing was written to it since the
    namespace became active here (its last event is older than the namespace's version)."""
    return last_version < namespace_version


def take_over_tasks(state: StateTransaction, namespace: str, version: int) -> list[TaskRecord]:
    """The task records to dispatch when ``namespace`` becomes active here at ``version``:
    those of its current runs in the partition not written to since (`needs_take_over`)."""
    out: list[TaskRecord] = []
    for run in store.current_runs(state, namespace):
        last = store.read_events(
            state,
            run.namespace,
            run.workflow_id,
            run.run_id,
            run.next_event_id - 1,
            run.next_event_id,
        )
        if last and not needs_take_over(last[-1].version, version):
            continue
        out.extend(pending_tasks(run))
    return out
