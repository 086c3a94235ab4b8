"""HistoryClient on a real broker: an idle reply reader still gets each reply at once, a
command answered "shard moved" is sent again, and replies come as datagrams beside the topic."""

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
from streams import metrics
from streams.datagrams import DatagramSender

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


def _answer_commands(
    bootstrap: str,
    topology: Topology,
    stop: threading.Event,
    answer: Callable[[dict[str, Any]], Reply] = lambda command: Reply.of(GetSystemInfoResponse()),
    via: tuple[str, ...] = ("topic",),
) -> None:
    """A stand-in history: answers every inbox command on its reply partition (`via` "topic")
    and/or to the datagram address the command names (`via` "datagram")."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("fake-history")})
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    datagrams = DatagramSender()
    consumer.assign([TopicPartition(topology.inbox, 0, 0)])
    try:
        while not stop.is_set():
            msg = consumer.poll(0.05)
            if msg is None or msg.error() or msg.value() is None:
                continue
            command = schemas.decode(msg.value() or b"", schemas.INBOX_COMMAND)
            value = schemas.encode(schemas.REPLY, answer(command).to_record(command["command_id"]))
            if "datagram" in via and command["reply_datagram"]:
                datagrams.send(value, command["reply_datagram"])
            if "topic" in via:
                reply_to = command["reply_to"]
                producer.produce(reply_to["topic"], value, partition=reply_to["partition"])
                producer.flush(10)
    finally:
        consumer.close()
        datagrams.close()


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


def _replies_taken(path: str) -> float:
    return metrics.HISTORY_REPLIES.labels(path)._value.get()


@pytest.mark.parametrize(
    "via", [("datagram",), ("topic",), ("datagram", "topic")], ids=lambda v: "+".join(v)
)
async def test_a_client_with_a_datagram_socket_takes_the_first_copy_of_each_reply(
    kafka_bootstrap: str, via: tuple[str, ...]
) -> None:
    topology = Topology(unique_name("dgram"), shards=1, task_partitions=1, reply_partitions=1)
    topology.ensure(kafka_bootstrap)
    seen: list[dict[str, Any]] = []

    def answer(command: dict[str, Any]) -> Reply:
        seen.append(command)
        return Reply.of(GetSystemInfoResponse(server_version=f"answer-{len(seen)}"))

    stop = threading.Event()
    history = threading.Thread(
        target=_answer_commands,
        args=(kafka_bootstrap, topology, stop, answer, via),
        daemon=True,
    )
    history.start()
    client = HistoryClient(kafka_bootstrap, topology, reply_partition=0, datagram_host="127.0.0.1")
    client.start()
    before = {path: _replies_taken(path) for path in ("datagram", "topic")}
    try:
        assert client.datagram_address is not None
        assert client.datagram_address.startswith("127.0.0.1:")
        for n in range(1, 4):
            reply = await client.call("default", "wf", "GetSystemInfo", b"", timeout=30)
            assert reply.ok
            assert GetSystemInfoResponse.FromString(reply.payload).server_version == f"answer-{n}"
        assert {command["reply_datagram"] for command in seen} == {client.datagram_address}
        taken = {path: _replies_taken(path) - before[path] for path in before}
        assert sum(taken.values()) == 3, "each call is answered once, whatever came second"
        if via == ("topic",):
            assert taken["topic"] == 3
        elif via == ("datagram",):
            assert taken["datagram"] == 3
        else:
            assert taken["datagram"] >= 1, taken  # sent first, it normally wins every time
    finally:
        client.close()
        stop.set()
        history.join(10)


async def test_a_client_closed_from_another_thread_closes_its_datagram_socket_on_its_loop(
    kafka_bootstrap: str,
) -> None:
    topology = Topology(unique_name("dclose"), shards=1, task_partitions=1, reply_partitions=1)
    topology.ensure(kafka_bootstrap)
    client = HistoryClient(kafka_bootstrap, topology, reply_partition=0, datagram_host="127.0.0.1")
    client.start()
    sock = client._datagram_socket
    assert sock is not None and sock.fileno() >= 0
    await asyncio.to_thread(client.close)  # as matching_processor closes it
    for _ in range(100):
        if sock.fileno() == -1:
            break
        await asyncio.sleep(0.01)
    assert sock.fileno() == -1, "the loop never dropped and closed the socket"
