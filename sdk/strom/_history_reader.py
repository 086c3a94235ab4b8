"""Workflow histories read straight from a cluster's events topic, without any Strom service.

Every transition of a run is one ``strom.v1.EventBatch`` on ``<prefix>.history.events``, keyed
``namespace/workflow id/run id/<transition>`` and placed on the workflow's shard. A run's
history is the events of its batches in offset order. The topic has no index, so a reader
scans the whole shard of the workflow (read_committed: aborted transitions are not history).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.client import WorkflowHistory

import schemas
from schemas.placement import shard_for
from schemas.records import RUN_DELETED, EventBatchRecord
from schemas.topics import Topology
from streams.connection import Consumer
from strom._kafka_tools import (
    Cluster,
    HistoryNotFoundError,
    KafkaToolError,
    client_config,
    tool_group_id,
)

CLOSING_STATUS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "COMPLETED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "FAILED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "TIMED_OUT",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "CANCELED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "TERMINATED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "CONTINUED_AS_NEW",
}


@dataclass
class RunHistory:
    """The history of one run as the events topic holds it."""

    namespace: str
    workflow_id: str
    run_id: str
    partition: int
    events: list[HistoryEvent] = field(default_factory=list)
    batches: int = 0

    def add(self, batch: EventBatchRecord) -> None:
        """Appends a batch's events (an event id seen before is not appended twice)."""
        self.batches += 1
        last = self.events[-1].event_id if self.events else 0
        for event in History.FromString(batch["events"]).events:
            if event.event_id > last:
                self.events.append(event)
                last = event.event_id

    @property
    def status(self) -> str:
        """Temporal's status name: RUNNING until a closing event."""
        if not self.events:
            return "RUNNING"
        return CLOSING_STATUS.get(self.events[-1].event_type, "RUNNING")

    @property
    def closed(self) -> bool:
        """Whether the run's last event closes it."""
        return bool(self.events) and self.events[-1].event_type in CLOSING_STATUS

    @property
    def workflow_type(self) -> str:
        """The workflow type named by the started event ("" before it)."""
        if not self.events or not self.events[0].HasField(
            "workflow_execution_started_event_attributes"
        ):
            return ""
        return self.events[0].workflow_execution_started_event_attributes.workflow_type.name

    def to_workflow_history(self) -> WorkflowHistory:
        """The history as the official SDK's `WorkflowHistory`, ready for its Replayer."""
        return WorkflowHistory(self.workflow_id, list(self.events))


def scan_partition(
    cluster: Cluster, partition: int, key_prefix: bytes = b""
) -> Iterator[tuple[bytes, EventBatchRecord]]:
    """Yields (key, batch) of the committed batches of one events partition, oldest first.

    Only records whose key starts with `key_prefix` are decoded. Stops at the end of the
    partition as it was when the scan began.

    Raises:
        KafkaToolError: The partition cannot be read within the cluster's timeout.
    """
    topic = Topology(cluster.prefix).events
    consumer = Consumer(
        client_config(
            cluster.bootstrap,
            **{
                "group.id": tool_group_id("history"),
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            },
        )
    )
    try:
        yield from _scan(consumer, TopicPartition(topic, partition), key_prefix, cluster.timeout)
    except KafkaException as exc:
        raise KafkaToolError(f"cannot read {topic} [{partition}]: {exc}") from exc
    finally:
        consumer.close()


def _scan(
    consumer: Consumer, tp: TopicPartition, key_prefix: bytes, timeout: float
) -> Iterator[tuple[bytes, EventBatchRecord]]:
    # With read_committed the high watermark is the last stable offset: what is committed.
    low, high = consumer.get_watermark_offsets(tp, timeout=timeout, cached=False)
    if high <= low:
        return
    consumer.assign([TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING)])
    deadline = time.monotonic() + timeout
    while True:
        msg = consumer.poll(1.0)
        if msg is None:
            if time.monotonic() > deadline:
                raise KafkaToolError(
                    f"reading {tp.topic} [{tp.partition}] made no progress for {timeout:g} s"
                )
            continue
        deadline = time.monotonic() + timeout
        error = msg.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                return
            raise KafkaToolError(f"cannot read {tp.topic} [{tp.partition}]: {error.str()}")
        key, value = msg.key() or b"", msg.value()
        if value is not None and key.startswith(key_prefix):
            yield key, schemas.decode(value, schemas.EVENT_BATCH)  # type: ignore[misc]
        # The last offsets may be transaction markers, which are never delivered.
        if (msg.offset() or 0) + 1 >= high:
            return


def _is_delete_marker(batch: EventBatchRecord) -> bool:
    return any(update["kind"] == RUN_DELETED for update in batch["updates"])


def read_runs(cluster: Cluster, namespace: str, workflow_id: str) -> list[RunHistory]:
    """Every run of a workflow in the events topic, the one with the latest batch last."""
    partition = shard_for(
        namespace, workflow_id, cluster.partitions[Topology(cluster.prefix).events]
    )
    runs: dict[str, RunHistory] = {}
    # Workflow ids may hold "/", so the key prefix only narrows; the batch's fields decide.
    for _key, batch in scan_partition(cluster, partition, f"{namespace}/{workflow_id}/".encode()):
        if batch["namespace"] != namespace or batch["workflow_id"] != workflow_id:
            continue
        if _is_delete_marker(batch):
            runs.pop(batch["run_id"], None)  # deleted; compaction has not removed it yet
            continue
        run = runs.pop(batch["run_id"], None) or RunHistory(
            namespace, workflow_id, batch["run_id"], partition
        )
        run.add(batch)
        runs[run.run_id] = run  # re-inserted: the dict's order is the order of latest batches
    return list(runs.values())


def read_history(
    cluster: Cluster, namespace: str, workflow_id: str, run_id: str | None = None
) -> RunHistory:
    """One run's history: `run_id`'s, or else the run with the latest batch.

    Raises:
        HistoryNotFoundError: No such workflow (or run) in the events topic.
    """
    runs = read_runs(cluster, namespace, workflow_id)
    if run_id is not None:
        runs = [run for run in runs if run.run_id == run_id]
    runs = [run for run in runs if run.events]
    if not runs:
        what = f"workflow {workflow_id!r}" + (f" run {run_id}" if run_id else "")
        raise HistoryNotFoundError(
            f"no history of {what} in namespace {namespace!r} on "
            f"{cluster.prefix}.history.events at {cluster.bootstrap}"
        )
    return runs[-1]


def closed_runs(cluster: Cluster, namespace: str) -> Iterator[RunHistory]:
    """Every closed run of a namespace, shard by shard (a run never spans two shards)."""
    shards = cluster.partitions[Topology(cluster.prefix).events]
    for partition in range(shards):
        runs: dict[tuple[str, str], RunHistory] = {}
        for _key, batch in scan_partition(cluster, partition, f"{namespace}/".encode()):
            if batch["namespace"] != namespace:
                continue
            ident = (batch["workflow_id"], batch["run_id"])
            if _is_delete_marker(batch):
                runs.pop(ident, None)
                continue
            if ident not in runs:
                runs[ident] = RunHistory(namespace, *ident, partition)
            runs[ident].add(batch)
        yield from (run for run in runs.values() if run.closed)
