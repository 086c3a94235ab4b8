"""A fixed sample value of every Strom record, holding every field with a non-default value.

The golden files of ``tests/golden/schemas`` are these samples encoded with each schema
version; benchmarks encode them too.
"""

from __future__ import annotations

from typing import Any

from schemas import (
    CLUSTER_SETTINGS,
    DEAD_LETTER,
    EVENT_BATCH,
    INBOX_COMMAND,
    NAMESPACE,
    REMOTE_CLUSTER,
    REPLY,
    TASK_RECORD,
    VISIBILITY_RECORD,
)
from schemas._registry import SchemaVersion

_RUN_ID = "0190a7b2-5f1c-7d3e-9a8b-123456789abc"

# Fixed literal bytes stand in for protobuf payloads: protobuf does not promise byte-stable
# serialization across versions, and goldens must only change when a schema does.
SAMPLES: dict[str, dict[str, Any]] = {
    INBOX_COMMAND: {
        "command_id": "cmd-7f3a",
        "namespace": "default",
        "workflow_id": "order-42",
        "kind": "StartWorkflowExecution",
        "payload": b"\x0a\x07default\x12\x08order-42",
        "reply_to": {"topic": "strom.replies.frontend-0", "partition": 3},
        "request_time_ms": 1764000000123,
        "reply_datagram": "127.0.0.1:40123",
    },
    EVENT_BATCH: {
        "namespace": "default",
        "workflow_id": "order-42",
        "run_id": _RUN_ID,
        "first_event_id": 1,
        "last_event_id": 2,
        "events": b"\x0a\x04\x08\x01\x18\x01\x0a\x04\x08\x02\x18\x05",
        "updates": [{"kind": "ActivityAttemptStarted", "payload": b"\x08\x05\x10\x01"}],
        "command_id": "cmd-7f3a",
    },
    TASK_RECORD: {
        "task_kind": "workflow",
        "namespace": "default",
        "task_queue": "orders",
        "task_queue_kind": "normal",
        "task_queue_partition": 2,
        "workflow_id": "order-42",
        "run_id": _RUN_ID,
        "scheduled_event_id": 2,
        "attempt": 1,
        "task_token": bytes(range(48)),
        "schedule_time_ms": 1764000000456,
        "schedule_to_start_timeout_ms": 0,
        "payload": b"",
        "stamp": 3,
    },
    VISIBILITY_RECORD: {
        "namespace": "default",
        "namespace_id": "5b4d6c2e-0000-4000-8000-000000000001",
        "workflow_id": "order-42",
        "run_id": _RUN_ID,
        "workflow_type": "OrderWorkflow",
        "task_queue": "orders",
        "status": "Completed",
        "start_time_ms": 1764000000123,
        "execution_time_ms": 1764000000123,
        "close_time_ms": 1764000001123,
        "execution_duration_ms": 1000,
        "history_length": 11,
        "version": 7,
        "memo": b"\x0a\x05\x0a\x03k\x12\x00",
        "search_attributes": b"\x0a\x0b\x0a\x09CustomKey\x12\x00",
        "deleted": False,
    },
    REPLY: {
        "command_id": "cmd-7f3a",
        "status_code": 6,
        "message": "Workflow execution already started: größe ✓",
        "payload": b"",
        "details": b"\x0a\x08cmd-7f3a\x12\x24" + _RUN_ID.encode(),
        "details_type": "temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure",
    },
    CLUSTER_SETTINGS: {"task_queue_partitions": 4},
    DEAD_LETTER: {
        "service": "history",
        "source_topic": "strom.history.inbox",
        "source_partition": 3,
        "source_offset": 1234,
        "key": b"default/order-42",
        "value": b"\xc3\x01garbage",
        "error": "OverflowError('int too big to convert')",
        "time_ms": 1764000000789,
    },
    NAMESPACE: {
        "name": "default",
        "id": "5b4d6c2e-0000-4000-8000-000000000001",
        "state": "Registered",
        "description": "the default namespace",
        "owner_email": "ops@example.com",
        "retention_ms": 259200000,
        "data": {"team": "payments", "tier": "gold"},
        "version": 3,
        "search_attributes": {"CustomerId": "Keyword", "Amount": "Double"},
        "history_archival_state": "Enabled",
        "history_archival_uri": "file:///var/archive/history",
        "visibility_archival_state": "Disabled",
        "visibility_archival_uri": "file:///var/archive/visibility",
        "is_global": True,
        "active_cluster": "east",
        "clusters": ["east", "west"],
        "failover_version": 12,
    },
    REMOTE_CLUSTER: {
        "name": "west",
        "cluster_id": "8c1f2b3a-0000-5000-8000-000000000002",
        "address": "10.0.0.7:7233",
        "http_address": "10.0.0.7:7243",
        "initial_failover_version": 2,
        "failover_version_increment": 10,
        "history_shard_count": 8,
        "connection_enabled": True,
        "replication_enabled": True,
        "version": 4,
    },
}
"""One fixed value per record, holding every field of every version with a non-default value."""


def sample_for(version: SchemaVersion) -> dict[str, Any]:
    """The sample of a record, cut down to the fields of one schema version."""
    names = set(version.field_names)
    return {k: v for k, v in SAMPLES[version.record_name].items() if k in names}
