"""Namespace records, the in-memory registry, and folding the topic without a broker."""

from __future__ import annotations

import schemas
from schemas.namespaces import (
    InMemoryNamespaceRegistry,
    KafkaNamespaceRegistry,
    Namespace,
    NamespaceTable,
    State,
    default_namespace,
)


def test_record_round_trip_through_the_avro_schema() -> None:
    namespace = Namespace(
        name="orders",
        id="4c5f9a51-2a8e-4a5b-9a8e-2c4f4f6a1b10",
        state=State.DEPRECATED,
        description="d",
        owner_email="o@example.com",
        retention_ms=7 * 86_400_000,
        data={"team": "payments"},
        version=3,
    )

    data = schemas.encode(schemas.NAMESPACE, namespace.to_record())

    assert Namespace.from_record(schemas.decode(data, schemas.NAMESPACE)) == namespace


def test_default_namespace_is_stable_per_cluster() -> None:
    first, second = default_namespace("strom"), default_namespace("strom")

    assert first == second
    assert first.id != default_namespace("other").id
    assert first.retention_ms == 86_400_000
    assert first.state is State.REGISTERED


def test_table_by_name_and_id() -> None:
    table = NamespaceTable([Namespace("a", "id-a"), Namespace("b", "id-b")])
    table.put(Namespace("a", "id-a2"))

    assert table.get_by_id("id-a") is None
    assert table.get("a") == table.get_by_id("id-a2")
    assert [ns.name for ns in table.list()] == ["a", "b"]
    table.remove("a")
    assert table.get("a") is None and table.get_by_id("id-a2") is None


def test_in_memory_registry_ensure_default_once() -> None:
    registry = InMemoryNamespaceRegistry()

    first = registry.ensure_default()
    again = registry.ensure_default()

    assert first is again
    assert registry.get("default") == first


def test_register_bumps_the_version() -> None:
    registry = InMemoryNamespaceRegistry()
    registry.register(Namespace("a", "id-a"))
    registry.register(Namespace("a", "id-a", description="changed"))

    assert registry.get("a") == Namespace("a", "id-a", description="changed", version=2)


def test_kafka_registry_folds_records_and_tombstones() -> None:
    registry = KafkaNamespaceRegistry("127.0.0.1:1", cluster_name="c1")  # never started
    namespace = Namespace("orders", "id-orders")

    registry.apply(b"orders", schemas.encode(schemas.NAMESPACE, namespace.to_record()))
    registry.apply(b"junk", b"not avro")  # skipped, logged
    assert registry.topic == "c1.namespaces"
    assert registry.get("orders") == namespace
    assert registry.get("junk") is None

    registry.apply(b"orders", None)
    assert registry.get("orders") is None
