"""Unit tests of matching owner discovery's pure parts: member addresses and owner choice."""

from __future__ import annotations

from dataclasses import dataclass, field

from confluent_kafka import TopicPartition

from schemas.clients.matching import (
    choose_owner,
    owners_from_description,
    parse_member_address,
)


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
    assert owners_from_description(desc, "s.tasks") == {0: "a:1", 2: "a:1", 1: "b:2"}
    assert owners_from_description(Description(), "s.tasks") == {}


def test_choose_owner() -> None:
    owners = {0: "a:1", 1: "b:2"}
    assert choose_owner(owners, 1) == "b:2"
    assert choose_owner(owners, 7) == "a:1"  # unowned during a rebalance: any member
    assert choose_owner({}, 0) is None
