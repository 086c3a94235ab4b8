"""Matching on a real broker: sync match, backlog FIFO, long-poll expiry, restart, activities."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import grpc
import pytest
from confluent_kafka import Consumer, TopicPartition
from temporalio.api.common.v1 import message_pb2 as common_pb2
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv1

from helpers import eventually_async, unique_name
from matching_processor.service import MatchingService
from schemas.inbox import RECORD_ACTIVITY_TASK_STARTED, RECORD_WORKFLOW_TASK_STARTED

from .harness import (
    NS,
    FakeHistory,
    activity_poll,
    config,
    create_topics,
    delete_topics,
    grpc_poll_activity,
    grpc_poll_workflow,
    produce_tasks,
    task_record,
    workflow_poll,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


@pytest.fixture
def prefix(kafka_bootstrap: str) -> Iterator[str]:
    name = unique_name("mt")
    create_topics(kafka_bootstrap, name)
    yield name
    delete_topics(kafka_bootstrap, name)


async def started(service: MatchingService) -> MatchingService:
    """Starts a service and waits until it owns every tasks partition."""
    await service.start()
    await eventually_async(lambda: len(service.assigned_partitions) == 4, timeout=30)
    return service


async def test_waiting_poller_gets_task_by_sync_match(kafka_bootstrap: str, prefix: str) -> None:
    history = FakeHistory()
    service = await started(MatchingService(config(kafka_bootstrap, prefix), history))
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            poll = asyncio.create_task(grpc_poll_workflow(channel, workflow_poll(), timeout=30))
            await eventually_async(lambda: service.waiting_polls(NS, "orders", "workflow") == 1)
            sent_at = time.monotonic()
            produce_tasks(kafka_bootstrap, prefix, [task_record("wf-sync", tq_partition=2)])
            response = await poll
            assert time.monotonic() - sent_at < 5
        assert response.task_token == b"token-wf-sync"
        assert response.workflow_execution.workflow_id == "wf-sync"
        assert service.metrics.sync_matches == 1
        assert service.metrics.backlog_dispatches == 0
        kind, workflow_id, message = history.calls[0]
        assert (kind, workflow_id) == (RECORD_WORKFLOW_TASK_STARTED, "wf-sync")
        assert message.identity == "worker-1" and message.task_queue == "orders"
        assert message.task_token == b"token-wf-sync"
    finally:
        await service.stop()


async def test_backlog_is_served_in_fifo_order(kafka_bootstrap: str, prefix: str) -> None:
    now = time.time_ns() // 1_000_000
    records = [
        task_record(f"wf-{i}", tq_partition=i % 4, schedule_time_ms=now + i) for i in range(5)
    ]
    produce_tasks(kafka_bootstrap, prefix, records)
    service = await started(MatchingService(config(kafka_bootstrap, prefix), FakeHistory()))
    try:
        await eventually_async(lambda: service.backlog_size(NS, "orders", "workflow") == 5)
        async with grpc.aio.insecure_channel(service.address) as channel:
            got = [
                (
                    await grpc_poll_workflow(channel, workflow_poll(), timeout=10)
                ).workflow_execution.workflow_id
                for _ in records
            ]
        assert got == [f"wf-{i}" for i in range(5)]
        assert service.metrics.backlog_dispatches == 5
    finally:
        await service.stop()


async def test_long_poll_ends_empty_before_the_deadline(kafka_bootstrap: str, prefix: str) -> None:
    service = await started(MatchingService(config(kafka_bootstrap, prefix), FakeHistory()))
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            began = time.monotonic()
            response = await grpc_poll_workflow(channel, workflow_poll(), timeout=3.0)
            elapsed = time.monotonic() - began
            activity = await grpc_poll_activity(channel, activity_poll(), timeout=2.0)
        assert response == wsv1.PollWorkflowTaskQueueResponse()
        assert activity == wsv1.PollActivityTaskQueueResponse()
        # Answered about one second before the caller's deadline, not at it.
        assert 1.5 <= elapsed < 2.9
        assert service.waiting_polls(NS, "orders", "workflow") == 0
    finally:
        await service.stop()


async def test_stale_task_is_dropped_and_poll_keeps_waiting(
    kafka_bootstrap: str, prefix: str
) -> None:
    now = time.time_ns() // 1_000_000
    produce_tasks(
        kafka_bootstrap,
        prefix,
        [
            task_record("wf-stale", schedule_time_ms=now),
            task_record("wf-live", schedule_time_ms=now + 1),
        ],
    )
    history = FakeHistory(stale={"wf-stale"})
    service = await started(MatchingService(config(kafka_bootstrap, prefix), history))
    try:
        await eventually_async(lambda: service.backlog_size(NS, "orders", "workflow") == 2)
        response = await service.poll_workflow_task(workflow_poll(), time_remaining=10)
        assert response.workflow_execution.workflow_id == "wf-live"
        assert [c[1] for c in history.calls] == ["wf-stale", "wf-live"]
        assert service.metrics.stale == 1
    finally:
        await service.stop()


async def test_restart_redelivers_only_undispatched_tasks(
    kafka_bootstrap: str, prefix: str
) -> None:
    now = time.time_ns() // 1_000_000
    produce_tasks(
        kafka_bootstrap,
        prefix,
        [task_record(f"wf-{c}", schedule_time_ms=now + i) for i, c in enumerate("abc")],
    )
    first = await started(MatchingService(config(kafka_bootstrap, prefix), FakeHistory()))
    try:
        await eventually_async(lambda: first.backlog_size(NS, "orders", "workflow") == 3)
        got = await first.poll_workflow_task(workflow_poll(), time_remaining=10)
        assert got.workflow_execution.workflow_id == "wf-a"
    finally:
        await first.stop()

    second = await started(MatchingService(config(kafka_bootstrap, prefix), FakeHistory()))
    try:
        await eventually_async(lambda: second.backlog_size(NS, "orders", "workflow") == 2)
        got_b = await second.poll_workflow_task(workflow_poll(), time_remaining=10)
        got_c = await second.poll_workflow_task(workflow_poll(), time_remaining=10)
        assert got_b.workflow_execution.workflow_id == "wf-b"
        assert got_c.workflow_execution.workflow_id == "wf-c"
        empty = await second.poll_workflow_task(workflow_poll(), time_remaining=1.5)
        assert empty == wsv1.PollWorkflowTaskQueueResponse()
    finally:
        await second.stop()
    # Everything was dispatched: the committed position is past the last task.
    assert committed_offsets(kafka_bootstrap, prefix) == end_offsets(kafka_bootstrap, prefix)


async def test_activity_start_is_recorded_in_history_before_dispatch(
    kafka_bootstrap: str, prefix: str
) -> None:
    prebuilt = wsv1.PollActivityTaskQueueResponse(
        activity_id="act-1",
        activity_type=common_pb2.ActivityType(name="charge"),
        task_token=b"token-wf-act",
    )
    rec = task_record(
        "wf-act", kind="activity", tq_partition=3, payload=prebuilt.SerializeToString()
    )
    produce_tasks(kafka_bootstrap, prefix, [rec])
    history = FakeHistory()
    service = await started(MatchingService(config(kafka_bootstrap, prefix), history))
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            response = await grpc_poll_activity(
                channel, activity_poll(identity="act-worker"), timeout=10
            )
        assert response.activity_id == "act-1" and response.activity_type.name == "charge"
        assert response.attempt == 1
        assert response.HasField("started_time")
        assert response.current_attempt_scheduled_time.ToMilliseconds() == rec["schedule_time_ms"]
        ((kind, workflow_id, message),) = history.calls
        assert (kind, workflow_id) == (RECORD_ACTIVITY_TASK_STARTED, "wf-act")
        assert message.task_token == b"token-wf-act" and message.identity == "act-worker"
        assert message.scheduled_event_id == 5 and message.attempt == 1
        assert message.started_time_ms == response.started_time.ToMilliseconds()
    finally:
        await service.stop()


async def test_task_past_schedule_to_start_is_not_dispatched(
    kafka_bootstrap: str, prefix: str
) -> None:
    long_ago = time.time_ns() // 1_000_000 - 60_000
    produce_tasks(
        kafka_bootstrap,
        prefix,
        [task_record("wf-old", schedule_time_ms=long_ago, schedule_to_start_timeout_ms=1000)],
    )
    service = await started(MatchingService(config(kafka_bootstrap, prefix), FakeHistory()))
    try:
        await eventually_async(lambda: service.metrics.expired == 1)
        empty = await service.poll_workflow_task(workflow_poll(), time_remaining=1.5)
        assert empty == wsv1.PollWorkflowTaskQueueResponse()
    finally:
        await service.stop()


def committed_offsets(bootstrap: str, prefix: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{prefix}.matching"})
    try:
        tps = [TopicPartition(f"{prefix}.tasks", p) for p in range(4)]
        return {tp.partition: max(tp.offset, 0) for tp in consumer.committed(tps, timeout=10)}
    finally:
        consumer.close()


def end_offsets(bootstrap: str, prefix: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("ends")})
    try:
        return {
            p: consumer.get_watermark_offsets(TopicPartition(f"{prefix}.tasks", p), timeout=10)[1]
            for p in range(4)
        }
    finally:
        consumer.close()
