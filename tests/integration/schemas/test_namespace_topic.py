"""Namespaces on the compacted namespaces topic, read by several processes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from helpers import eventually, unique_name
from schemas.namespaces import KafkaNamespaceRegistry, Namespace, State, deleted_name
from schemas.topics import Topology

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


def test_changes_reach_every_reader_and_a_fresh_one(kafka_bootstrap: str) -> None:
    prefix = unique_name("nstopic")
    Topology(prefix, shards=1, task_partitions=1, reply_partitions=1).ensure(kafka_bootstrap)
    writer = KafkaNamespaceRegistry(kafka_bootstrap, prefix)  # one frontend
    reader = KafkaNamespaceRegistry(kafka_bootstrap, prefix)  # another, or a history process
    writer.start()
    reader.start()
    try:
        orders = writer.register(Namespace(name="orders", id="id-orders", description="v1"))
        writer.register(replace(orders, description="v2", data={"frontend.namespaceRPS": "5"}))
        seen = eventually(lambda: reader.get("orders"))
        eventually(lambda: reader.get("orders") and reader.get("orders").description == "v2")
        assert seen.id == "id-orders"

        # Delete as the frontend does: the renamed record, then the old name's tombstone.
        current = writer.get("orders")
        assert current is not None and current.version == 2
        renamed = replace(current, name=deleted_name(current), state=State.DELETED)
        writer.register(renamed)
        writer.unregister("orders")
        assert writer.get("orders") is None
        eventually(lambda: reader.get("orders") is None)
        assert reader.get_by_id("id-orders") == writer.get_by_id("id-orders")
        assert writer.get_by_id("id-orders").name == renamed.name  # type: ignore[union-attr]
    finally:
        writer.close()
        reader.close()

    fresh = KafkaNamespaceRegistry(kafka_bootstrap, prefix)  # a process started later
    fresh.start()
    try:
        assert fresh.get("orders") is None
        found = fresh.get_by_id("id-orders")
        assert found is not None
        assert (found.name, found.state, found.rps_limit) == (renamed.name, State.DELETED, 5.0)
    finally:
        fresh.close()
