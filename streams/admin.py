"""Topic creation and verification from configuration."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from streams.connection import AdminClient
from streams.exceptions import TopicAdminError, TopicMismatchError


@dataclass(frozen=True)
class TopicSpec:
    """What a topic must look like.

    Attributes:
        name: Topic name.
        partitions: Exact partition count; a different count on an existing topic is an
            error, because keys would map to other partitions than the stored state expects.
        cleanup_policy: "delete" or "compact".
        config: Further topic configuration: set at creation, and brought to these values
            on an existing topic (e.g. a larger max.message.bytes after an upgrade).
    """

    name: str
    partitions: int
    cleanup_policy: str = "delete"
    config: dict[str, str] = field(default_factory=dict)

    def new_topic(self, replication_factor: int) -> NewTopic:
        """The AdminClient request that creates this topic."""
        return NewTopic(
            self.name,
            num_partitions=self.partitions,
            replication_factor=replication_factor,
            config={"cleanup.policy": self.cleanup_policy, **self.config},
        )


def ensure_topics(
    bootstrap: str,
    specs: Iterable[TopicSpec],
    replication_factor: int = 1,
    timeout: float = 30.0,
) -> None:
    """Creates missing topics and verifies existing ones against their specs.

    Must be idempotent: concurrent callers racing to create the same topic both succeed.

    Raises:
        TopicMismatchError: An existing topic has another partition count or cleanup policy.
        TopicAdminError: The broker refused or did not answer in time.
    """
    specs = list(specs)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        existing = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise TopicAdminError(f"cannot list topics at {bootstrap}: {exc}") from exc
    missing = [s for s in specs if s.name not in existing]
    if missing:
        futures = admin.create_topics(
            [s.new_topic(replication_factor) for s in missing], request_timeout=timeout
        )
        for name, fut in futures.items():
            try:
                fut.result(timeout)
            except KafkaException as exc:
                if exc.args[0].code() != _TOPIC_ALREADY_EXISTS:
                    raise TopicAdminError(f"cannot create topic {name}: {exc}") from exc
        existing = _await_metadata(admin, [s.name for s in specs], timeout)
    _verify(admin, specs, existing, timeout)


def _await_metadata(admin: AdminClient, names: list[str], timeout: float) -> dict:
    """Topic metadata once every topic in `names` shows up; new topics take a moment."""
    deadline = time.monotonic() + timeout
    while True:
        topics = admin.list_topics(timeout=timeout).topics
        if all(name in topics and topics[name].partitions for name in names):
            return topics
        if time.monotonic() > deadline:
            missing = [n for n in names if n not in topics]
            raise TopicAdminError(f"topics created but not visible in metadata: {missing}")
        time.sleep(0.1)


_TOPIC_ALREADY_EXISTS = 36  # Kafka protocol error code TOPIC_ALREADY_EXISTS


def _verify(admin: AdminClient, specs: list[TopicSpec], existing: dict, timeout: float) -> None:
    for spec in specs:
        count = len(existing[spec.name].partitions)
        if count != spec.partitions:
            raise TopicMismatchError(
                f"topic {spec.name} has {count} partitions, configuration says "
                f"{spec.partitions}; the partition count is fixed at cluster creation"
            )
    resources = [ConfigResource(ResourceType.TOPIC, s.name) for s in specs]
    if not resources:
        return
    for resource, fut in admin.describe_configs(resources, request_timeout=timeout).items():
        try:
            configs = fut.result(timeout)
        except KafkaException as exc:
            raise TopicAdminError(f"cannot describe topic {resource.name}: {exc}") from exc
        spec = next(s for s in specs if s.name == resource.name)
        policy = configs["cleanup.policy"].value
        if policy != spec.cleanup_policy:
            raise TopicMismatchError(
                f"topic {spec.name} has cleanup.policy={policy}, configuration says "
                f"{spec.cleanup_policy}"
            )
        stale = {k: v for k, v in spec.config.items() if k in configs and configs[k].value != v}
        if stale:
            _alter(admin, spec.name, stale, timeout)


def _alter(admin: AdminClient, topic: str, values: dict[str, str], timeout: float) -> None:
    resource = ConfigResource(
        ResourceType.TOPIC,
        topic,
        incremental_configs=[
            ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
            for k, v in values.items()
        ],
    )
    for fut in admin.incremental_alter_configs([resource], request_timeout=timeout).values():
        try:
            fut.result(timeout)
        except KafkaException as exc:
            raise TopicAdminError(f"cannot set {values} on topic {topic}: {exc}") from exc
