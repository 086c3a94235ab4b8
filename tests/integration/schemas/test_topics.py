"""The cluster's topics and its settings on a real broker."""

from __future__ import annotations

import pytest

from helpers import unique_name
from schemas.topics import DEV_SHARDS, Topology
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


def test_start_dev_gives_a_new_cluster_its_shards_and_an_old_one_keeps_its_own(
    kafka_bootstrap: str,
) -> None:
    from strom._devserver.errors import DevServerError
    from strom._devserver.services import dev_topology

    prefix = unique_name("dev")
    new = dev_topology(kafka_bootstrap, prefix, None)
    assert (new.shards, new.task_partitions) == (DEV_SHARDS, DEV_SHARDS)
    assert dev_topology(kafka_bootstrap, unique_name("dev"), 3).shards == 3
    Topology(prefix, shards=5, task_partitions=4, reply_partitions=2).ensure(kafka_bootstrap)
    kept = dev_topology(kafka_bootstrap, prefix, None)
    assert (kept.shards, kept.task_partitions, kept.reply_partitions) == (5, 4, 2)
    assert dev_topology(kafka_bootstrap, prefix, 5) == kept
    with pytest.raises(DevServerError, match="already has 5 history shards; --shards 2 applies"):
        dev_topology(kafka_bootstrap, prefix, 2)
