"""The cluster's topics and its settings on a real broker."""

from __future__ import annotations

import pytest

from helpers import unique_name
from schemas.topics import Topology
from streams.exceptions import TopicAdminError

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


def test_task_queue_partitions_are_a_cluster_setting(kafka_bootstrap: str) -> None:
    prefix = unique_name("settings")
    Topology(prefix, shards=2, task_partitions=2, reply_partitions=2, tq_partitions=3).ensure(
        kafka_bootstrap
    )
    found = Topology.from_cluster(kafka_bootstrap, prefix)
    assert (found.shards, found.task_partitions, found.tq_partitions) == (2, 2, 3)
    # Ensuring again with the same settings is a no-op; other settings are refused.
    Topology(prefix, shards=2, task_partitions=2, reply_partitions=2, tq_partitions=3).ensure(
        kafka_bootstrap
    )
    with pytest.raises(TopicAdminError, match="created with 3 task-queue partitions"):
        Topology(prefix, shards=2, task_partitions=2, reply_partitions=2, tq_partitions=4).ensure(
            kafka_bootstrap
        )
