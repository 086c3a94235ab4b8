"""Strom only: every served WorkflowService RPC with generated hostile requests (hypothesis).

Each request must get a status Temporal could give (never INTERNAL or UNKNOWN), within its
deadline (no hang), and every Strom process must still be alive afterwards (no crash).
STROM_FUZZ_EXAMPLES raises the examples per RPC for a longer run than CI's.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.operatorservice.v1.service_pb2_grpc import OperatorServiceStub
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
    service_pb2,
)
from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceStub

from frontend.rpc import HANDLERS
from strom.testing import StromEnvironment
from tests.fuzz.protobuf import MessageStrategies

pytestmark = [pytest.mark.timeout(600)]  # the first test also pays for starting Strom

EXAMPLES = int(os.environ.get("STROM_FUZZ_EXAMPLES", "20"))
# Long-polls answer empty 1 s before the deadline and refuse deadlines under 2 s.
LONG_POLLS = {"PollWorkflowTaskQueue", "PollActivityTaskQueue", "GetWorkflowExecutionHistory"}
# A query waits for a worker to answer it; with none, Temporal too answers DEADLINE_EXCEEDED.
MAY_RUN_OUT = {*LONG_POLLS, "QueryWorkflow"}
LONG_POLL_DEADLINE_S = 2.5
# Anything else must answer well within this, even on a busy machine.
DEADLINE_S = 15.0
# RPCs that administer namespaces get a namespace of their own, never "default".
ADMIN = {"RegisterNamespace", "UpdateNamespace", "DeprecateNamespace", "DeleteNamespace"}
FORBIDDEN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
SEARCH_ATTRIBUTES = ("BinaryChecksums", "TemporalChangeVersion", "BuildIds", "WorkflowId")
INDEXED = [
    (name.removeprefix("INDEXED_VALUE_TYPE_"), value)
    for name, value in IndexedValueType.items()
    if value != IndexedValueType.INDEXED_VALUE_TYPE_UNSPECIFIED
]
# Running workflows whose started workflow tasks give the fuzzer real task tokens.
RUNNING = 6
# Sub-messages most handlers require, always present so requests get past the first checks.
ALWAYS = ("workflow_execution", "execution", "task_queue", "workflow_type")
_SERVICE = service_pb2.DESCRIPTOR.services_by_name["WorkflowService"]


@dataclass
class Target:
    """A Strom to fuzz and the names of what lives in it."""

    env: StromEnvironment
    channel: grpc.Channel
    stub: WorkflowServiceStub
    hints: dict[str, list[Any]]


@pytest.fixture(scope="module")
def target(strom_env: StromEnvironment) -> Iterator[Target]:
    """Running workflows, each with a started workflow task (real task tokens), and a closed one."""
    channel = grpc.insecure_channel(strom_env.target)
    stub = WorkflowServiceStub(channel)
    tq = f"fuzz-{uuid.uuid4().hex[:8]}"
    ids = [*(f"{tq}-running-{i}" for i in range(RUNNING)), f"{tq}-terminated"]
    runs = [
        stub.StartWorkflowExecution(
            StartWorkflowExecutionRequest(
                namespace="default",
                workflow_id=workflow_id,
                workflow_type=WorkflowType(name="Fuzzed"),
                task_queue=TaskQueue(name=tq),
                request_id=str(uuid.uuid4()),
                workflow_run_timeout=Duration(seconds=600),
            ),
            timeout=DEADLINE_S,
        ).run_id
        for workflow_id in ids
    ]
    suffix = tq.removeprefix("fuzz-")
    custom = {f"Fuzz{kind.title().replace('_', '')}{suffix}": value for kind, value in INDEXED}
    OperatorServiceStub(channel).AddSearchAttributes(
        AddSearchAttributesRequest(namespace="default", search_attributes=custom),
        timeout=DEADLINE_S,
    )
    tokens: list[bytes] = []
    while len(tokens) < len(ids):
        polled = stub.PollWorkflowTaskQueue(
            PollWorkflowTaskQueueRequest(namespace="default", task_queue=TaskQueue(name=tq)),
            timeout=10,
        )
        if polled.task_token:
            tokens.append(polled.task_token)
    stub.TerminateWorkflowExecution(
        TerminateWorkflowExecutionRequest(
            namespace="default", workflow_execution=WorkflowExecution(workflow_id=ids[-1])
        ),
        timeout=DEADLINE_S,
    )
    hints: dict[str, list[Any]] = {
        "namespace": ["default"],
        "workflow_id": ids,
        "run_id": runs,
        "name": [tq, "Fuzzed"],
        "task_token": tokens,
        "signal_name": ["go"],
        "query_type": ["__stack_trace"],
        "activity_id": ["1"],
        "query": [f"WorkflowId = '{ids[0]}'", "ExecutionStatus = 'Running'", "bad query ("],
        # Map keys and payloads: search attributes of every type, with values of every type.
        "key": [*custom, *SEARCH_ATTRIBUTES, "encoding"],
        "value": [b"json/plain", b"binary/null"],
        "data": [b'"x"', b"5", b"1.5", b"true", b'["a", "b"]', b'"2026-01-01T00:00:00Z"', b"{}"],
    }
    try:
        yield Target(strom_env, channel, stub, hints)
    finally:
        channel.close()


@pytest.mark.parametrize("rpc", sorted(HANDLERS))
def test_generated_requests_get_a_temporal_status(target: Target, rpc: str) -> None:
    method = _SERVICE.methods_by_name[rpc]
    hints = dict(target.hints)
    if rpc in ADMIN:
        hints["namespace"] = ["strom-fuzz"]
    requests = MessageStrategies(hints, always=ALWAYS).message(method.input_type)
    call = getattr(target.stub, rpc)
    deadline = LONG_POLL_DEADLINE_S if rpc in MAY_RUN_OUT else DEADLINE_S

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def one(data: st.DataObject) -> None:
        request = data.draw(requests, label="request")
        began = time.monotonic()
        try:
            call(request, timeout=deadline)
            event("OK")
        except grpc.RpcError as err:
            code = err.code()
            event(code.name)  # --hypothesis-show-statistics: how far requests got
            assert code not in FORBIDDEN, f"{rpc}: {code.name} {err.details()}"
            # A long-poll or a query may run into its deadline; nothing else may (a hang).
            assert code != grpc.StatusCode.DEADLINE_EXCEEDED or rpc in MAY_RUN_OUT, rpc
        assert time.monotonic() - began < deadline + 5.0, f"{rpc} outlived its deadline"

    one()
    target.env.services.check_alive()
