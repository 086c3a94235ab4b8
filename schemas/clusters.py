"""Multi-cluster metadata: remote clusters, Temporal's failover-version arithmetic, their store.

A Strom cluster's name is its topic prefix. The clusters it replicates with are
``strom.v1.RemoteCluster`` records on its compacted ``<prefix>.cluster`` topic, keyed
``remote-cluster/<name>`` beside the ClusterSettings record (whose reader skips other keys);
a null value removes one. Every write is acknowledged by all replicas before it returns, so
the table survives restarts like the namespaces do; reads go to the end of the topic, which
is cheap because operators change it rarely.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

FAILOVER_VERSION_INCREMENT = 10
"""Temporal's failover_version_increment: the same on every cluster of a replication group."""
DEFAULT_INITIAL_FAILOVER_VERSION = 1
"""A cluster's initial failover version unless configured (unique within a group)."""
KEY_PREFIX = "remote-cluster/"
KAFKA_BOOTSTRAP_HEADER = "strom-kafka-bootstrap"
"""The GetClusterInfo response header in which a Strom frontend names its cluster's Kafka:
a remote-cluster record holds the frontend address (Temporal's AddOrUpdateRemoteCluster),
and a replicator started from the record asks that frontend where to read its events."""
_TIMEOUT_S = 30.0


