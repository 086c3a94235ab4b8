"""Unit tests of matching's internal inbox messages and of dispatch's response building."""

from __future__ import annotations

import json
from typing import Any

import pytest
from temporalio.api.common.v1 import message_pb2 as common_pb2
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb2
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv1

from matching_processor import dispatch
from schemas.inbox import ActivityTaskStarted, RecordWorkflowTaskStarted


def record(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "task_kind": "activity",
        "namespace": "default",
        "task_queue": "orders",
        "task_queue_kind": "normal",
        "task_queue_partition": 1,
        "workflow_id": "wf-1",
        "run_id": "run-1",
        "scheduled_event_id": 5,
        "attempt": 2,
        "task_token": b"\x00\xfftoken",
        "schedule_time_ms": 1_700_000_000_123,
        "schedule_to_start_timeout_ms": 0,
        "payload": b"",
    }
    base.update(kw)
    return base


def test_record_started_roundtrip_and_json_shape() -> None:
    poll = wsv1.PollWorkflowTaskQueueRequest(
        namespace="default",
        identity="worker@host",
        task_queue=tq_pb2.TaskQueue(name="orders", kind=tq_enums.TASK_QUEUE_KIND_NORMAL),
    )
    msg = RecordWorkflowTaskStarted.for_task(record(task_kind="workflow"), poll, "req-1")
    data = msg.to_bytes()
    assert msg.SerializeToString() == data
    raw = json.loads(data)
    assert raw["task_token"] == "AP90b2tlbg=="
    assert raw["identity"] == "worker@host" and raw["request_id"] == "req-1"
    back = RecordWorkflowTaskStarted.from_bytes(data)
    assert back == msg
    assert wsv1.PollWorkflowTaskQueueRequest.FromString(back.poll_request) == poll
    assert (back.scheduled_event_id, back.attempt, back.task_queue_kind) == (5, 2, "normal")


def test_activity_started_roundtrip() -> None:
    msg = ActivityTaskStarted.for_task(record(), "me", "req-2", 42)
    back = ActivityTaskStarted.from_bytes(msg.to_bytes())
    assert back == msg
    assert back.task_token == b"\x00\xfftoken" and back.started_time_ms == 42


def test_from_bytes_ignores_unknown_fields_and_fills_defaults() -> None:
    msg = RecordWorkflowTaskStarted.for_task(
        record(), wsv1.PollWorkflowTaskQueueRequest(identity="x"), "r"
    )
    raw = json.loads(msg.to_bytes())
    raw["added_later"] = 1
    del raw["poll_request"]
    back = RecordWorkflowTaskStarted.from_bytes(json.dumps(raw).encode())
    assert back.poll_request == b"" and back.identity == "x"


@pytest.mark.parametrize(
    "data",
    [b"\xff", b"[]", b"{}", b'{"namespace": 1}', b"not json"],
)
def test_from_bytes_rejects_garbage(data: bytes) -> None:
    with pytest.raises(ValueError):
        ActivityTaskStarted.from_bytes(data)


def test_from_bytes_rejects_bad_base64_and_types() -> None:
    good = json.loads(ActivityTaskStarted.for_task(record(), "me", "r", 1).to_bytes())
    for field, value in [("task_token", "***"), ("attempt", "2"), ("attempt", True)]:
        bad = {**good, field: value}
        with pytest.raises(ValueError):
            ActivityTaskStarted.from_bytes(json.dumps(bad).encode())


def test_activity_response_fills_missing_fields() -> None:
    prebuilt = wsv1.PollActivityTaskQueueResponse(
        activity_id="act-1", activity_type=common_pb2.ActivityType(name="charge")
    )
    resp = dispatch.activity_response(record(payload=prebuilt.SerializeToString()), now_ms=5_000)
    assert resp.activity_id == "act-1" and resp.activity_type.name == "charge"
    assert resp.started_time.ToMilliseconds() == 5_000
    assert resp.attempt == 2
    assert resp.current_attempt_scheduled_time.ToMilliseconds() == 1_700_000_000_123
    assert resp.task_token == b"\x00\xfftoken"
    assert resp.workflow_namespace == "default"
    assert resp.workflow_execution.workflow_id == "wf-1"
    assert resp.workflow_execution.run_id == "run-1"


def test_activity_response_keeps_fields_history_set() -> None:
    prebuilt = wsv1.PollActivityTaskQueueResponse(task_token=b"history-token", attempt=7)
    prebuilt.started_time.FromMilliseconds(10)
    prebuilt.current_attempt_scheduled_time.FromMilliseconds(20)
    resp = dispatch.activity_response(record(payload=prebuilt.SerializeToString()), now_ms=99)
    assert resp.task_token == b"history-token" and resp.attempt == 7
    assert resp.started_time.ToMilliseconds() == 10
    assert resp.current_attempt_scheduled_time.ToMilliseconds() == 20


def test_activity_response_rejects_garbage_payload() -> None:
    with pytest.raises(ValueError):
        dispatch.activity_response(record(payload=b"\xff\xff\xff"), now_ms=1)


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [(None, 60.0), (70.0, 60.0), (30.0, 29.0), (0.5, 0.0), (-3.0, 0.0)],
)
def test_long_poll_seconds(remaining: float | None, expected: float) -> None:
    assert dispatch.long_poll_seconds(remaining) == expected


def test_is_sticky() -> None:
    assert dispatch.is_sticky(tq_pb2.TaskQueue(name="s", kind=tq_enums.TASK_QUEUE_KIND_STICKY))
    assert not dispatch.is_sticky(tq_pb2.TaskQueue(name="n"))
