"""HistoryClient's direct path on a real broker, against a stand-in history process that
joins the history group and advertises a direct input: commands go there, a moved answer and a
connection that ends send them through the inbox instead."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from temporalio.api.workflowservice.v1 import GetSystemInfoResponse

import schemas
from helpers import unique_name
from schemas.clients.history import HistoryClient
from schemas.reply import Reply
from schemas.topics import Topology
from streams import metrics
from streams.direct import ADDRESS_MARK, DirectInput

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]

# (command, came directly) -> the answer, or None to close the direct input without one
Answer = Callable[[dict[str, Any], bool], Reply | None]


class StandInHistory:
    """Owns the inbox's one partition in the history group and answers on the reply topic."""

    def __init__(
        self, bootstrap: str, topology: Topology, answer: Answer, acknowledge: bool = True
    ) -> None:
        self._acknowledge = acknowledge
        self.direct: DirectInput | None = DirectInput("127.0.0.1")
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": topology.history_group,
                "client.id": f"stand-in{ADDRESS_MARK}{self.direct.address}",
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 6000,
            }
        )
        self._producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
        self._topology = topology
        self._answer = answer
        self.seen: list[tuple[dict[str, Any], bool]] = []
        self.assigned = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> StandInHistory:
        self._consumer.subscribe([self._topology.inbox], on_assign=lambda *_: self.assigned.set())
        self._thread.start()
        assert self.assigned.wait(30), "the stand-in never got the inbox partition"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self._consumer.close()
        if self.direct is not None:
            self.direct.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            inputs: list[tuple[bytes, bool]] = []
            msg = self._consumer.poll(0.01)
            if msg is not None and not msg.error() and msg.value():
                inputs.append((msg.value() or b"", False))
            if self.direct is not None:
                inputs += [(value, True) for _, _, value in self.direct.drain()]
            for value, direct in inputs:
                command = schemas.decode(value, schemas.INBOX_COMMAND)
                self.seen.append((command, direct))
                reply = self._answer(command, direct)
                if reply is None:  # as a history process that dies with the command
                    if self.direct is not None:
                        self.direct.close()
                        self.direct = None
                    continue
                if self._acknowledge and self.direct is not None:  # as after a commit
                    self.direct.acknowledge(self.direct.received())
                reply_to = command["reply_to"]
                if reply_to is None:
                    continue  # nobody waits for an answer
                value = schemas.encode(schemas.REPLY, reply.to_record(command["command_id"]))
                self._producer.produce(reply_to["topic"], value, partition=reply_to["partition"])
                self._producer.flush(10)


def _commands(path: str) -> float:
    return metrics.HISTORY_COMMANDS.labels(path)._value.get()


def _topology(name: str, bootstrap: str) -> Topology:
    topology = Topology(unique_name(name), shards=1, task_partitions=1, reply_partitions=1)
    topology.ensure(bootstrap)
    return topology


def _ok(n: int) -> Reply:
    return Reply.of(GetSystemInfoResponse(server_version=f"answer-{n}"))


async def test_commands_go_straight_to_the_process_that_owns_their_shard(
    kafka_bootstrap: str,
) -> None:
    topology = _topology("direct", kafka_bootstrap)
    with StandInHistory(kafka_bootstrap, topology, lambda c, d: _ok(1)) as history:
        client = HistoryClient(kafka_bootstrap, topology, reply_partition=0)
        client.start()
        before = {path: _commands(path) for path in ("direct", "inbox")}
        try:
            for _ in range(5):
                reply = await client.call("default", "wf", "GetSystemInfo", b"x", timeout=30)
                assert reply.ok
        finally:
            client.close()
        assert [direct for _, direct in history.seen] == [True] * 5
        assert _commands("direct") - before["direct"] == 5
        assert _commands("inbox") == before["inbox"]