def cluster_id(cluster_name: str) -> str:
    """The id a Strom cluster reports in GetClusterInfo, derived from its name (stable)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"strom://{cluster_name}"))


def next_failover_version(initial: int, current: int, increment: int) -> int:
    """Temporal's GetNextFailoverVersion: the smallest version owned by a cluster above current.

    A cluster owns the versions ``v`` with ``v % increment == initial``; a namespace's events
    carry the version of the cluster that wrote them, so every failover moves the namespace
    to a larger version owned by the new active cluster.

    Raises:
        ValueError: ``initial`` is not in ``[0, increment)`` or ``increment`` is not positive.
    """
    if increment <= 0 or not 0 <= initial < increment:
        raise ValueError(f"initial failover version {initial} must be in [0, {increment})")
    version = (current // increment) * increment + initial
    return version if version >= current else version + increment


def owning_cluster_version(version: int, increment: int) -> int:
    """The initial failover version of the cluster that owns ``version``."""
    return version % increment


@dataclass(frozen=True)
class RemoteCluster:
    """One remote cluster, as Temporal's ClusterMetadata (``operator cluster list``).

    Attributes:
        name: The remote cluster's name (its topic prefix).
        cluster_id: Its id from GetClusterInfo.
        address: Its frontend's gRPC address.
        http_address: Its frontend's HTTP address, if given.
        initial_failover_version: The versions it owns (see `next_failover_version`).
        failover_version_increment: Must equal this cluster's.
        history_shard_count: Its shard count.
        connection_enabled: Temporal's enable_remote_cluster_connection.
        replication_enabled: Temporal's enable_replication.
        version: Increases with every change of the record.
    """

    name: str
    cluster_id: str
    address: str
    initial_failover_version: int
    history_shard_count: int
    connection_enabled: bool = True
    http_address: str = ""
    failover_version_increment: int = FAILOVER_VERSION_INCREMENT
    replication_enabled: bool = False
    version: int = 1

    def to_record(self) -> dict[str, Any]:
        """The dict ``schemas.encode(schemas.REMOTE_CLUSTER, ...)`` takes."""
        return {
            "name": self.name,
            "cluster_id": self.cluster_id,
            "address": self.address,
            "http_address": self.http_address,
            "initial_failover_version": self.initial_failover_version,
            "failover_version_increment": self.failover_version_increment,
            "history_shard_count": self.history_shard_count,
            "connection_enabled": self.connection_enabled,
            "replication_enabled": self.replication_enabled,
            "version": self.version,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> RemoteCluster:
        """The cluster of a decoded ``strom.v1.RemoteCluster`` record."""
        return cls(**record)


class ClusterStore(Protocol):
    """Where a cluster keeps its remote clusters (blocking calls; run them off the loop).

    Attributes:
        bootstrap: The Kafka bootstrap of the cluster the records are kept in ("" when they
            are not on Kafka); GetClusterInfo tells remote replicators this address.
    """

    bootstrap: str

    def list(self) -> list[RemoteCluster]:
        """Every remote cluster, by name."""

    def put(self, cluster: RemoteCluster) -> RemoteCluster:
        """Adds or replaces one (its version bumped over the stored one); returns it."""

    def remove(self, name: str) -> None:
        """Removes the named one (absent: nothing happens)."""


class InMemoryClusterStore:
    """A ClusterStore without Kafka, for tests and single-process tools."""

    def __init__(self, clusters: Iterable[RemoteCluster] = ()) -> None:
        self.bootstrap = ""
        self._lock = threading.Lock()
        self._clusters = {c.name: c for c in clusters}

    def list(self) -> list[RemoteCluster]:
        """Every remote cluster, by name."""
        with self._lock:
            return sorted(self._clusters.values(), key=lambda c: c.name)

    def put(self, cluster: RemoteCluster) -> RemoteCluster:
        """Adds or replaces one, bumping its version; returns what was stored."""
        with self._lock:
            old = self._clusters.get(cluster.name)
            stored = replace(cluster, version=old.version + 1 if old else 1)
            self._clusters[cluster.name] = stored
            return stored

    def remove(self, name: str) -> None:
        """Removes the named one."""
        with self._lock:
            self._clusters.pop(name, None)


class KafkaClusterStore:
    """The remote clusters of one cluster, on its ``<prefix>.cluster`` topic."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        from schemas.topics import Topology

        self.bootstrap = bootstrap
        self.topic = Topology(prefix).cluster

    def list(self) -> list[RemoteCluster]:
        """Reads the topic to its end; every remote cluster, by name.

        Raises:
            TimeoutError: The topic could not be read within 30 s.
        """
        import schemas
        from streams.readers import read_to_end

        found: dict[str, RemoteCluster] = {}
        for msg in read_to_end(self.bootstrap, self.topic, 0, _TIMEOUT_S):
            key = (msg.key() or b"").decode()
            if not key.startswith(KEY_PREFIX):
                continue  # the cluster settings record
            name, value = key[len(KEY_PREFIX) :], msg.value()
            if value is None:
                found.pop(name, None)
            else:
                record = schemas.decode(value, schemas.REMOTE_CLUSTER)
                found[name] = RemoteCluster.from_record(dict(record))
        return sorted(found.values(), key=lambda c: c.name)

    def put(self, cluster: RemoteCluster) -> RemoteCluster:
        """Writes the record (version bumped over the stored one) and returns it.

        Raises:
            TimeoutError, RuntimeError: Kafka did not take the write.
        """
        import schemas

        old = {c.name: c for c in self.list()}.get(cluster.name)
        stored = replace(cluster, version=old.version + 1 if old else 1)
        self._produce(cluster.name, schemas.encode(schemas.REMOTE_CLUSTER, stored.to_record()))
        return stored

    def remove(self, name: str) -> None:
        """Writes the tombstone of the named cluster."""
        self._produce(name, None)

    def _produce(self, name: str, value: bytes | None) -> None:
        from streams.connection import Producer

        producer = Producer(
            {"bootstrap.servers": self.bootstrap, "acks": "all", "enable.idempotence": True}
        )
        errors: list[Any] = []
        producer.produce(
            self.topic,
            value,
            f"{KEY_PREFIX}{name}".encode(),
            partition=0,
            on_delivery=lambda err, msg: errors.append(err),
        )
        if producer.flush(_TIMEOUT_S) != 0 or not errors:
            raise TimeoutError(f"write to {self.topic} not confirmed within {_TIMEOUT_S:.0f} s")
        if errors[0] is not None:
            raise RuntimeError(f"write to {self.topic} failed: {errors[0]}")
