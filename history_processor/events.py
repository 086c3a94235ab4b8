"""Construction of Temporal HistoryEvents and the small protos that go into them."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from temporalio.api.enums.v1 import EventType, TaskQueueKind, TimeoutType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.taskqueue.v1 import TaskQueue

# Temporal's failure source for server-made failures (common/failure).
SERVER_SOURCE = "Server"

_TIMEOUT_NAMES = {
    TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE: "StartToClose",
    TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START: "ScheduleToStart",
    TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE: "ScheduleToClose",
    TimeoutType.TIMEOUT_TYPE_HEARTBEAT: "Heartbeat",
}


def duration(ms: int) -> Duration:
    """A google.protobuf.Duration of `ms` milliseconds."""
    value = Duration()
    value.FromMilliseconds(ms)
    return value


def attributes_field(event_type: EventType.ValueType) -> str:
    """Name of the HistoryEvent oneof field holding the attributes of `event_type`."""
    name = EventType.Name(event_type).removeprefix("EVENT_TYPE_").lower()
    return f"{name}_event_attributes"


def new_event(event_type: EventType.ValueType, time_ms: int, attrs: Message) -> HistoryEvent:
    """A HistoryEvent without id (the DecisionBuilder assigns ids)."""
    event = HistoryEvent(event_type=event_type)
    event.event_time.FromMilliseconds(time_ms)
    getattr(event, attributes_field(event_type)).CopyFrom(attrs)
    return event


def attributes(event: HistoryEvent) -> Message:
    """The attributes message of an event, whatever its type."""
    return getattr(event, attributes_field(event.event_type))


def task_queue(name: str, sticky: bool = False, normal_name: str = "") -> TaskQueue:
    """A TaskQueue proto as Temporal writes it into events."""
    if sticky:
        return TaskQueue(
            name=name, kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY, normal_name=normal_name
        )
    return TaskQueue(name=name, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL)


def server_failure(message: str, non_retryable: bool = False) -> Failure:
    """Temporal's NewServerFailure."""
    failure = Failure(message=message)
    failure.server_failure_info.non_retryable = non_retryable
    return failure


def timeout_failure(message: str, timeout_type: TimeoutType.ValueType) -> Failure:
    """Temporal's NewTimeoutFailure."""
    failure = Failure(message=message, source=SERVER_SOURCE)
    failure.timeout_failure_info.timeout_type = timeout_type
    return failure


def activity_timeout_message(timeout_type: TimeoutType.ValueType) -> str:
    """Temporal's "activity %v timeout" message (Go enum names, e.g. StartToClose)."""
    return f"activity {_TIMEOUT_NAMES[timeout_type]} timeout"
