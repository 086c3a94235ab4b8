"""A Strom cluster as Kafka holds it: its topics, settings and consumer-group lag."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from confluent_kafka import (
    ConsumerGroupTopicPartitions,
    IsolationLevel,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import ConfigResource, OffsetSpec, ResourceType

from schemas.topics import Topology
from streams.connection import AdminClient
from streams.exceptions import TopicAdminError

DEFAULT_TIMEOUT_S = 10.0

# librdkafka reports an offset that was never committed as this sentinel (OFFSET_INVALID).
_NO_OFFSET = -1001


class KafkaToolError(Exception):
    """A Kafka-side tool cannot do its work; the message says why, in one line."""


class BrokerUnreachableError(KafkaToolError):
    """No Kafka broker answered at the bootstrap address."""


class ClusterNotFoundError(KafkaToolError):
    """The broker holds no Strom cluster (or not all of its topics) under the prefix."""


class HistoryNotFoundError(KafkaToolError):
    """The events topic holds no history for the workflow (or the run) asked for."""


def client_config(bootstrap: str, **extra: Any) -> dict[str, Any]:
    """Configuration of a short-lived tool client: quiet, since every failure is raised instead.

    librdkafka would otherwise print each failed connection attempt to stderr while the tool
    is already going to report the failure in one line.
    """
    return {"bootstrap.servers": bootstrap, "log_level": 0, "error_cb": _ignore, **extra}


def _ignore(_error: KafkaError) -> None:
    pass


def tool_group_id(purpose: str) -> str:
    """A consumer group id no one else uses (tools assign partitions and never commit)."""
    return f"strom-tools.{purpose}.{uuid.uuid4().hex[:12]}"


@dataclass
class Cluster:
    """A reachable broker holding every topic of one Strom cluster."""

    bootstrap: str
    prefix: str
    timeout: float
    admin: AdminClient
    partitions: dict[str, int]  # topic name -> partition count, for the cluster's topics

    @classmethod
    def open(cls, bootstrap: str, prefix: str, timeout: float = DEFAULT_TIMEOUT_S) -> Cluster:
        """Connects and checks that every topic of the cluster exists.

        Raises:
            BrokerUnreachableError: No broker answered within `timeout` seconds.
            ClusterNotFoundError: Some or all of the cluster's topics are missing.
        """
        admin = AdminClient(client_config(bootstrap))
        try:
            topics = admin.list_topics(timeout=timeout).topics
        except KafkaException as exc:
            raise BrokerUnreachableError(
                f"cannot reach Kafka at {bootstrap} within {timeout:g} s ({_reason(exc)})"
            ) from exc
        names = [spec.name for spec in Topology(prefix).specs()]
        missing = [name for name in names if name not in topics]
        if len(missing) == len(names):
            raise ClusterNotFoundError(
                f"no Strom cluster {prefix!r} at {bootstrap}: none of its topics "
                f"({prefix}.history.events, ...) exist; --prefix names the cluster"
            )
        if missing:
            raise ClusterNotFoundError(
                f"Strom cluster {prefix!r} at {bootstrap} lacks the topics {', '.join(missing)}"
            )
        partitions = {name: len(topics[name].partitions) for name in names}
        return cls(bootstrap, prefix, timeout, admin, partitions)

    def topology(self) -> Topology:
        """The cluster's topology, with the settings stored on its cluster topic."""
        try:
            return Topology.from_cluster(self.bootstrap, self.prefix)
        except TopicAdminError as exc:
            raise ClusterNotFoundError(str(exc)) from exc

    def offsets(self, topic: str, spec: OffsetSpec) -> dict[int, int]:
        """Offsets of every partition of a topic (committed data only), by partition."""
        request = {TopicPartition(topic, p): spec for p in range(self.partitions[topic])}
        futures = self.admin.list_offsets(
            request, isolation_level=IsolationLevel.READ_COMMITTED, request_timeout=self.timeout
        )
        return {tp.partition: _result(f, self.timeout).offset for tp, f in futures.items()}


def _reason(exc: KafkaException) -> str:
    error = exc.args[0] if exc.args else None
    return error.str() if isinstance(error, KafkaError) else str(exc)


def _result(future: Any, timeout: float) -> Any:
    try:
        return future.result(timeout=timeout)
    except KafkaException as exc:
        raise KafkaToolError(f"Kafka refused a request: {_reason(exc)}") from exc
    except TimeoutError as exc:
        raise KafkaToolError(f"Kafka did not answer within {timeout:g} s") from exc


@dataclass(frozen=True)
class TopicInfo:
    """One topic of the cluster as the broker holds it."""

    name: str
    partitions: int
    cleanup_policy: str
    retention_ms: int | None
    end_offsets: int  # summed over partitions


@dataclass(frozen=True)
class PartitionLag:
    """One partition of a group's input: the group's committed offset against the end."""

    partition: int
    committed: int | None  # None: the group never committed here
    end: int
    lag: int


