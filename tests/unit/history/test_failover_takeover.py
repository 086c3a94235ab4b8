"""Taking over a namespace after a failover survives a restart of history, and a refused
replicated batch is dead-lettered and counted instead of vanishing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio.api.common.v1 import WorkflowType
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest

import schemas
from history_processor import failover, standby
from history_processor.processor import HistoryProcessor
from replicator import rules
from schemas import inbox
from schemas.namespaces import Stance
from schemas.topics import Topology
from streams import MemoryStore, StateTransaction
from tests.unit.history.inbox_message import InboxMessage

TOPOLOGY = Topology("standby", shards=1, task_partitions=1, reply_partitions=1)
NOW = 1_700_000_000


@dataclass
class _Context:
    """The part of streams.Context the processor uses, keeping what it emits and sends."""

    direct = False  # an input read from the inbox, not sent directly

    processor: HistoryProcessor
    state: StateTransaction
    partition: int = 0
    changelog: list[tuple[bytes, bytes]] = field(default_factory=list)
    sent: list[tuple[str, bytes]] = field(default_factory=list)

    def emit(self, key: bytes, value: bytes) -> None:
        self.changelog.append((key, value))
        self.processor.apply(self.state, key, value)

    def send(self, topic: str, value: bytes, key: Any = None, partition: Any = None) -> None:
        self.sent.append((topic, value))

    def send_after_commit(self, topic: str, value: bytes, key: Any = None, **_: Any) -> None:
        pass

    def savepoint(self) -> int:
        return 0

    def rollback_to(self, savepoint: int) -> None:
        pass


class Cluster:
    """Where the namespace is active, as the namespace record says; changed by a failover."""

    def __init__(self, name: str, active: str, version: int) -> None:
        self.name, self.active, self.version = name, active, version

    def processor(self) -> HistoryProcessor:
        return HistoryProcessor(
            TOPOLOGY,
            lambda name: f"id-{name}",
            clock=lambda: NOW,
            stance=lambda ns: (
                Stance("", self.version) if self.active == self.name else Stance(self.active, 0)
            ),
        )


def _fresh() -> StateTransaction:
    return StateTransaction(MemoryStore().open_partition(0))


def _started_on_the_active(processor: HistoryProcessor | None = None) -> list[tuple[bytes, bytes]]:
    """The changelog of a run started on the active cluster (version 1)."""
    ctx = _Context(processor or Cluster("active", "active", 1).processor(), _fresh())
    request = StartWorkflowExecutionRequest(
        namespace="orders",
        workflow_id="wf",
        request_id="r-1",
        workflow_type=WorkflowType(name="W"),
        task_queue=TaskQueue(name="q"),
    )
    record = inbox.command_record(
        "start", "orders", "wf", "StartWorkflowExecution", request.SerializeToString(), 1
    )
    ctx.processor.process(
        ctx,
        InboxMessage(
            schemas.encode(schemas.INBOX_COMMAND, record), TOPOLOGY.inbox, record_key=b"orders/wf"
        ),
    )  # type: ignore[arg-type]
    assert ctx.changelog
    return ctx.changelog


def _replicate(ctx: _Context, key: bytes, value: bytes, offset: int = 1) -> None:
    message = inbox.ReplicateEvents(
        source_cluster="active",
        batch=value,
        transition=rules.transition_of(key),
        failover_version=1,
    )
    record = inbox.command_record(
        f"replicate/active/0/{offset}",
        "orders",
        "wf",
        inbox.REPLICATE_EVENTS,
        message.to_bytes(),
        1,
    )
    payload = schemas.encode(schemas.INBOX_COMMAND, record)
    ctx.processor.process(
        ctx, InboxMessage(payload, TOPOLOGY.inbox, at=offset, record_key=b"orders/wf")
    )  # type: ignore[arg-type]


def _tasks(ctx: _Context) -> list[Any]:
    return [
        schemas.decode(value, schemas.TASK_RECORD)
        for topic, value in ctx.sent
        if topic == TOPOLOGY.tasks
    ]


def test_a_history_restarted_between_standby_and_failover_still_takes_over() -> None:
    changelog = _started_on_the_active()
    here = Cluster("standby", "active", 0)
    state = _fresh()
    ctx = _Context(here.processor(), state)
    for key, value in changelog:
        _replicate(ctx, key, value)
    ctx.processor.punctuate(ctx, NOW * 1000)  # still standby: nothing is dispatched
    assert not _tasks(ctx)

    # History restarts (its store kept), then the namespace is failed over to this cluster.
    here.active, here.version = "standby", 2
    restarted = _Context(here.processor(), state)
    restarted.processor.punctuate(restarted, NOW * 1000)

    (task,) = _tasks(restarted)
    assert task["task_kind"] == "workflow" and task["workflow_id"] == "wf"
    assert failover.marked(state) == set()  # taken over once
    restarted.sent.clear()
    restarted.processor.punctuate(restarted, NOW * 1000)
    assert not _tasks(restarted)


def test_a_store_rebuilt_from_the_events_topic_after_the_failover_takes_over() -> None:
    changelog = _started_on_the_active()
    here = Cluster("standby", "standby", 2)  # failed over before the rebuild
    ctx = _Context(here.processor(), _fresh())
    for key, value in changelog:  # a restore folds the events topic
        ctx.processor.apply(ctx.state, key, value)

    assert failover.marked(ctx.state) == {"orders"}
    ctx.processor.punctuate(ctx, NOW * 1000)
    assert [t["task_kind"] for t in _tasks(ctx)] == ["workflow"]


def test_a_failover_applied_while_a_command_is_decided_does_not_change_its_version() -> None:
    """The registry applies a failover away from this cluster between two reads of one
    command: the command was accepted as active, so its events carry the version it was
    accepted under, never a standby's 0 (which would sort before the events of version 1)."""
    active = Cluster("active", "active", 1)
    reads: list[Stance] = []

    def stance(namespace: str) -> Stance:
        read = Stance("", 1) if not reads else Stance("standby", 0)  # failed over after one
        reads.append(read)
        return read

    processor = HistoryProcessor(
        TOPOLOGY, lambda name: f"id-{name}", clock=lambda: NOW, stance=stance
    )
    changelog = _started_on_the_active(processor)

    events = [
        event
        for _, value in changelog
        for event in History.FromString(schemas.decode(value, schemas.EVENT_BATCH)["events"]).events
    ]
    assert [e.event_type for e in events][:1] == [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED]
    assert {e.version for e in events} == {active.version}


