"""Matching on a real broker: per-queue progress survives a restart, and the tasks topic keeps
its records (retention off) until matching has finished them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv1

from helpers import eventually, eventually_async, unique_name
from matching_processor.service import MatchingService
from schemas.inbox import RECORD_ACTIVITY_TASK_STARTED
from schemas.placement import ACTIVITY, topic_partition_for

from .harness import (
    NS,
    TASK_PARTITIONS,
    FakeHistory,
    activity_poll,
    config,
    create_topics,
    delete_topics,
    produce_tasks,
    task_record,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]

IDLE = "idle"


@pytest.fixture
def prefix(kafka_bootstrap: str) -> Iterator[str]:
    name = unique_name("mp")
    create_topics(kafka_bootstrap, name)
    yield name
    delete_topics(kafka_bootstrap, name)


def kafka_partition(queue: str) -> int:
    return topic_partition_for(NS, queue, ACTIVITY, 0, TASK_PARTITIONS)


def busy_queue() -> str:
    """A queue whose partition 0 shares its Kafka partition with the idle queue's."""
    return next(
        q for i in range(1000) if kafka_partition(q := f"busy-{i}") == kafka_partition(IDLE)
    )


async def started(service: MatchingService) -> MatchingService:
    await service.start()
    await eventually_async(lambda: len(service.assigned_partitions) == TASK_PARTITIONS, timeout=30)
    return service


def committed(bootstrap: str, prefix: str, partition: int) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{prefix}.matching"})
    try:
        (tp,) = consumer.committed([TopicPartition(f"{prefix}.tasks", partition)], timeout=10)
        return int(tp.offset)
    finally:
        consumer.close()


def log_start(bootstrap: str, prefix: str, partition: int) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("start")})
    try:
        tp = TopicPartition(f"{prefix}.tasks", partition)
        return int(consumer.get_watermark_offsets(tp, timeout=10, cached=False)[0])
    finally:
        consumer.close()


async def test_an_unpolled_queue_does_not_make_a_restart_redeliver_another_queues_tasks(
    kafka_bootstrap: str, prefix: str
) -> None:
    busy = busy_queue()
    part = kafka_partition(IDLE)
    # Interleaved: the idle queue's tasks sit before, between and after the busy queue's.
    records = []
    for i in range(6):
        records.append(task_record(f"idle-{i}", kind=ACTIVITY, queue=IDLE))
        records.append(task_record(f"busy-{i}", kind=ACTIVITY, queue=busy))
    produce_tasks(kafka_bootstrap, prefix, records)

    first_history = FakeHistory()
    first = await started(MatchingService(config(kafka_bootstrap, prefix), first_history))
    try:
        await eventually_async(lambda: first.backlog_size(NS, busy, ACTIVITY) == 6)
        got = [
            (await first.poll_activity_task(activity_poll(busy), time_remaining=10)).task_token
            for _ in range(6)
        ]
        assert got == [f"token-busy-{i}".encode() for i in range(6)]
        assert first.backlog_size(NS, IDLE, ACTIVITY) == 6
    finally:
        await first.stop()
    # The group offset cannot pass the idle queue's first task...
    assert committed(kafka_bootstrap, prefix, part) == 0

    second_history = FakeHistory()
    second = await started(MatchingService(config(kafka_bootstrap, prefix), second_history))
    try:
        # ...but the new owner knows which tasks were finished: only the idle ones come back.
        await eventually_async(lambda: second.metrics.finished_before == 6, timeout=30)
        assert second.backlog_size(NS, IDLE, ACTIVITY) == 6
        assert second.backlog_size(NS, busy, ACTIVITY) == 0
        empty = await second.poll_activity_task(activity_poll(busy), time_remaining=1.5)
        assert empty == wsv1.PollActivityTaskQueueResponse()
        assert second_history.calls == []
        # The idle queue is still served, in order, once someone polls it.
        first_idle = await second.poll_activity_task(activity_poll(IDLE), time_remaining=10)
        assert first_idle.task_token == b"token-idle-0"
        assert [c[0] for c in second_history.calls] == [RECORD_ACTIVITY_TASK_STARTED]
    finally:
        await second.stop()
    assert committed(kafka_bootstrap, prefix, part) == 2  # idle-0 at 0 and busy-0 at 1 done


async def test_tasks_are_kept_until_finished_then_deleted(
    kafka_bootstrap: str, prefix: str
) -> None:
    part = kafka_partition(IDLE)
    produce_tasks(
        kafka_bootstrap,
        prefix,
        [task_record(f"t-{i}", kind=ACTIVITY, queue=IDLE) for i in range(3)],
    )
    service = await started(
        MatchingService(config(kafka_bootstrap, prefix, truncate_interval=0.3), FakeHistory())
    )
    try:
        admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
        resource = ConfigResource(ResourceType.TOPIC, f"{prefix}.tasks")
        configs = admin.describe_configs([resource])[resource].result(10)
        assert configs["retention.ms"].value == "-1"  # nothing expires a waiting task
        await eventually_async(lambda: service.backlog_size(NS, IDLE, ACTIVITY) == 3)
        await asyncio.sleep(1.0)
        assert log_start(kafka_bootstrap, prefix, part) == 0  # unfinished: kept
        for _ in range(2):
            await service.poll_activity_task(activity_poll(IDLE), time_remaining=10)
        await asyncio.to_thread(
            eventually, lambda: log_start(kafka_bootstrap, prefix, part) == 2, timeout=20
        )
    finally:
        await service.stop()


async def test_a_long_backlog_is_held_as_offsets_and_served_in_order(
    kafka_bootstrap: str, prefix: str
) -> None:
    produce_tasks(
        kafka_bootstrap,
        prefix,
        [task_record(f"s-{i}", kind=ACTIVITY, queue=IDLE) for i in range(12)],
    )
    service = await started(
        MatchingService(config(kafka_bootstrap, prefix, max_backlog_in_memory=4), FakeHistory())
    )
    try:
        await eventually_async(lambda: service.backlog_size(NS, IDLE, ACTIVITY) == 12)
        assert service.metrics.spilled == 8  # only 4 records in memory, 8 offsets
        got = [
            (await service.poll_activity_task(activity_poll(IDLE), time_remaining=10)).task_token
            for _ in range(12)
        ]
        assert got == [f"token-s-{i}".encode() for i in range(12)]
        assert service.metrics.reloaded == 8
    finally:
        await service.stop()
