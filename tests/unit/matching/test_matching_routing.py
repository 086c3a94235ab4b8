"""Unit tests of matching's routing: stable partition hashes, poll keys, partition picking."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from matching_processor.queues import QueueKey
from matching_processor.routing import poll_keys
from schemas.placement import (
    PollPartitionPicker,
    parse_partitioned_name,
    topic_partition_for,
    tq_partition_for,
)


def test_topic_partition_is_sha256_of_the_queue_partition() -> None:
    digest = hashlib.sha256(b"default\x00orders\x00workflow\x002").digest()
    expected = int.from_bytes(digest[:8], "big") % 12
    assert topic_partition_for("default", "orders", "workflow", 2, 12) == expected


def test_topic_partition_is_stable_and_in_range() -> None:
    # Pinned values: a change here moves every task queue to another partition.
    assert topic_partition_for("default", "orders", "workflow", 0, 16) == 4
    assert topic_partition_for("default", "orders", "activity", 3, 16) == 9
    assert tq_partition_for("order-42") == 3
    for p in range(4):
        assert 0 <= topic_partition_for("ns", "q", "activity", p, 3) < 3
    assert topic_partition_for("ns", "q", "activity", 0, 1) == 0


def test_topic_partition_separates_kinds_and_partitions() -> None:
    spots = {
        topic_partition_for("default", f"q{i}", kind, p, 64)
        for i in range(20)
        for kind in ("workflow", "activity")
        for p in range(4)
    }
    assert len(spots) > 32  # spread, not all on a few partitions


def test_tq_partition_of_workflow_is_stable_and_spread() -> None:
    digest = hashlib.sha256(b"wf-1").digest()
    assert tq_partition_for("wf-1") == int.from_bytes(digest[:8], "big") % 4
    counts = Counter(tq_partition_for(f"wf-{i}") for i in range(400))
    assert set(counts) == {0, 1, 2, 3}
    assert min(counts.values()) > 60
    assert tq_partition_for("wf-1", 1) == 0


@pytest.mark.parametrize("n", [0, -1])
def test_partition_counts_must_be_positive(n: int) -> None:
    with pytest.raises(ValueError):
        topic_partition_for("ns", "q", "workflow", 0, n)
    with pytest.raises(ValueError):
        tq_partition_for("wf", n)


def test_parse_partitioned_name() -> None:
    assert parse_partitioned_name("orders") == ("orders", None)
    assert parse_partitioned_name("/_sys/orders/3") == ("orders", 3)
    assert parse_partitioned_name("/_sys/a/b/1") == ("a/b", 1)
    assert parse_partitioned_name("/_sys/orders/x") == ("/_sys/orders/x", None)
    assert parse_partitioned_name("/_sys/3") == ("/_sys/3", None)


def test_poll_keys_normal_queue_waits_on_all_partitions() -> None:
    keys = poll_keys("ns", "orders", "workflow", sticky=False)
    assert keys == tuple(QueueKey("ns", "orders", "workflow", p) for p in range(4))


def test_poll_keys_sticky_and_explicit_partition() -> None:
    assert poll_keys("ns", "host-1-sticky", "workflow", sticky=True) == (
        QueueKey("ns", "host-1-sticky", "workflow", 0),
    )
    assert poll_keys("ns", "/_sys/orders/2", "activity", sticky=False) == (
        QueueKey("ns", "orders", "activity", 2),
    )


def test_picker_round_robins_per_queue() -> None:
    picker = PollPartitionPicker(4)
    assert [picker.pick("ns", "a", "workflow", False) for _ in range(6)] == [0, 1, 2, 3, 0, 1]
    assert picker.pick("ns", "b", "workflow", False) == 0
    assert picker.pick("ns", "a", "activity", False) == 0
    assert picker.pick("ns", "sticky", "workflow", True) == 0
    assert picker.pick("ns", "/_sys/a/3", "workflow", False) == 3
