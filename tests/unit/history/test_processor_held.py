"""Speculative-safe decisions are held in memory, not committed (`wf_updates.held`), no Kafka.

The context below keeps apart what enters the transaction (changelog records, outbox
records) and what leaves as an acknowledgement (replies, a speculative task's record).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.update.v1 import Input, Meta, Outcome, Request, WaitPolicy
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskCompletedResponse,
    StartWorkflowExecutionRequest,
    UpdateWorkflowExecutionRequest,
    UpdateWorkflowExecutionResponse,
)

import schemas
from history_processor import store
from history_processor import updates as upd
from history_processor.builder import DecisionBuilder
from history_processor.fold import apply_batch
from history_processor.handling import MSG_WORKFLOW_TASK_NOT_FOUND
from history_processor.model import Decision
from history_processor.processor import HistoryProcessor
from history_processor.updates import encode_update
from history_processor.wf_updates import speculative
from history_processor.wf_updates.held import holdable
from schemas import inbox
from schemas.inbox import RecordWorkflowTaskStarted, UpdateWorkflow
from schemas.reply import Code, Reply
from schemas.topics import Topology
from streams import MemoryStore, StateTransaction
from tests.unit.history.harness import sticky
from tests.unit.history.inbox_message import InboxMessage
from tests.unit.history.test_wf_updates import (
    COMPLETED,
    FAR_MS,
    accept,
    payloads,
    reject,
    respond,
)

TOPOLOGY = Topology("held", shards=1, task_partitions=1, reply_partitions=1)
REPLY_TO = {"topic": TOPOLOGY.replies, "partition": 0}
NOW_S = 1_700_000_000
WORKFLOW_ID = "wf-held"


@dataclass
class _Context:
    """streams.Context as the processor uses it; records the transaction's outputs apart."""

    direct = False  # an input read from the inbox, not sent directly

    processor: HistoryProcessor
    partition: int = 0
    state: StateTransaction = field(
        default_factory=lambda: StateTransaction(MemoryStore().open_partition(0))
    )
    changelog: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    outbox: list[tuple[str, bytes]] = field(default_factory=list)
    acks: list[tuple[str, bytes]] = field(default_factory=list)
    tasks: list[bytes] = field(default_factory=list)  # task records, in the order sent

    def emit(self, key: bytes | None, value: bytes) -> None:
        self.changelog.append((key, value))
        self.processor.apply(self.state, key, value)

    def send(self, topic: str, value: bytes, key: Any = None, partition: Any = None) -> None:
        self.outbox.append((topic, value))
        if topic == TOPOLOGY.tasks:
            self.tasks.append(value)

    def send_after_commit(
        self,
        topic: str,
        value: bytes,
        key: Any = None,
        partition: Any = None,
        datagram: str | None = None,
    ) -> None:
        self.acks.append((topic, value))
        if topic == TOPOLOGY.tasks:
            self.tasks.append(value)

    @property
    def transactional(self) -> int:
        """Records that would enter a Kafka transaction."""
        return len(self.changelog) + len(self.outbox)

    def reply(self, command_id: str) -> Reply:
        for topic, value in self.acks:
            if topic == TOPOLOGY.replies:
                record = schemas.decode(value, schemas.REPLY)
                if record["command_id"] == command_id:
                    return Reply.from_record(record)  # type: ignore[arg-type]
        raise AssertionError(f"no reply to {command_id}")

    def replied(self, command_id: str) -> bool:
        try:
            self.reply(command_id)
        except AssertionError:
            return False
        return True

    def last_task(self) -> dict[str, Any]:
        """The newest workflow task record, whichever way it left."""
        return schemas.decode(self.tasks[-1], schemas.TASK_RECORD)  # type: ignore[return-value]

    def acked_tasks(self) -> int:
        return sum(1 for t, _ in self.acks if t == TOPOLOGY.tasks)


def _send(ctx: _Context, command_id: str, kind: str, payload: bytes) -> None:
    record = inbox.command_record(
        command_id,
        "default",
        WORKFLOW_ID,
        kind,
        payload,
        1,
        REPLY_TO,  # type: ignore[arg-type]
    )
    message = InboxMessage(
        schemas.encode(schemas.INBOX_COMMAND, record), TOPOLOGY.inbox, record_key=b"default/wf-held"
    )
    ctx.processor.process(ctx, message)  # type: ignore[arg-type]


