"""Helpers for matching integration tests: topics, task records, a fake history, gRPC polls."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import grpc
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from temporalio.api.common.v1 import message_pb2 as common_pb2
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb2
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv1

import schemas
from helpers import eventually
from matching_processor.config import MatchingConfig
from schemas.clients import matching as api
from schemas.inbox import (
    RECORD_ACTIVITY_TASK_STARTED,
    ActivityTaskStarted,
    RecordWorkflowTaskStarted,
)
from schemas.placement import topic_partition_for

NS = "default"
TASK_PARTITIONS = 4
INBOX_PARTITIONS = 3


def create_topics(bootstrap: str, prefix: str) -> None:
    """Creates the tasks and inbox topics of a test cluster prefix and waits until they show."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    wanted = {f"{prefix}.tasks": TASK_PARTITIONS, f"{prefix}.history.inbox": INBOX_PARTITIONS}
    futures = admin.create_topics([NewTopic(name, n, 1) for name, n in wanted.items()])
    for fut in futures.values():
        fut.result(30)
    eventually(
        lambda: all(
            name in (topics := admin.list_topics(timeout=10).topics)
            and len(topics[name].partitions) == n
            for name, n in wanted.items()
        ),
        timeout=30,
    )


def delete_topics(bootstrap: str, prefix: str) -> None:
    """Deletes the test topics again (and the progress topic matching made, if it did)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [f"{prefix}.tasks", f"{prefix}.history.inbox"]
    existing = admin.list_topics(timeout=10).topics
    names += [n for n in (f"{prefix}.tasks.acks",) if n in existing]
    futures = admin.delete_topics(names)
    for fut in futures.values():
        fut.result(30)


def config(bootstrap: str, prefix: str, **kw: Any) -> MatchingConfig:
    """A test matching config: free port, fast commits and hand-over."""
    return MatchingConfig(
        bootstrap=bootstrap,
        prefix=prefix,
        grpc_port=0,
        commit_interval=0.2,
        session_timeout_ms=6000,
        **kw,
    )


def task_record(
    workflow_id: str,
    kind: str = "workflow",
    queue: str = "orders",
    tq_partition: int = 0,
    payload: bytes = b"",
    schedule_time_ms: int | None = None,
    schedule_to_start_timeout_ms: int = 0,
) -> dict[str, Any]:
    """A TaskRecord dict as history would write it."""
    return {
        "task_kind": kind,
        "namespace": NS,
        "task_queue": queue,
        "task_queue_kind": "normal",
        "task_queue_partition": tq_partition,
        "workflow_id": workflow_id,
        "run_id": f"run-{workflow_id}",
        "scheduled_event_id": 2 if kind == "workflow" else 5,
        "attempt": 1,
        "task_token": f"token-{workflow_id}".encode(),
        "schedule_time_ms": schedule_time_ms or time.time_ns() // 1_000_000,
        "schedule_to_start_timeout_ms": schedule_to_start_timeout_ms,
        "payload": payload,
    }


def produce_tasks(bootstrap: str, prefix: str, records: list[dict[str, Any]]) -> None:
    """Writes task records to the partitions history would choose."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for rec in records:
        partition = topic_partition_for(
            rec["namespace"],
            rec["task_queue"],
            rec["task_kind"],
            rec["task_queue_partition"],
            TASK_PARTITIONS,
        )
        producer.produce(
            f"{prefix}.tasks", schemas.encode(schemas.TASK_RECORD, rec), partition=partition
        )
    assert producer.flush(30) == 0


@dataclass(frozen=True)
class FakeReply:
    """What the history client returns."""

    status_code: int
    message: str = ""
    payload: bytes = b""


@dataclass
class FakeHistory:
    """Answers RecordWorkflowTaskStarted and RecordActivityTaskStarted like history would:
    NOT_FOUND for ``stale`` workflows, ALREADY_EXISTS for a task another dispatch started."""

    stale: set[str] = field(default_factory=set)
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    started: dict[tuple[str, int, int], str] = field(default_factory=dict)

    async def post(
        self, namespace: str, workflow_id: str, kind: str, payload: bytes, request_time_ms: int
    ) -> bool:
        return False  # no history process takes commands directly: the inbox it is

    async def call(
        self, namespace: str, workflow_id: str, kind: str, request: Any, timeout: float
    ) -> FakeReply:
        message: Any
        if kind == RECORD_ACTIVITY_TASK_STARTED:
            message = ActivityTaskStarted.from_bytes(request.SerializeToString())
        else:
            message = RecordWorkflowTaskStarted.from_bytes(request.SerializeToString())
        self.calls.append((kind, workflow_id, message))
        await asyncio.sleep(0)
        if workflow_id in self.stale:
            return FakeReply(grpc.StatusCode.NOT_FOUND.value[0], "task not found")
        task = (workflow_id, message.scheduled_event_id, message.attempt)
        if self.started.setdefault(task, message.request_id) != message.request_id:
            return FakeReply(grpc.StatusCode.ALREADY_EXISTS.value[0], "task already started")
        if kind == RECORD_ACTIVITY_TASK_STARTED:
            return FakeReply(0)
        response = wsv1.PollWorkflowTaskQueueResponse(
            task_token=message.task_token,
            workflow_execution=common_pb2.WorkflowExecution(
                workflow_id=workflow_id, run_id=message.run_id
            ),
            started_event_id=message.scheduled_event_id + 1,
            attempt=message.attempt,
        )
        return FakeReply(0, payload=response.SerializeToString())


def workflow_poll(
    queue: str = "orders", identity: str = "worker-1"
) -> wsv1.PollWorkflowTaskQueueRequest:
    """A worker's workflow-task poll."""
    return wsv1.PollWorkflowTaskQueueRequest(
        namespace=NS, task_queue=tq_pb2.TaskQueue(name=queue), identity=identity
    )


def activity_poll(
    queue: str = "orders", identity: str = "worker-1"
) -> wsv1.PollActivityTaskQueueRequest:
    """A worker's activity-task poll."""
    return wsv1.PollActivityTaskQueueRequest(
        namespace=NS, task_queue=tq_pb2.TaskQueue(name=queue), identity=identity
    )


async def grpc_poll_workflow(
    channel: grpc.aio.Channel, request: wsv1.PollWorkflowTaskQueueRequest, timeout: float
) -> wsv1.PollWorkflowTaskQueueResponse:
    """Polls through matching's internal gRPC service."""
    call = channel.unary_unary(
        api.POLL_WORKFLOW_TASK_QUEUE,
        request_serializer=wsv1.PollWorkflowTaskQueueRequest.SerializeToString,
        response_deserializer=wsv1.PollWorkflowTaskQueueResponse.FromString,
    )
    return await call(request, timeout=timeout)


async def grpc_poll_activity(
    channel: grpc.aio.Channel, request: wsv1.PollActivityTaskQueueRequest, timeout: float
) -> wsv1.PollActivityTaskQueueResponse:
    """Polls an activity task through matching's internal gRPC service."""
    call = channel.unary_unary(
        api.POLL_ACTIVITY_TASK_QUEUE,
        request_serializer=wsv1.PollActivityTaskQueueRequest.SerializeToString,
        response_deserializer=wsv1.PollActivityTaskQueueResponse.FromString,
    )
    return await call(request, timeout=timeout)
