"""Names, partition counts and cleanup policies of Strom's Kafka topics (ARCHITECTURE.md)."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka.admin import AdminClient

from streams import TopicSpec, ensure_topics
from streams.exceptions import TopicAdminError

DEFAULT_PREFIX = "strom"
DEFAULT_SHARDS = 8
DEFAULT_TASK_PARTITIONS = 8
DEFAULT_REPLY_PARTITIONS = 16


@dataclass(frozen=True)
class Topology:
    """Strom's topics for one cluster name (the prefix).

    The shard count is the partition count of the history topics; it is fixed when the
    cluster is created, because a workflow's shard is a hash modulo that count.
    """

    prefix: str = DEFAULT_PREFIX
    shards: int = DEFAULT_SHARDS
    task_partitions: int = DEFAULT_TASK_PARTITIONS
    reply_partitions: int = DEFAULT_REPLY_PARTITIONS

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
    def visibility(self) -> str:
        """Visibility records for the Elasticsearch indexer, keyed by execution."""
        return f"{self.prefix}.visibility"

    @property
    def namespaces(self) -> str:
        """Namespace registrations, compacted by name."""
        return f"{self.prefix}.namespaces"

    @property
    def replies(self) -> str:
        """Replies to request/reply commands; each caller process reads its own partition."""
        return f"{self.prefix}.replies"

    def specs(self) -> list[TopicSpec]:
        """The topic specifications ensure_topics creates and verifies."""
        return [
            TopicSpec(self.inbox, self.shards),
            TopicSpec(self.events, self.shards, "compact"),
            TopicSpec(self.tasks, self.task_partitions),
            TopicSpec(self.visibility, self.shards, "compact"),
            TopicSpec(self.namespaces, 1, "compact"),
            TopicSpec(self.replies, self.reply_partitions, config={"retention.ms": "3600000"}),
        ]

    @classmethod
    def from_cluster(cls, bootstrap: str, prefix: str = DEFAULT_PREFIX) -> Topology:
        """The topology of an existing cluster, partition counts read from its topics."""
        admin = AdminClient({"bootstrap.servers": bootstrap})
        topics = admin.list_topics(timeout=30).topics
        base = cls(prefix)
        missing = [t for t in (base.inbox, base.tasks, base.replies) if t not in topics]
        if missing:
            raise TopicAdminError(f"cluster {prefix!r} has no topics {missing}; start it first")
        return cls(
            prefix,
            shards=len(topics[base.inbox].partitions),
            task_partitions=len(topics[base.tasks].partitions),
            reply_partitions=len(topics[base.replies].partitions),
        )

    def ensure(self, bootstrap: str) -> None:
        """Creates the missing topics and verifies the existing ones."""
        ensure_topics(bootstrap, self.specs())