async def test_a_client_without_the_direct_path_uses_the_inbox(kafka_bootstrap: str) -> None:
    topology = _topology("nodirect", kafka_bootstrap)
    with StandInHistory(kafka_bootstrap, topology, lambda c, d: _ok(1)) as history:
        client = HistoryClient(kafka_bootstrap, topology, reply_partition=0, direct=False)
        client.start()
        try:
            assert (await client.call("default", "wf", "GetSystemInfo", b"", timeout=30)).ok
        finally:
            client.close()
        assert [direct for _, direct in history.seen] == [False]


async def test_a_direct_command_answered_moved_goes_again_through_the_inbox(
    kafka_bootstrap: str,
) -> None:
    topology = _topology("dmoved", kafka_bootstrap)

    def answer(command: dict[str, Any], direct: bool) -> Reply:
        # As history answers a completion that overtook its task's start in the inbox.
        return Reply.shard_moved() if direct else _ok(2)

    with StandInHistory(kafka_bootstrap, topology, answer) as history:
        client = HistoryClient(kafka_bootstrap, topology, reply_partition=0)
        client.start()
        try:
            reply = await client.call("default", "wf", "GetSystemInfo", b"req", timeout=30)
        finally:
            client.close()
        assert reply.ok
        assert GetSystemInfoResponse.FromString(reply.payload).server_version == "answer-2"
        assert [direct for _, direct in history.seen] == [True, False]
        assert {c["payload"] for c, _ in history.seen} == {b"req"}


async def test_a_command_whose_connection_ends_unanswered_goes_through_the_inbox(
    kafka_bootstrap: str,
) -> None:
    topology = _topology("dlost", kafka_bootstrap)

    def answer(command: dict[str, Any], direct: bool) -> Reply | None:
        return None if direct else _ok(3)  # the direct input dies with the command

    with StandInHistory(kafka_bootstrap, topology, answer) as history:
        client = HistoryClient(kafka_bootstrap, topology, reply_partition=0)
        client.start()
        try:
            reply = await client.call("default", "wf", "GetSystemInfo", b"req", timeout=30)
        finally:
            client.close()
        assert GetSystemInfoResponse.FromString(reply.payload).server_version == "answer-3"
        # The same command, with the same id, produced to the inbox.
        assert [direct for _, direct in history.seen] == [True, False]
        assert len({c["command_id"] for c, _ in history.seen}) == 1


@pytest.mark.parametrize("acknowledged", [True, False], ids=["acknowledged", "unacknowledged"])
async def test_a_one_way_command_is_produced_to_the_inbox_if_its_connection_ends_first(
    kafka_bootstrap: str, acknowledged: bool
) -> None:
    topology = _topology(f"post{int(acknowledged)}", kafka_bootstrap)
    with StandInHistory(
        kafka_bootstrap, topology, lambda c, d: _ok(1), acknowledge=acknowledged
    ) as history:
        client = HistoryClient(kafka_bootstrap, topology, reply_partition=0)
        client.start()
        try:
            assert await client.post("default", "wf", "GetSystemInfo", b"one-way", 0)
            await _eventually(lambda: len(history.seen) == 1)
            direct = history.direct
            assert direct is not None
            history.direct = None
            direct.close()  # the history goes away (after its commit, or before it)
            if acknowledged:
                await asyncio.sleep(2)  # past the grace: nothing comes again
                assert [d for _, d in history.seen] == [True]
            else:
                await _eventually(lambda: len(history.seen) == 2)
                assert [d for _, d in history.seen] == [True, False]
                assert len({c["command_id"] for c, _ in history.seen}) == 1
        finally:
            client.close()


async def test_post_says_when_no_owner_takes_commands_directly(kafka_bootstrap: str) -> None:
    topology = _topology("noowner", kafka_bootstrap)
    client = HistoryClient(kafka_bootstrap, topology, reply_partition=0)
    client.start()
    try:
        assert not await client.post("default", "wf", "GetSystemInfo", b"", 0)
    finally:
        client.close()


async def _eventually(predicate: Callable[[], bool], timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "never happened"
        await asyncio.sleep(0.05)