def _start_task(ctx: _Context, command_id: str) -> PollWorkflowTaskQueueResponse:
    """A poller takes the newest task (the classic start; it answers with the response)."""
    task = ctx.last_task()
    poll = PollWorkflowTaskQueueRequest(
        namespace="default", task_queue=TaskQueue(name=task["task_queue"]), identity="worker-1"
    )
    started = RecordWorkflowTaskStarted.for_task(task, poll, f"req-{command_id}")
    _send(ctx, command_id, inbox.RECORD_WORKFLOW_TASK_STARTED, started.to_bytes())
    reply = ctx.reply(command_id)
    assert reply.ok, reply
    return PollWorkflowTaskQueueResponse.FromString(reply.payload)


def _complete(
    ctx: _Context, command_id: str, poll: PollWorkflowTaskQueueResponse, messages: Any = ()
) -> Reply:
    request = RespondWorkflowTaskCompletedRequest(
        task_token=poll.task_token,
        messages=list(messages),
        identity="worker-1",
        sticky_attributes=sticky(),
    )
    _send(ctx, command_id, "RespondWorkflowTaskCompleted", request.SerializeToString())
    return ctx.reply(command_id)


def _update(ctx: _Context, command_id: str, update_id: str) -> None:
    request = UpdateWorkflowExecutionRequest(
        namespace="default",
        workflow_execution=WorkflowExecution(workflow_id=WORKFLOW_ID),
        wait_policy=WaitPolicy(lifecycle_stage=COMPLETED),  # type: ignore[arg-type]
        request=Request(
            meta=Meta(update_id=update_id, identity="client"),
            input=Input(name="set_value", args=payloads(b"42")),
        ),
    )
    message = UpdateWorkflow(request.SerializeToString(), FAR_MS)
    _send(ctx, command_id, inbox.UPDATE_WORKFLOW_EXECUTION, message.to_bytes())


def _idle_workflow() -> _Context:
    """A started workflow whose first task completed on a sticky worker: nothing pending."""
    processor = HistoryProcessor(TOPOLOGY, lambda name: f"id-{name}", clock=lambda: NOW_S)
    ctx = _Context(processor)
    start = StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id=WORKFLOW_ID,
        request_id="start",
        workflow_type=WorkflowType(name="W"),
        task_queue=TaskQueue(name="q"),
    )
    _send(ctx, "start", "StartWorkflowExecution", start.SerializeToString())
    poll = _start_task(ctx, "first-start")
    assert _complete(ctx, "first-done", poll).ok
    return ctx


def _restored(ctx: _Context) -> Any:
    """The run as a restore rebuilds it from the changelog records alone."""
    processor = HistoryProcessor(TOPOLOGY, lambda name: f"id-{name}", clock=lambda: NOW_S)
    state = StateTransaction(MemoryStore().open_partition(0))
    for key, value in ctx.changelog:
        processor.apply(state, key, value)
    return store.load_state(state, "default", WORKFLOW_ID)


def test_a_rejected_update_commits_no_transaction_at_all() -> None:
    ctx = _idle_workflow()
    before = ctx.transactional

    _update(ctx, "update", "u1")
    assert ctx.transactional == before  # admitted, speculative task scheduled: held
    assert ctx.acked_tasks() == 1  # its record left without a transaction
    poll = _start_task(ctx, "spec-start")
    assert [m.protocol_instance_id for m in poll.messages] == ["u1"]
    done = _complete(ctx, "spec-done", poll, [reject("u1")])

    assert ctx.transactional == before  # not one changelog or outbox record
    assert done.ok
    response = RespondWorkflowTaskCompletedResponse.FromString(done.payload)
    assert response.reset_history_event_id == 3  # the worker drops what it was shown
    answer = UpdateWorkflowExecutionResponse.FromString(ctx.reply("update").payload)
    assert answer.outcome.failure.message == "invalid value"
    # The stored run never saw the speculative task.
    stored = store.load_state(ctx.state, "default", WORKFLOW_ID)
    assert stored is not None and stored.workflow_task is None


