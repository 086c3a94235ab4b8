"""Text output of the Kafka-side tools: the cluster layout and a history as `temporal` shows it."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from strom._history_reader import RunHistory
from strom._kafka_tools import ClusterLayout

_VALUE_WIDTH = 60
_DETAILS_WIDTH = 140

# Attributes worth one glance, in the order shown: (label, dotted path in the attributes).
_SHORT_ATTRIBUTES = (
    ("type", "workflow_type.name"),
    ("activity", "activity_type.name"),
    ("activityId", "activity_id"),
    ("taskQueue", "task_queue.name"),
    ("timerId", "timer_id"),
    ("signal", "signal_name"),
    ("scheduledEventId", "scheduled_event_id"),
    ("startedEventId", "started_event_id"),
    ("attempt", "attempt"),
    ("input", "input"),
    ("result", "result"),
    ("details", "details"),
    ("failure", "failure.message"),
    ("reason", "reason"),
    ("cause", "cause"),
    ("newRunId", "new_execution_run_id"),
)


def event_type_name(event_type: int) -> str:
    """Temporal's short event type name: EVENT_TYPE_WORKFLOW_TASK_STARTED -> WorkflowTaskStarted."""
    try:
        name = EventType.Name(event_type)  # type: ignore[arg-type]
    except ValueError:
        return f"EventType({event_type})"
    words = name.removeprefix("EVENT_TYPE_").split("_")
    return "".join(word.capitalize() for word in words)


def event_time(event: HistoryEvent) -> str:
    """The event's time to the second, in UTC, as `temporal workflow show` prints it."""
    moment = event.event_time.ToDatetime(tzinfo=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def render_payloads(payloads: Payloads) -> str:
    """Payloads as a JSON-like list: JSON payloads as their text, others by encoding and size."""
    parts = []
    for payload in payloads.payloads:
        encoding = payload.metadata.get("encoding", b"").decode(errors="replace")
        if encoding in ("json/plain", "json/protobuf"):
            parts.append(payload.data.decode(errors="replace"))
        elif encoding == "binary/null":
            parts.append("null")
        else:
            parts.append(f"<{encoding or 'unknown encoding'}, {len(payload.data)} bytes>")
    return "[" + ", ".join(parts) + "]"


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _lookup(message: Message, path: str) -> str | None:
    value: object = message
    for name in path.split("."):
        assert isinstance(value, Message)
        if name not in value.DESCRIPTOR.fields_by_name:
            return None
        descriptor = value.DESCRIPTOR.fields_by_name[name]
        if descriptor.message_type is not None and not value.HasField(name):
            return None
        value = getattr(value, name)
    if isinstance(value, Payloads):
        return render_payloads(value)
    if isinstance(value, Message):
        return None
    if descriptor.enum_type is not None:
        assert isinstance(value, int)
        if value == 0:
            return None
        return descriptor.enum_type.values_by_number[value].name
    return str(value) if value else None


def event_details(event: HistoryEvent) -> str:
    """A few telling attributes of an event on one line, e.g. ``activity=greet attempt=1``."""
    which = event.WhichOneof("attributes")
    if which is None:
        return ""
    attributes = getattr(event, which)
    parts = []
    for label, path in _SHORT_ATTRIBUTES:
        value = _lookup(attributes, path)
        if value is not None:
            parts.append(f"{label}={_shorten(value, _VALUE_WIDTH)}")
    return _shorten(" ".join(parts), _DETAILS_WIDTH)


def _table(
    header: Sequence[object], rows: Sequence[Sequence[object]], right: set[int]
) -> list[str]:
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for row in cells:
        padded = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append(("  " + "  ".join(padded)).rstrip())
    return lines


def format_history(run: RunHistory, topic: str) -> str:
    """A run's history as text: who it is, then one line per event (id, time, type, details)."""
    first = run.events[0]
    task_queue = ""
    if first.HasField("workflow_execution_started_event_attributes"):
        task_queue = first.workflow_execution_started_event_attributes.task_queue.name
    lines = [
        "Execution:",
        *_table(
            ("WorkflowId", run.workflow_id),
            [
                ("RunId", run.run_id),
                ("Type", run.workflow_type),
                ("Namespace", run.namespace),
                ("TaskQueue", task_queue),
                ("Status", run.status),
                ("Source", f"{topic} partition {run.partition}, {run.batches} batches"),
            ],
            set(),
        ),
        "Progress:",
        *_table(
            ("ID", "Time", "Type", "Details"),
            [
                (e.event_id, event_time(e), event_type_name(e.event_type), event_details(e))
                for e in run.events
            ],
            {0},
        ),
    ]
    return "\n".join(lines)


def format_retention(retention_ms: int | None) -> str:
    """A retention in the largest whole unit: 604800000 -> 7d, -1 -> forever."""
    if retention_ms is None:
        return "?"
    if retention_ms < 0:
        return "forever"
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if retention_ms and retention_ms % size == 0:
            return f"{retention_ms // size}{unit}"
    return f"{retention_ms}ms"


def format_layout(layout: ClusterLayout) -> str:
    """`strom topics` as text: settings, topics, then one lag row per consumer group."""
    t = layout.topology
    lines = [
        f"Cluster {t.prefix!r} at {layout.bootstrap}:",
        *_table(
            ("history shards", t.shards),
            [
                ("task-queue partitions", t.tq_partitions),
                ("tasks topic partitions", t.task_partitions),
                ("reply partitions", t.reply_partitions),
            ],
            {1},
        ),
        "Topics:",
        *_table(
            ("TOPIC", "PARTITIONS", "CLEANUP", "RETENTION", "END OFFSETS"),
            [
                (
                    topic.name,
                    topic.partitions,
                    topic.cleanup_policy,
                    format_retention(topic.retention_ms),
                    topic.end_offsets,
                )
                for topic in layout.topics
            ],
            {1, 4},
        ),
        "Consumer groups:",
        *_table(
            ("GROUP", "ROLE", "TOPIC", "STATE", "MEMBERS", "COMMITTED", "END", "LAG"),
            [
                (g.group, g.role, g.topic, g.state, g.members, g.committed, g.end, g.lag)
                for g in layout.groups
            ],
            {4, 5, 6, 7},
        ),
    ]
    return "\n".join(lines)
