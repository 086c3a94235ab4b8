"""Owner discovery on a real broker: directory from the consumer group, client forwarding."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb2
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv1

from helpers import eventually_async, unique_name
from matching_processor.service import MatchingService
from schemas.clients.matching import MatchingClient, MatchingDirectory
from schemas.placement import topic_partition_for

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
    workflow_poll,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


@pytest.fixture
def prefix(kafka_bootstrap: str) -> Iterator[str]:
    name = unique_name("md")
    create_topics(kafka_bootstrap, name)
    yield name
    delete_topics(kafka_bootstrap, name)


async def test_client_reaches_the_only_member(kafka_bootstrap: str, prefix: str) -> None:
    service = MatchingService(config(kafka_bootstrap, prefix), FakeHistory())
    await service.start()
    directory = MatchingDirectory(kafka_bootstrap, prefix, refresh_interval=0.5)
    client = MatchingClient(directory)
    try:
        owners = await eventually_async(directory.refresh, timeout=30)
        assert owners == {p: service.address for p in range(TASK_PARTITIONS)}
        assert await directory.n_partitions() == TASK_PARTITIONS
        poll = asyncio.create_task(
            client.poll_workflow_task(workflow_poll(), deadline=time.monotonic() + 20)
        )
        await eventually_async(lambda: service.waiting_polls(NS, "orders", "workflow") == 1)
        produce_tasks(kafka_bootstrap, prefix, [task_record("wf-1", tq_partition=1)])
        response = await poll
        assert response.workflow_execution.workflow_id == "wf-1"
        # Nothing there: the client answers empty at its deadline.
        began = time.monotonic()
        empty = await client.poll_activity_task(activity_poll(), deadline=time.monotonic() + 2)
        assert empty == wsv1.PollActivityTaskQueueResponse()
        assert time.monotonic() - began < 3
    finally:
        await client.close()
        await service.stop()


async def test_two_members_split_partitions_and_polls_follow_owners(
    kafka_bootstrap: str, prefix: str
) -> None:
    first = MatchingService(config(kafka_bootstrap, prefix), FakeHistory())
    second = MatchingService(config(kafka_bootstrap, prefix), FakeHistory())
    directory = MatchingDirectory(kafka_bootstrap, prefix, refresh_interval=0.5)
    client = MatchingClient(directory)
    await first.start()
    try:
        await eventually_async(lambda: len(first.assigned_partitions) == TASK_PARTITIONS, 30)
        waiting = asyncio.create_task(first.poll_workflow_task(workflow_poll(), 50))
        await eventually_async(lambda: first.waiting_polls(NS, "orders", "workflow") == 1)
        began = time.monotonic()
        await second.start()
        # The rebalance revokes the first member's partitions: its waiting poll ends empty at
        # once instead of holding a worker on a queue it may no longer own.
        assert await waiting == wsv1.PollWorkflowTaskQueueResponse()
        assert time.monotonic() - began < 30

        def split() -> bool:
            a, b = first.assigned_partitions, second.assigned_partitions
            return bool(a) and bool(b) and len(a | b) == TASK_PARTITIONS and not a & b

        await eventually_async(split, timeout=30)

        async def owners_known() -> bool:
            owners = await directory.refresh()
            return set(owners.values()) == {first.address, second.address}

        await eventually_async(owners_known, timeout=30)
        owners = await directory.owners()
        by_address = {first.address: first, second.address: second}
        for tq_partition in range(4):
            owner = by_address[
                owners[topic_partition_for(NS, "orders", "workflow", tq_partition, 4)]
            ]
            produce_tasks(
                kafka_bootstrap,
                prefix,
                [task_record(f"wf-{tq_partition}", tq_partition=tq_partition)],
            )
            request = wsv1.PollWorkflowTaskQueueRequest(
                namespace=NS,
                task_queue=tq_pb2.TaskQueue(name=f"/_sys/orders/{tq_partition}"),
                identity="w",
            )
            response = await client.poll_workflow_task(request, deadline=time.monotonic() + 15)
            assert response.workflow_execution.workflow_id == f"wf-{tq_partition}"
            assert owner.metrics.sync_matches + owner.metrics.backlog_dispatches >= 1
        total = sum(s.metrics.sync_matches + s.metrics.backlog_dispatches for s in (first, second))
        assert total == 4
    finally:
        await client.close()
        await second.stop()
        await first.stop()