@dataclass(frozen=True)
class GroupLag:
    """A consumer group of the cluster and how far behind its input topic it is."""

    role: str
    group: str
    topic: str
    state: str
    members: int
    partitions: tuple[PartitionLag, ...]

    @property
    def committed(self) -> int:
        """Committed offsets summed over the partitions that have one."""
        return sum(p.committed for p in self.partitions if p.committed is not None)

    @property
    def end(self) -> int:
        """End offsets summed over the partitions."""
        return sum(p.end for p in self.partitions)

    @property
    def lag(self) -> int:
        """Offsets not yet consumed, summed over the partitions."""
        return sum(p.lag for p in self.partitions)


@dataclass(frozen=True)
class ClusterLayout:
    """What `strom topics` shows: the topology, each topic and each group's lag."""

    bootstrap: str
    topology: Topology
    topics: tuple[TopicInfo, ...]
    groups: tuple[GroupLag, ...]

    def to_json(self) -> dict[str, Any]:
        """The layout as plain JSON values."""
        t = self.topology
        return {
            "bootstrap": self.bootstrap,
            "prefix": t.prefix,
            "settings": {
                "shards": t.shards,
                "task_partitions": t.task_partitions,
                "reply_partitions": t.reply_partitions,
                "tq_partitions": t.tq_partitions,
            },
            "topics": [vars(topic) for topic in self.topics],
            "groups": [
                {
                    "role": g.role,
                    "group": g.group,
                    "topic": g.topic,
                    "state": g.state,
                    "members": g.members,
                    "committed": g.committed,
                    "end": g.end,
                    "lag": g.lag,
                    "partitions": [vars(p) for p in g.partitions],
                }
                for g in self.groups
            ],
        }


def group_inputs(topology: Topology) -> list[tuple[str, str, str]]:
    """(role, group, input topic) of each consumer group that commits offsets."""
    return [
        ("history", topology.history_group, topology.inbox),
        ("matching", topology.matching_group, topology.tasks),
        ("visibility indexer", topology.indexer_group, topology.visibility),
    ]


def describe_cluster(cluster: Cluster) -> ClusterLayout:
    """Reads the layout of an open cluster and the lag of its consumer groups."""
    topology = cluster.topology()
    specs = topology.specs()
    configs = _topic_configs(cluster, [spec.name for spec in specs])
    ends = {spec.name: cluster.offsets(spec.name, OffsetSpec.latest()) for spec in specs}
    topics = tuple(
        TopicInfo(
            name=spec.name,
            partitions=cluster.partitions[spec.name],
            cleanup_policy=configs[spec.name].get("cleanup.policy", "?"),
            retention_ms=_int_or_none(configs[spec.name].get("retention.ms")),
            end_offsets=sum(ends[spec.name].values()),
        )
        for spec in specs
    )
    groups = tuple(
        _group_lag(cluster, role, group, topic, ends[topic])
        for role, group, topic in group_inputs(topology)
    )
    return ClusterLayout(cluster.bootstrap, topology, topics, groups)


def _topic_configs(cluster: Cluster, names: list[str]) -> dict[str, dict[str, str]]:
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in names]
    futures = cluster.admin.describe_configs(resources, request_timeout=cluster.timeout)
    found = {}
    for resource, future in futures.items():
        entries = _result(future, cluster.timeout)
        found[resource.name] = {key: entry.value for key, entry in entries.items()}
    return found


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None and value.lstrip("-").isdigit() else None


def _group_lag(
    cluster: Cluster, role: str, group: str, topic: str, ends: dict[int, int]
) -> GroupLag:
    request = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in ends])]
    futures = cluster.admin.list_consumer_group_offsets(request, request_timeout=cluster.timeout)
    listed = _result(futures[group], cluster.timeout)
    committed = {
        tp.partition: tp.offset
        for tp in listed.topic_partitions
        if tp.error is None and tp.offset != _NO_OFFSET
    }
    lows = cluster.offsets(topic, OffsetSpec.earliest()) if len(committed) < len(ends) else {}
    partitions = []
    for partition, end in sorted(ends.items()):
        offset = committed.get(partition)
        # A group that never committed starts from the earliest offset (all services use
        # auto.offset.reset=earliest), so everything still in the partition is its lag.
        start = offset if offset is not None else lows[partition]
        partitions.append(PartitionLag(partition, offset, end, max(end - start, 0)))
    state, members = _group_state(cluster, group)
    return GroupLag(role, group, topic, state, members, tuple(partitions))


def _group_state(cluster: Cluster, group: str) -> tuple[str, int]:
    future = cluster.admin.describe_consumer_groups([group], request_timeout=cluster.timeout)[group]
    try:
        description = future.result(timeout=cluster.timeout)
    except KafkaException as exc:
        # Brokers with the new group protocol answer GROUP_ID_NOT_FOUND for a group that
        # never existed; older ones describe it as DEAD.
        if exc.args and exc.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND:
            return "NONE", 0
        raise KafkaToolError(f"cannot describe group {group}: {_reason(exc)}") from exc
    state = getattr(description.state, "name", str(description.state))
    return state, len(description.members)
