"""Python types of Strom's Kafka records: what `schemas.encode` takes and `decode` returns.

One TypedDict per Avro record in ``schemas/avro`` (the .avsc files are the source of truth;
``tests/unit/schemas/test_records.py`` checks that the field names agree).
"""

from __future__ import annotations

from typing import Final, NotRequired, TypedDict


class ReplyAddress(TypedDict):
    """Where the reply to an inbox command goes: a partition of a replies topic."""

    topic: str
    partition: int


class InboxCommandRecord(TypedDict):
    """``strom.v1.InboxCommand`` on ``<prefix>.history.inbox``."""

    command_id: str
    namespace: str
    workflow_id: str
    kind: str
    payload: bytes
    reply_to: ReplyAddress | None
    request_time_ms: int
    reply_datagram: NotRequired[str | None]


class StateUpdateRecord(TypedDict):
    """A state change that is not a history event, inside an EventBatch."""

    kind: str
    payload: bytes


RUN_DELETED: Final = "run_deleted"
"""The update kind of an EventBatch that deletes its run (a delete marker, no events): readers
of the events topic must drop every batch of that run (history_processor/deletion.py)."""


class EventBatchRecord(TypedDict):
    """``strom.v1.EventBatch`` on ``<prefix>.history.events``."""

    namespace: str
    workflow_id: str
    run_id: str
    first_event_id: int
    last_event_id: int
    events: bytes
    updates: list[StateUpdateRecord]
    command_id: str | None


class TaskRecord(TypedDict):
    """``strom.v1.TaskRecord`` on ``<prefix>.tasks``."""

    task_kind: str
    namespace: str
    task_queue: str
    task_queue_kind: str
    task_queue_partition: int
    workflow_id: str
    run_id: str
    scheduled_event_id: int
    attempt: int
    task_token: bytes
    schedule_time_ms: int
    schedule_to_start_timeout_ms: int
    payload: bytes
    stamp: NotRequired[int]


class VisibilityRecord(TypedDict):
    """``strom.v1.VisibilityRecord`` on ``<prefix>.visibility``."""

    namespace: str
    namespace_id: str
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    status: str
    start_time_ms: int
    execution_time_ms: int
    close_time_ms: int | None
    execution_duration_ms: int | None
    history_length: int
    version: int
    memo: bytes
    search_attributes: bytes
    deleted: bool


class ReplyRecord(TypedDict):
    """``strom.v1.Reply`` on ``<prefix>.replies``."""

    command_id: str
    status_code: int
    message: str
    payload: bytes
    details: bytes
    details_type: str


class NamespaceRecord(TypedDict):
    """``strom.v1.Namespace`` on ``<prefix>.namespaces``."""

    name: str
    id: str
    state: str
    description: str
    owner_email: str
    retention_ms: int
    data: dict[str, str]
    version: int
    search_attributes: dict[str, str]  # version 2: custom search attribute name -> type
    history_archival_state: str  # version 3: Disabled / Enabled ('' = never enabled)
    history_archival_uri: str  # version 3
    visibility_archival_state: str  # version 3
    visibility_archival_uri: str  # version 3
    is_global: bool  # version 4
    active_cluster: str  # version 4
    clusters: list[str]  # version 4
    failover_version: int  # version 4


class DeadLetterRecord(TypedDict):
    """``strom.v1.DeadLetter`` on ``<prefix>.deadletter``."""

    service: str
    source_topic: str
    source_partition: int
    source_offset: int
    key: bytes | None
    value: bytes | None
    error: str
    time_ms: int


class RemoteClusterRecord(TypedDict):
    """``strom.v1.RemoteCluster`` on ``<prefix>.cluster``: a cluster this one replicates with."""

    name: str
    cluster_id: str
    address: str
    http_address: str
    initial_failover_version: int
    failover_version_increment: int
    history_shard_count: int
    connection_enabled: bool
    replication_enabled: bool
    version: int


class ClusterSettingsRecord(TypedDict):
    """``strom.v1.ClusterSettings`` on ``<prefix>.cluster``: fixed at cluster creation."""

    task_queue_partitions: int
