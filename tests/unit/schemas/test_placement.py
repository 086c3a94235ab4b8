"""Shard and partition placement is the design's stable hash."""

from __future__ import annotations

import hashlib

import pytest

from schemas.placement import shard_for, tq_partition_for


def test_shard_is_sha256_prefix_modulo() -> None:
    digest = hashlib.sha256(b"default\x00order-42").digest()
    assert shard_for("default", "order-42", 7) == int.from_bytes(digest[:8], "big") % 7


def test_shard_is_stable_and_in_range() -> None:
    shards = {shard_for("ns", f"wf-{i}", 16) for i in range(500)}
    assert shards == set(range(16))
    assert shard_for("ns", "wf-1", 16) == shard_for("ns", "wf-1", 16)
    assert shard_for("ns-a", "wf-1", 1 << 30) != shard_for("ns-b", "wf-1", 1 << 30)


def test_partition_of_a_workflow() -> None:
    assert {tq_partition_for(f"wf-{i}") for i in range(100)} == {0, 1, 2, 3}


def test_bad_counts() -> None:
    with pytest.raises(ValueError):
        shard_for("ns", "wf", 0)
    with pytest.raises(ValueError):
        tq_partition_for("wf", 0)
