"""Strom's Kafka topics: the one place their names, partition counts and policies are spelled.

A cluster is a topic prefix. Besides partition counts, which the topics themselves hold, one
setting is fixed at creation and read by every service: the partition count of a normal task
queue, kept as a ClusterSettings record on the compacted ``<prefix>.cluster`` topic.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, KafkaException, TopicPartition

import schemas
from schemas.placement import DEFAULT_TQ_PARTITIONS
from schemas.records import ClusterSettingsRecord
from streams import TopicSpec, ensure_topics
from streams.config import MAX_RECORD_BYTES
from streams.connection import AdminClient, Consumer, Producer
from streams.exceptions import TopicAdminError

_SETTINGS_KEY = b"settings"
_TIMEOUT_S = 30.0

DEFAULT_PREFIX = "strom"
DEFAULT_SHARDS = 8
DEFAULT_TASK_PARTITIONS = 8
DEFAULT_REPLY_PARTITIONS = 16
DEV_SHARDS = 2
"""History shards, and tasks partitions, of a cluster `strom server start-dev` creates.

A transaction's records go out as one produce request per partition they touch (librdkafka
sends no multi-partition batches), so on one machine fewer partitions cost the broker less
(`bench/bench_breakdown.py --shards`). Two keep the hand-over between two history processes
possible; Temporal's own dev server runs one history shard.
"""


@dataclass(frozen=True)
class Topology:
    """Strom's topics for one cluster name (the prefix).

    The shard count is the partition count of the history topics and `tq_partitions` the
    partition count of a normal task queue; both are fixed when the cluster is created,
    because placement is a hash modulo them.
    """

    prefix: str = DEFAULT_PREFIX
    shards: int = DEFAULT_SHARDS
    task_partitions: int = DEFAULT_TASK_PARTITIONS
    reply_partitions: int = DEFAULT_REPLY_PARTITIONS
    tq_partitions: int = DEFAULT_TQ_PARTITIONS

    @property
    def inbox(self) -> str:
        """Commands to the history shards, keyed by shard key."""
        return f"{self.prefix}.history.inbox"

    @property
    def events(self) -> str:
        """Event batches: the source of truth of every execution's history and state."""
        return f"{self.prefix}.history.events"

    @property
    def tasks(self) -> str:
        """Workflow and activity tasks, partitioned by task-queue partition."""
        return f"{self.prefix}.tasks"

    @property
    def task_acks(self) -> str:
        """Per-queue progress of each tasks partition, keyed by that partition (compacted)."""
        return f"{self.prefix}.tasks.acks"

    @property
    def visibility(self) -> str:
        """Visibility records for the Elasticsearch indexer, keyed by execution."""
        return f"{self.prefix}.visibility"

    @property
    def namespaces(self) -> str:
        """Namespace registrations, compacted by name."""
        return f"{self.prefix}.namespaces"

    @property
    def cluster(self) -> str:
        """The cluster's settings (one ClusterSettings record), compacted."""
        return f"{self.prefix}.cluster"

    @property
    def deadletter(self) -> str:
        """Inputs a service could not process (DeadLetter records), kept for 30 days."""
        return f"{self.prefix}.deadletter"

    @property
    def replies(self) -> str:
        """Replies to request/reply commands; each caller process reads its own partition."""
        return f"{self.prefix}.replies"

    def replication_progress(self, source: str) -> str:
        """The replicator's positions in cluster ``source``'s events topic (compacted; made
        by the replicator, which alone reads and writes it)."""
        return f"{self.prefix}.replication.{source}.progress"

    @property
    def history_group(self) -> str:
        """Consumer group of the history processors (owners of the shards)."""
        return f"{self.prefix}.history"

    @property
    def matching_group(self) -> str:
        """Consumer group of the matching processes (owners of the tasks partitions)."""
        return f"{self.prefix}.matching"

    @property
    def indexer_group(self) -> str:
        """Consumer group of the visibility indexers."""
        return f"{self.prefix}.visibility-indexer"

    @property
    def reply_reader_group(self) -> str:
        """Group id of the reply readers (they assign partitions; nothing is committed)."""
        return f"{self.prefix}.reply-reader"

    def specs(self) -> list[TopicSpec]:
        """The topic specifications ensure_topics creates and verifies."""
        big = {"max.message.bytes": str(MAX_RECORD_BYTES)}  # as large as producers may write
        month = str(30 * 24 * 3600 * 1000)
        return [
            TopicSpec(self.inbox, self.shards, config=big),
            TopicSpec(self.events, self.shards, "compact", config=big),
            # Retention off: a task waits for its poller however long; matching deletes the
            # records below its committed offsets itself.
            TopicSpec(self.tasks, self.task_partitions, config={**big, "retention.ms": "-1"}),
            TopicSpec(self.task_acks, self.task_partitions, "compact"),
            TopicSpec(self.visibility, self.shards, "compact", config=big),
            TopicSpec(self.namespaces, 1, "compact"),
            TopicSpec(self.cluster, 1, "compact"),
            TopicSpec(self.deadletter, 1, config={**big, "retention.ms": month}),
            TopicSpec(
                self.replies, self.reply_partitions, config={**big, "retention.ms": "3600000"}
            ),
        ]

    @classmethod
    def dev(cls, prefix: str = DEFAULT_PREFIX, shards: int = DEV_SHARDS) -> Topology:
        """A new dev-mode cluster's topology: `shards` history shards and tasks partitions."""
        return cls(prefix, shards=shards, task_partitions=shards)

    @classmethod
    def from_cluster(cls, bootstrap: str, prefix: str = DEFAULT_PREFIX) -> Topology:
        """The topology of an existing cluster, partition counts read from its topics."""
        admin = AdminClient({"bootstrap.servers": bootstrap})
        topics = admin.list_topics(timeout=30).topics
        base = cls(prefix)
        missing = [t for t in (base.inbox, base.tasks, base.replies) if t not in topics]
        if missing:
            raise TopicAdminError(f"cluster {prefix!r} has no topics {missing}; start it first")
        found = cls(
            prefix,
            shards=len(topics[base.inbox].partitions),
            task_partitions=len(topics[base.tasks].partitions),
            reply_partitions=len(topics[base.replies].partitions),
        )
        settings = _read_settings(bootstrap, found.cluster) if found.cluster in topics else None
        if settings is None:
            return found  # a cluster made before settings existed has the defaults
        return dataclasses.replace(found, tq_partitions=settings["task_queue_partitions"])

    def ensure(self, bootstrap: str) -> None:
        """Creates the missing topics and settings, and verifies the existing ones.

        Raises:
            TopicAdminError: A topic or the stored settings differ from this topology.
        """
        if self.tq_partitions <= 0:
            raise TopicAdminError(f"tq_partitions must be positive, got {self.tq_partitions}")
        ensure_topics(bootstrap, self.specs())
        stored = _read_settings(bootstrap, self.cluster)
        if stored is None:
            _write_settings(bootstrap, self.cluster, self.tq_partitions)
        elif stored["task_queue_partitions"] != self.tq_partitions:
            raise TopicAdminError(
                f"cluster {self.prefix!r} was created with {stored['task_queue_partitions']} "
                f"task-queue partitions, configuration says {self.tq_partitions}"
            )


