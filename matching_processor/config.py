"""Configuration of a matching process and the Kafka client settings derived from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas import inbox
from schemas.clients.matching import CLIENT_ID_PREFIX
from schemas.placement import DEFAULT_TQ_PARTITIONS
from schemas.topics import Topology

_WILDCARDS = ("0.0.0.0", "::", "[::]")


def advertised_host(grpc_host: str) -> str:
    """Where others reach a member bound to `grpc_host`: that host, or 127.0.0.1 for a wildcard."""
    return "127.0.0.1" if grpc_host in _WILDCARDS else grpc_host


@dataclass(frozen=True)
class MatchingConfig:
    """How one matching process connects, listens and commits.

    Attributes:
        bootstrap: Kafka bootstrap servers.
        prefix: Cluster name; topics are ``<prefix>.tasks`` and ``<prefix>.history.inbox``.
        grpc_host: Interface the internal gRPC server binds to.
        grpc_port: Its port; 0 picks a free one (tests).
        advertise_host: Host other processes reach the gRPC server at (goes into ``client.id``).
        n_tq_partitions: Partitions of a normal task queue: the cluster's setting
            (`Topology.tq_partitions`, read by `python -m matching_processor`).
        commit_interval: Seconds between saves of the progress and commits of the offsets.
        truncate_interval: Seconds between deletions of the task records below the
            committed offsets.
        history_timeout: Upper bound, seconds, of one Record*TaskStarted call.
        max_backlog_in_memory: Task records kept in memory per queue partition; the tasks
            after them keep only their offsets and are read again when the backlog drains.
        session_timeout_ms: Consumer-group session timeout; bounds hand-over after a crash
            (6 s, the broker's smallest by default, as the history's).
        extra_consumer: Additional librdkafka consumer settings.
        extra_producer: Additional librdkafka producer settings.
    """

    bootstrap: str
    prefix: str = "strom"
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 7235
    advertise_host: str = "127.0.0.1"
    n_tq_partitions: int = DEFAULT_TQ_PARTITIONS
    commit_interval: float = 1.0
    truncate_interval: float = 30.0
    history_timeout: float = 10.0
    max_backlog_in_memory: int = 10_000
    session_timeout_ms: int = 6_000
    extra_consumer: dict[str, Any] = field(default_factory=dict)
    extra_producer: dict[str, Any] = field(default_factory=dict)

    @property
    def tasks_topic(self) -> str:
        """The topic matching consumes."""
        return Topology(self.prefix).tasks

    @property
    def inbox_topic(self) -> str:
        """The history inbox, where ActivityTaskStarted goes."""
        return Topology(self.prefix).inbox

    @property
    def progress_topic(self) -> str:
        """Where each tasks partition's per-queue progress is kept."""
        return Topology(self.prefix).task_acks

    @property
    def group_id(self) -> str:
        """Consumer group of all matching processes of the cluster."""
        return Topology(self.prefix).matching_group

    def consumer_settings(self, advertised_address: str) -> dict[str, Any]:
        """librdkafka settings of the tasks consumer of a member reachable at the address."""
        return {
            "bootstrap.servers": self.bootstrap,
            "group.id": self.group_id,
            "client.id": f"{CLIENT_ID_PREFIX}{advertised_address}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": self.session_timeout_ms,
            # Members learn of a rebalance from their next heartbeat (as the history's do).
            "heartbeat.interval.ms": max(100, self.session_timeout_ms // 20),
            "partition.assignment.strategy": "range",
            "fetch.wait.max.ms": 100,
            **self.extra_consumer,
        }

    def producer_settings(self) -> dict[str, Any]:
        """librdkafka settings of the (non-transactional) inbox producer."""
        return {
            "bootstrap.servers": self.bootstrap,
            **inbox.PRODUCER_SETTINGS,
            **self.extra_producer,
        }
