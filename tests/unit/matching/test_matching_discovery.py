"""Unit tests of matching owner discovery: member addresses, owner choice, lookup recovery."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from schemas.clients import directory as directory_module
from schemas.clients import matching as matching_client
from schemas.clients.directory import owners_from_description
from schemas.clients.matching import MatchingDirectory, choose_owner, parse_member_address


@dataclass
class Assignment:
    topic_partitions: list[TopicPartition]


@dataclass
class Member:
    client_id: str
    assignment: Assignment | None


@dataclass
class Description:
    members: list[Member] = field(default_factory=list)


def test_parse_member_address() -> None:
    assert parse_member_address("matching@127.0.0.1:7235") == "127.0.0.1:7235"
    assert parse_member_address("matching@[::1]:7235") == "[::1]:7235"
    assert parse_member_address("rdkafka") is None
    assert parse_member_address("matching@nohost") is None
    assert parse_member_address("matching@:7235") is None


def test_owners_from_description_maps_task_partitions() -> None:
    desc = Description(
        [
            Member(
                "matching@a:1",
                Assignment([TopicPartition("s.tasks", 0), TopicPartition("s.tasks", 2)]),
            ),
            Member(
                "matching@b:2", Assignment([TopicPartition("s.tasks", 1), TopicPartition("x", 5)])
            ),
            Member("someone-else", Assignment([TopicPartition("s.tasks", 3)])),
            Member("matching@c:3", None),
        ]
    )
    parse = parse_member_address
    assert owners_from_description(desc, "s.tasks", parse) == {0: "a:1", 2: "a:1", 1: "b:2"}
    assert owners_from_description(Description(), "s.tasks", parse) == {}


def test_choose_owner() -> None:
    owners = {0: "a:1", 1: "b:2"}
    assert choose_owner(owners, 1) == "b:2"
    assert choose_owner(owners, 7) == "a:1"  # unowned during a rebalance: any member
    assert choose_owner({}, 0) is None


class _Future:
    def __init__(self, value: object) -> None:
        self.value = value

    def result(self, timeout: float) -> object:
        return self.value


@dataclass
class _Admin:
    """An admin client that fails every lookup (broken) or answers one matching member."""

    broken: bool
    topic: str
    group: str

    def list_topics(self, topic: object, timeout: float) -> object:
        if self.broken:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT))
        meta = SimpleNamespace(partitions={0: None, 1: None}, error=None)
        return SimpleNamespace(topics={self.topic: meta})

    def describe_consumer_groups(self, groups: list[str], request_timeout: float) -> object:
        member = Member("matching@m:1", Assignment([TopicPartition(self.topic, 0)]))
        return {self.group: _Future(Description([member]))}


def test_a_lookup_failing_again_and_again_renews_the_admin_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[_Admin] = []

    def admin_client(settings: dict[str, str]) -> _Admin:
        # The first client stays broken, as librdkafka's was after a broker stall.
        made.append(_Admin(broken=not made, topic="s.tasks", group="s.matching"))
        return made[-1]

    monkeypatch.setattr(directory_module, "AdminClient", admin_client)
    directory = MatchingDirectory("127.0.0.1:1", prefix="s", refresh_interval=0)

    async def lookups() -> list[dict[int, str]]:
        return [await directory.refresh() for _ in range(4)]

    found = asyncio.run(lookups())
    assert found[:3] == [{}, {}, {}]
    assert len(made) == 2
    assert found[3] == {0: "m:1"}


def test_failed_calls_to_a_member_are_logged_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    failures = matching_client._FailureLog(every=5.0, clock=lambda: now[0])
    caplog.set_level("INFO", logger=matching_client.__name__)

    for tenth in range(60):  # 6 s of retried polls against a dead member, 10 a second
        now[0] = 100 + tenth / 10
        failures.note("127.0.0.1:1", "matching member 127.0.0.1:1 unavailable")
    failures.note("127.0.0.1:2", "matching member 127.0.0.1:2 unavailable")  # its own line

    assert [r.getMessage() for r in caplog.records] == [
        "matching member 127.0.0.1:1 unavailable",
        "matching member 127.0.0.1:1 unavailable (49 more like it in the last 5 s)",
        "matching member 127.0.0.1:2 unavailable",
    ]
