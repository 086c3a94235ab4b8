"""Outbox records and where they go: the routing every transactional writer shares.

A history decision does not know topic names or partition counts; it says what it sends
(`OutboxRecord`: a destination and a record) and `route` places it on the cluster's topics.
Records for the inbox may address any workflow, so a shard reaches another shard through the
same transaction that commits its own events.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import schemas
from schemas.placement import shard_for, shard_key, topic_partition_for, tq_partition_for
from schemas.records import InboxCommandRecord, TaskRecord, VisibilityRecord
from schemas.topics import Topology


class Destination(enum.Enum):
    """Where an outbox record goes, and so which record schema it has."""

    TASKS = "tasks"
    """A TaskRecord for matching, on its task-queue partition's partition of the tasks topic."""
    VISIBILITY = "visibility"
    """A VisibilityRecord for the indexer, keyed by run, on the run's shard's partition."""
    INBOX = "inbox"
    """An InboxCommandRecord for the shard that owns its workflow (possibly another shard)."""


@dataclass(frozen=True)
class OutboxRecord:
    """A record to commit in the same transaction as the events that caused it.

    Attributes:
        destination: Which topic it goes to.
        record: The record, shaped as its `schemas.records` type.
    """

    destination: Destination
    record: TaskRecord | VisibilityRecord | InboxCommandRecord


@dataclass(frozen=True)
class Routed:
    """An outbox record placed: topic, key, partition and the encoded value."""

    topic: str
    key: bytes
    partition: int
    value: bytes


def route(topology: Topology, out: OutboxRecord) -> Routed:
    """Places an outbox record on the cluster's topics and encodes it.

    Tasks of normal queues get their task-queue partition here, from the cluster's setting
    (`Topology.tq_partitions`), so the writer needs no cluster knowledge.
    """
    if out.destination is Destination.TASKS:
        task: TaskRecord = dict(out.record)  # type: ignore[assignment]
        if task["task_queue_kind"] == "normal":
            task["task_queue_partition"] = tq_partition_for(
                task["workflow_id"], topology.tq_partitions
            )
        partition = topic_partition_for(
            task["namespace"],
            task["task_queue"],
            task["task_kind"],
            task["task_queue_partition"],
            topology.task_partitions,
        )
        value = schemas.encode(schemas.TASK_RECORD, dict(task))
        return Routed(topology.tasks, task["task_queue"].encode(), partition, value)
    if out.destination is Destination.VISIBILITY:
        vis: VisibilityRecord = out.record  # type: ignore[assignment]
        key = f"{vis['namespace']}/{vis['workflow_id']}/{vis['run_id']}".encode()
        partition = shard_for(vis["namespace"], vis["workflow_id"], topology.shards)
        value = schemas.encode(schemas.VISIBILITY_RECORD, dict(vis))
        return Routed(topology.visibility, key, partition, value)
    command: InboxCommandRecord = out.record  # type: ignore[assignment]
    namespace, workflow_id = command["namespace"], command["workflow_id"]
    value = schemas.encode(schemas.INBOX_COMMAND, dict(command))
    return Routed(
        topology.inbox,
        shard_key(namespace, workflow_id),
        shard_for(namespace, workflow_id, topology.shards),
        value,
    )
