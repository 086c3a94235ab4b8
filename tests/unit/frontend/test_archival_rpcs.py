"""Archived runs read through the frontend: GetWorkflowExecutionHistory of a run history no
longer has, and ListArchivedWorkflowExecutions, over the fake backends and a temporary folder."""

from __future__ import annotations

from pathlib import Path

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import ArchivalState, EventType, HistoryEventFilterType
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    ListArchivedWorkflowExecutionsRequest,
    RegisterNamespaceRequest,
)

from schemas import archival
from tests.unit.frontend.conftest import Frontend
from tests.unit.frontend.helpers import failure

ENABLED = ArchivalState.ARCHIVAL_STATE_ENABLED
RUN_1 = "0196d1c0-0000-7000-8000-000000000001"
RUN_2 = "0196d1c0-0000-7000-8000-000000000002"


async def _archiving(frontend: Frontend, name: str, root: Path) -> str:
    uri = f"file://{root}"
    await frontend.stub.RegisterNamespace(
        RegisterNamespaceRequest(
            namespace=name,
            workflow_execution_retention_period=Duration(seconds=86400),
            history_archival_state=ENABLED,
            history_archival_uri=uri,
            visibility_archival_state=ENABLED,
            visibility_archival_uri=uri,
        )
    )
    namespace = frontend.namespaces.get(name)
    assert namespace is not None
    return namespace.id


def _history_request(
    namespace: str, run_id: str, **fields: object
) -> GetWorkflowExecutionHistoryRequest:
    return GetWorkflowExecutionHistoryRequest(
        namespace=namespace,
        execution=WorkflowExecution(workflow_id="wf", run_id=run_id),
        **fields,  # type: ignore[arg-type]
    )


async def test_history_of_a_deleted_run_comes_from_the_archive(
    frontend: Frontend, tmp_path: Path
) -> None:
    ns_id = await _archiving(frontend, "arch", tmp_path)
    events = [
        HistoryEvent(event_id=1, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
        HistoryEvent(event_id=2, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED),
    ]
    archival.FileStore(tmp_path).put(
        archival.history_key(ns_id, "wf", RUN_1), History(events=events).SerializeToString()
    )
    response = await frontend.stub.GetWorkflowExecutionHistory(_history_request("arch", RUN_1))
    assert response.archived
    assert list(response.history.events) == events
    close = await frontend.stub.GetWorkflowExecutionHistory(
        _history_request(
            "arch",
            RUN_1,
            history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
        )
    )
    assert [e.event_id for e in close.history.events] == [2]
    # Not archived, or no run id named: history's NOT_FOUND stands, as with Temporal.
    for request in (_history_request("arch", RUN_2), _history_request("arch", "")):
        missing = await failure(frontend.stub, "GetWorkflowExecutionHistory", request)
        assert missing.code == grpc.StatusCode.NOT_FOUND


async def test_list_archived_pages_latest_close_first(frontend: Frontend, tmp_path: Path) -> None:
    ns_id = await _archiving(frontend, "arch", tmp_path)
    store = archival.FileStore(tmp_path)
    for i in range(3):
        info = WorkflowExecutionInfo(
            execution=WorkflowExecution(workflow_id=f"wf-{i}", run_id=f"r{i}"),
            status=2,  # type: ignore[arg-type]
            close_time=Timestamp(seconds=1_800_000_000 + i),
        )
        key = archival.visibility_key(ns_id, info.close_time.ToNanoseconds(), f"r{i}")
        store.put(key, info.SerializeToString())
    first = await frontend.stub.ListArchivedWorkflowExecutions(
        ListArchivedWorkflowExecutionsRequest(namespace="arch", page_size=2)
    )
    assert [e.execution.workflow_id for e in first.executions] == ["wf-2", "wf-1"]
    second = await frontend.stub.ListArchivedWorkflowExecutions(
        ListArchivedWorkflowExecutionsRequest(
            namespace="arch", page_size=2, next_page_token=first.next_page_token
        )
    )
    assert [e.execution.workflow_id for e in second.executions] == ["wf-0"]
    assert second.next_page_token == b""
    only = await frontend.stub.ListArchivedWorkflowExecutions(
        ListArchivedWorkflowExecutionsRequest(namespace="arch", query="WorkflowId = 'wf-1'")
    )
    assert [e.execution.workflow_id for e in only.executions] == ["wf-1"]


async def test_list_archived_errors(frontend: Frontend, tmp_path: Path) -> None:
    await _archiving(frontend, "arch", tmp_path)
    cases = [
        (ListArchivedWorkflowExecutionsRequest(namespace="default"), "Namespace is not configured"),
        (
            ListArchivedWorkflowExecutionsRequest(namespace="arch", page_size=100_000),
            "PageSize is larger than allowed",
        ),
        (ListArchivedWorkflowExecutionsRequest(namespace="arch", query="Foo = 1"), "Foo"),
    ]
    for request, message in cases:
        refused = await failure(frontend.stub, "ListArchivedWorkflowExecutions", request)
        assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
        assert message in refused.message
