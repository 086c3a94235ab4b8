"""A poison inbox record never stops a shard: it is dead-lettered and its caller answered."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import WorkflowType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest

import schemas
from history_processor.processor import HistoryProcessor
from schemas import inbox
from schemas.reply import Code
from schemas.topics import Topology
from streams import MemoryStore, StateTransaction
from tests.unit.history.inbox_message import InboxMessage

TOPOLOGY = Topology("poison", shards=1, task_partitions=1, reply_partitions=1)
REPLY_TO = {"topic": TOPOLOGY.replies, "partition": 0}


@dataclass
class _Context:
    """The part of streams.Context the processor uses, recording what it sends."""

    direct = False  # an input read from the inbox, not sent directly

    processor: HistoryProcessor
    partition: int = 0
    state: StateTransaction = field(
        default_factory=lambda: StateTransaction(MemoryStore().open_partition(0))
    )
    sent: list[tuple[str, bytes]] = field(default_factory=list)
    acks: list[tuple[str, bytes]] = field(default_factory=list)

    def emit(self, key: bytes | None, value: bytes) -> None:
        self.sent.append((TOPOLOGY.events, value))
        self.processor.apply(self.state, key, value)

    def send(self, topic: str, value: bytes, key: Any = None, partition: Any = None) -> None:
        self.sent.append((topic, value))

    def send_after_commit(
        self,
        topic: str,
        value: bytes,
        key: Any = None,
        partition: Any = None,
        datagram: str | None = None,
    ) -> None:
        self.acks.append((topic, value))

    def dead_letters(self) -> list[dict[str, Any]]:
        return [
            schemas.decode(v, schemas.DEAD_LETTER) for t, v in self.sent if t == TOPOLOGY.deadletter
        ]

    def replies(self) -> list[dict[str, Any]]:
        return [schemas.decode(v, schemas.REPLY) for _, v in self.acks]


def _command(kind: str, payload: bytes) -> bytes:
    record = inbox.command_record("cmd-1", "default", "wf", kind, payload, 1, REPLY_TO)  # type: ignore[arg-type]
    return schemas.encode(schemas.INBOX_COMMAND, record)


def _setup() -> tuple[HistoryProcessor, _Context]:
    processor = HistoryProcessor(TOPOLOGY, lambda name: f"id-{name}", clock=lambda: 1_700_000_000)
    return processor, _Context(processor)


def test_an_undecodable_record_is_dead_lettered_byte_for_byte() -> None:
    processor, ctx = _setup()
    processor.process(ctx, InboxMessage(b"\xc3\x01not a record", TOPOLOGY.inbox, at=7))  # type: ignore[arg-type]
    (letter,) = ctx.dead_letters()
    assert letter["value"] == b"\xc3\x01not a record" and letter["source_offset"] == 7
    assert letter["source_topic"] == TOPOLOGY.inbox and "undecodable" in letter["error"]


def test_an_unknown_kind_is_dead_lettered_and_answered_unimplemented() -> None:
    processor, ctx = _setup()
    processor.process(ctx, InboxMessage(_command("FromANewerStrom", b""), TOPOLOGY.inbox, at=7))  # type: ignore[arg-type]
    assert len(ctx.dead_letters()) == 1
    (reply,) = ctx.replies()
    assert reply["status_code"] == Code.UNIMPLEMENTED and reply["command_id"] == "cmd-1"


def test_a_command_whose_fold_fails_raises_and_reject_answers_internal() -> None:
    processor, ctx = _setup()
    start = StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id="wf",
        request_id="r-1",
        workflow_type=WorkflowType(name="W"),
        task_queue=TaskQueue(name="q"),
        workflow_run_timeout=Duration(seconds=10**17),  # its timer does not fit the index
    )
    message = InboxMessage(
        _command("StartWorkflowExecution", start.SerializeToString()), TOPOLOGY.inbox, at=7
    )
    with pytest.raises(OverflowError):
        processor.process(ctx, message)  # type: ignore[arg-type]
    # StreamApp rolls the input's effects back, then:
    processor.reject(ctx, message, OverflowError("int too big to convert"))  # type: ignore[arg-type]
    (letter,) = ctx.dead_letters()
    assert "OverflowError" in letter["error"] and letter["value"] == message.payload
    (reply,) = ctx.replies()
    assert reply["status_code"] == Code.INTERNAL and reply["command_id"] == "cmd-1"