def test_a_run_written_here_since_the_failover_is_not_taken_over_again() -> None:
    assert failover.became_active("", 2)
    assert not failover.became_active("active", 0)  # still standby
    assert not failover.became_active("", 0)  # unknown (or local) namespace: never taken over
    assert failover.needs_take_over(1, 2)
    assert not failover.needs_take_over(2, 2)
    assert not failover.needs_take_over(11, 11)
    assert failover.written_elsewhere([_event(1)], 2)
    assert not failover.written_elsewhere([_event(2), _event(0)], 2)


def _event(version: int) -> HistoryEvent:
    return HistoryEvent(version=version)


def test_a_refused_batch_is_dead_lettered_and_counted() -> None:
    changelog = _started_on_the_active()
    assert len(changelog) == 1  # start + first workflow task, one batch
    here = Cluster("standby", "active", 0)
    ctx = _Context(here.processor(), _fresh())
    key, value = changelog[0]
    gap_key = key.rsplit(b"/", 1)[0] + b"/3"  # the run's batch 3 before its 1 and 2
    before = _refused("gap")

    _replicate(ctx, gap_key, value, offset=7)

    letters = [
        schemas.decode(v, schemas.DEAD_LETTER) for t, v in ctx.sent if t == TOPOLOGY.deadletter
    ]
    assert len(letters) == 1
    assert letters[0]["source_topic"] == TOPOLOGY.inbox and letters[0]["source_offset"] == 7
    assert "gap: batch 3" in letters[0]["error"]
    assert _refused("gap") == before + 1
    assert not ctx.changelog  # nothing folded

    # The refusal changed nothing: the run's first batch still folds.
    _replicate(ctx, key, value, offset=8)
    assert len(ctx.changelog) == 1


def _refused(reason: str) -> float:
    return standby.REFUSED_BATCHES.labels("active", reason)._value.get()