def test_the_completion_carries_the_held_updates_and_a_restore_folds_the_same_run() -> None:
    ctx = _idle_workflow()
    batches = len(ctx.changelog)

    _update(ctx, "update", "u1")
    poll = _start_task(ctx, "spec-start")
    assert len(ctx.changelog) == batches
    outcome = Outcome(success=payloads(b"ok"))
    done = _complete(ctx, "spec-done", poll, [accept("u1", 3), respond("u1", outcome)])

    assert done.ok
    assert len(ctx.changelog) == batches + 1  # one batch: the held updates, then the events
    batch = schemas.decode(ctx.changelog[-1][1], schemas.EVENT_BATCH)
    kinds = [u["kind"] for u in batch["updates"]]
    assert kinds[:2] == ["workflow_task_scheduled", "workflow_task_started"]
    answer = UpdateWorkflowExecutionResponse.FromString(ctx.reply("update").payload)
    assert answer.outcome.success.payloads[0].data == b"ok"
    live = store.load_state(ctx.state, "default", WORKFLOW_ID)
    assert live is not None and live.next_event_id == 10
    assert _restored(ctx) == live


def test_an_abort_drops_the_held_task_and_sends_its_caller_on() -> None:
    ctx = _idle_workflow()
    _update(ctx, "update", "u1")
    poll = _start_task(ctx, "spec-start")
    before = ctx.transactional

    ctx.processor.aborted()  # what streams calls when a transaction aborts
    done = _complete(ctx, "spec-done", poll, [reject("u1")])

    assert done.status_code == Code.NOT_FOUND
    assert done.message == MSG_WORKFLOW_TASK_NOT_FOUND
    assert ctx.reply("update").moved  # the history client sends the update again
    assert ctx.transactional == before
    # Sent again, the update is admitted anew with a speculative task of its own.
    tasks = ctx.acked_tasks()
    _update(ctx, "update-again", "u1")
    assert ctx.acked_tasks() == tasks + 1
    assert not ctx.replied("update-again")


def test_a_hand_over_drops_the_held_task() -> None:
    ctx = _idle_workflow()
    _update(ctx, "update", "u1")
    poll = _start_task(ctx, "spec-start")

    ctx.processor.hand_over(ctx)  # type: ignore[arg-type]
    ctx.processor.forget_partitions(set())
    done = _complete(ctx, "spec-done", poll, [reject("u1")])

    assert ctx.reply("update").moved
    assert done.status_code == Code.NOT_FOUND


def test_a_held_speculative_task_times_out_from_memory_and_the_timeout_commits_it() -> None:
    ctx = _idle_workflow()
    _update(ctx, "update", "u1")
    _start_task(ctx, "spec-start")  # the worker took it, and then never answers
    batches, outbox = len(ctx.changelog), len(ctx.outbox)
    # Its start-to-close deadline is in no timer index, yet the loop wakes up for it.
    ctx.processor.punctuate(ctx, NOW_S * 1000)  # type: ignore[arg-type]
    assert len(ctx.changelog) == batches  # not due yet
    due_ms = ctx.processor.next_punctuate_ms({0})
    assert due_ms == NOW_S * 1000 + 10_000  # the run's workflow task timeout

    ctx.processor.punctuate(ctx, due_ms)  # type: ignore[arg-type]

    assert len(ctx.changelog) == batches + 1  # the timeout commits, the held updates first
    batch = schemas.decode(ctx.changelog[-1][1], schemas.EVENT_BATCH)
    kinds = [u["kind"] for u in batch["updates"]]
    assert kinds[:2] == ["workflow_task_scheduled", "workflow_task_started"]
    assert len(ctx.outbox) == outbox + 1
    topic, value = ctx.outbox[-1]
    assert topic == TOPOLOGY.tasks  # the next attempt's task, in the transaction now
    assert schemas.decode(value, schemas.TASK_RECORD)["attempt"] == 2
    assert not ctx.replied("update")  # the caller still waits for a worker
    assert _restored(ctx) == store.load_state(ctx.state, "default", WORKFLOW_ID)
    assert ctx.processor.next_punctuate_ms({0}) != due_ms  # fired once


def test_only_speculative_task_decisions_are_holdable() -> None:
    ctx = _idle_workflow()
    stored = store.load_state(ctx.state, "default", WORKFLOW_ID)
    assert stored is not None and stored.workflow_task is None
    # Nothing speculative before or after: a sticky change alone is written as before.
    sticky_only = Decision(updates=[encode_update(upd.Sticky(), stored.next_event_id)])
    sticky_only.state = apply_batch(stored.copy(), [], sticky_only.updates)
    assert not holdable(stored, sticky_only)
    # A speculative task's scheduling is held; with an event beside it, it is not.
    b = DecisionBuilder(stored, NOW_S * 1000)
    speculative.schedule(b)
    scheduled = b.finish(None)
    assert holdable(stored, scheduled)
    scheduled.events = [HistoryEvent(event_id=stored.next_event_id)]
    assert not holdable(stored, scheduled)
