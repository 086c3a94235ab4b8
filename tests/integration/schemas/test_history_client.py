"""HistoryClient on a real broker: an idle reply reader still gets each reply at once, and a
command answered "shard moved" is sent again."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from temporalio.api.workflowservice.v1 import GetSystemInfoResponse

import schemas
from helpers import unique_name
from schemas.clients.history import REPLY_FETCH_WAIT_MS, HistoryClient
from schemas.reply import Reply
from schemas.topics import Topology

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


def _answer_commands(
    bootstrap: str,
    topology: Topology,
    stop: threading.Event,
    answer: Callable[[dict[str, Any]], Reply] = lambda command: Reply.of(GetSystemInfoResponse()),
) -> None:
    """A stand-in history: answers every inbox command on its reply partition."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("fake-history")})
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    consumer.assign([TopicPartition(topology.inbox, 0, 0)])
    try:
        while not stop.is_set():
            msg = consumer.poll(0.05)
            if msg is None or msg.error() or msg.value() is None:
                continue
            command = schemas.decode(msg.value() or b"", schemas.INBOX_COMMAND)
            reply = answer(command).to_record(command["command_id"])
            reply_to = command["reply_to"]
            producer.produce(
                reply_to["topic"],
                schemas.encode(schemas.REPLY, reply),
                partition=reply_to["partition"],
            )
            producer.flush(10)
    finally:
        consumer.close()


async def test_an_idle_reader_gets_replies_long_before_its_fetch_wait(
    kafka_bootstrap: str,
) -> None:
    topology = Topology(unique_name("replies"), shards=1, task_partitions=1, reply_partitions=1)
    topology.ensure(kafka_bootstrap)
    stop = threading.Event()
    history = threading.Thread(
        target=_answer_commands, args=(kafka_bootstrap, topology, stop), daemon=True
    )
    history.start()
    client = HistoryClient(kafka_bootstrap, topology, reply_partition=0)
    client.start()
    try:
        await client.call("default", "wf", "GetSystemInfo", b"", timeout=30)  # connections up
        seconds = []
        for _ in range(5):
            # Idle longer than the fetch wait: the reader's fetch is parked at the broker when
            # the reply is written, and the broker must answer it then, not at its deadline.
            await asyncio.sleep(REPLY_FETCH_WAIT_MS / 1000 * 1.2)
            began = time.monotonic()
            reply = await client.call("default", "wf", "GetSystemInfo", b"", timeout=30)
            seconds.append(time.monotonic() - began)
            assert reply.ok
        assert statistics.median(seconds) < REPLY_FETCH_WAIT_MS / 1000 / 2, seconds
    finally:
        client.close()
        stop.set()
        history.join(10)


async def test_a_command_answered_shard_moved_is_sent_again_and_its_caller_sees_the_next_answer(
    kafka_bootstrap: str,
) -> None:
    topology = Topology(unique_name("moved"), shards=1, task_partitions=1, reply_partitions=1)
    topology.ensure(kafka_bootstrap)
    seen: list[dict[str, Any]] = []

    def answer(command: dict[str, Any]) -> Reply:
        """The first two answers are a hand-over's, as a leaving history process sends them."""
        seen.append(command)
        return Reply.shard_moved() if len(seen) <= 2 else Reply.of(GetSystemInfoResponse())

    stop = threading.Event()
    history = threading.Thread(
        target=_answer_commands, args=(kafka_bootstrap, topology, stop, answer), daemon=True
    )
    history.start()
    client = HistoryClient(kafka_bootstrap, topology, reply_partition=0)
    client.start()
    try:
        reply = await client.call("default", "wf", "GetSystemInfo", b"the request", timeout=60)
        assert reply.ok and not reply.moved
        assert len(seen) == 3
        assert {command["payload"] for command in seen} == {b"the request"}
        assert len({command["command_id"] for command in seen}) == 3, "each send has its own id"
    finally:
        client.close()
        stop.set()
        history.join(10)