def _read_settings(bootstrap: str, topic: str) -> ClusterSettingsRecord | None:
    """The last ClusterSettings record of the topic, or None when it holds none."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{topic}.reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    try:
        low, high = _watermarks(consumer, TopicPartition(topic, 0))
        if high <= low:
            return None
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        found: ClusterSettingsRecord | None = None
        position = low
        while position < high:
            msg = consumer.poll(_TIMEOUT_S)
            if msg is None:
                raise TopicAdminError(f"cannot read {topic} within {_TIMEOUT_S:.0f} s")
            if msg.error() is not None:
                continue
            position = (msg.offset() or 0) + 1
            value = msg.value()
            if msg.key() == _SETTINGS_KEY and value is not None:
                found = schemas.decode(value, schemas.CLUSTER_SETTINGS)  # type: ignore[assignment]
        return found
    except KafkaException as exc:
        raise TopicAdminError(f"cannot read {topic}: {exc}") from exc
    finally:
        consumer.close()


def _watermarks(consumer: Consumer, tp: TopicPartition) -> tuple[int, int]:
    # Right after the topic was created its partition may have no leader for a moment.
    deadline = time.monotonic() + _TIMEOUT_S
    while True:
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=_TIMEOUT_S)
            return int(low), int(high)
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _write_settings(bootstrap: str, topic: str, tq_partitions: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    value = schemas.encode(schemas.CLUSTER_SETTINGS, {"task_queue_partitions": tq_partitions})
    producer.produce(topic, value, _SETTINGS_KEY, partition=0)
    if producer.flush(_TIMEOUT_S) != 0:
        raise TopicAdminError(f"cannot write the cluster settings to {topic}")
