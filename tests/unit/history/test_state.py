"""ExecutionState serializes to bytes and back, losslessly; retry policies get defaults."""

from __future__ import annotations

import pytest
from temporalio.api.common.v1 import RetryPolicy as RetryPolicyProto

from history_processor.state import (
    ActivityInfo,
    ExecutionState,
    RetryPolicy,
    TaskQueueKind,
    WorkflowStatus,
    WorkflowTaskInfo,
)
from schemas.exceptions import PayloadDecodeError
from tests.unit.history.harness import Glue, with_activity


def _rich_state() -> ExecutionState:
    state = ExecutionState(
        namespace="default",
        namespace_id="ns",
        workflow_id="wf",
        run_id="run",
        workflow_type="T",
        task_queue="q",
        start_time_ms=1,
        status=WorkflowStatus.RUNNING,
        retry_policy=RetryPolicy(maximum_attempts=3, non_retryable_error_types=["X"]),
        input=b"\x00\xffbytes",
        buffered_events=[b"\x01\x02", b""],
        sticky_task_queue="sticky",
    )
    state.workflow_task = WorkflowTaskInfo(
        scheduled_event_id=7,
        attempt=2,
        task_queue="q",
        task_queue_kind=TaskQueueKind.STICKY,
        scheduled_time_ms=5,
        start_to_close_timeout_ms=10_000,
        transient=True,
    )
    state.activities[5] = ActivityInfo(
        scheduled_event_id=5,
        activity_id="1",
        activity_type="greet",
        task_queue="q",
        scheduled_time_ms=3,
        first_scheduled_time_ms=3,
        schedule_to_close_timeout_ms=0,
        schedule_to_start_timeout_ms=0,
        start_to_close_timeout_ms=1000,
        heartbeat_timeout_ms=0,
        retry_policy=RetryPolicy(backoff_coefficient=1.5),
        last_failure=b"\x0a\x03abc",
    )
    return state


def test_round_trip_of_a_rich_state() -> None:
    state = _rich_state()
    data = state.to_bytes()
    assert isinstance(data, bytes)
    assert ExecutionState.from_bytes(data) == state
    assert ExecutionState.from_bytes(data).to_bytes() == data


def test_round_trip_of_a_live_state() -> None:
    glue = Glue()
    with_activity(glue)
    assert glue.state is not None
    assert ExecutionState.from_bytes(glue.state.to_bytes()) == glue.state


@pytest.mark.parametrize("garbage", [b"", b"{", b"[]", b'{"namespace": 1}'])
def test_garbage_is_rejected(garbage: bytes) -> None:
    with pytest.raises(PayloadDecodeError):
        ExecutionState.from_bytes(garbage)


def test_retry_policy_defaults() -> None:
    assert RetryPolicy.from_proto(None) == RetryPolicy(1000, 2.0, 100_000, 0, [])
    proto = RetryPolicyProto(maximum_attempts=4)
    proto.initial_interval.FromMilliseconds(100)
    policy = RetryPolicy.from_proto(proto)
    assert (policy.initial_interval_ms, policy.maximum_interval_ms) == (100, 10_000)
    assert policy.backoff_coefficient == 2.0 and policy.maximum_attempts == 4
    assert RetryPolicy.from_proto(policy.to_proto()) == policy
