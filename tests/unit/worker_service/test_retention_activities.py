"""The retention activities over a fake frontend: the query they send, what they delete, the
rate limit, and what a run already gone or a deleted namespace's record answer."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import ArchivalState
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    DeleteWorkflowExecutionRequest,
    DescribeNamespaceResponse,
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
    ListWorkflowExecutionsRequest,
    ListWorkflowExecutionsResponse,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment

from schemas import archival
from schemas.retention import BatchResult, ReclaimArgs, RetentionArgs
from schemas.visibility.timefmt import parse_rfc3339
from worker_service.retention.activities import RetentionActivities


@dataclass
class _Frontend:
    runs: list[tuple[str, str]]
    gone: set[str] = field(default_factory=set)
    lists: list[ListWorkflowExecutionsRequest] = field(default_factory=list)
    deletes: list[DeleteWorkflowExecutionRequest] = field(default_factory=list)
    namespace_present: bool = True
    delete_namespace_calls: int = 0

    async def describe_namespace(self, request: Any) -> DescribeNamespaceResponse:
        if not self.namespace_present:
            raise RPCError("Namespace is not found.", RPCStatusCode.NOT_FOUND, b"")
        return DescribeNamespaceResponse(
            config=NamespaceConfig(workflow_execution_retention_ttl=Duration(seconds=60))
        )

    async def list_workflow_executions(
        self, request: ListWorkflowExecutionsRequest
    ) -> ListWorkflowExecutionsResponse:
        self.lists.append(request)
        page = self.runs[: request.page_size]
        return ListWorkflowExecutionsResponse(
            executions=[
                WorkflowExecutionInfo(execution=WorkflowExecution(workflow_id=w, run_id=r))
                for w, r in page
            ]
        )

    async def delete_workflow_execution(self, request: DeleteWorkflowExecutionRequest) -> None:
        self.deletes.append(request)
        if request.workflow_execution.workflow_id in self.gone:
            raise RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")

    async def delete_namespace(self, request: Any) -> None:
        self.delete_namespace_calls += 1


@dataclass
class _Client:
    frontend: _Frontend

    @property
    def workflow_service(self) -> _Frontend:
        return self.frontend

    @property
    def operator_service(self) -> _Frontend:
        return self.frontend


def _activities(frontend: _Frontend) -> RetentionActivities:
    return RetentionActivities(_Client(frontend))  # type: ignore[arg-type]


async def test_delete_expired_deletes_a_page_past_retention() -> None:
    frontend = _Frontend([("a", "r1"), ("b", "r2"), ("c", "r3")], gone={"b"})
    before_ms = int(time.time() * 1000)
    result = await ActivityEnvironment().run(
        _activities(frontend).delete_expired, RetentionArgs("ns", batch_size=2)
    )
    assert result == BatchResult(deleted=1, listed=2, more=True)  # "b" was gone already
    (listed,) = frontend.lists
    assert (listed.namespace, listed.page_size) == ("ns", 2)
    cutoff = listed.query.split("CloseTime < '")[1].split("'")[0]
    cutoff_ms = parse_rfc3339(cutoff) // 1_000_000
    assert before_ms - 60_000 <= cutoff_ms <= int(time.time() * 1000) - 60_000
    assert [(d.namespace, d.workflow_execution.run_id) for d in frontend.deletes] == [
        ("ns", "r1"),
        ("ns", "r2"),
    ]


async def test_deletes_are_rate_limited() -> None:
    frontend = _Frontend([(f"w{i}", f"r{i}") for i in range(4)])
    started = time.monotonic()
    result = await ActivityEnvironment().run(
        _activities(frontend).delete_all,
        ReclaimArgs("ns-deleted-01234", "id", batch_size=10, deletes_per_second=20),
    )
    assert result == BatchResult(deleted=4, listed=4, more=False)
    assert time.monotonic() - started >= 4 / 20 * 0.9


async def test_other_errors_fail_the_activity() -> None:
    frontend = _Frontend([("a", "r1")])

    async def refuse(_request: Any) -> None:
        raise RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b"")

    frontend.delete_workflow_execution = refuse  # type: ignore[method-assign, assignment]
    with pytest.raises(RPCError):
        await ActivityEnvironment().run(_activities(frontend).delete_expired, RetentionArgs("ns"))


async def test_remove_namespace_is_done_once_the_record_is_gone() -> None:
    frontend = _Frontend([])
    activities = _activities(frontend)
    args = ReclaimArgs("ns-deleted-01234", "id")
    assert await ActivityEnvironment().run(activities.remove_namespace, args) is False
    frontend.namespace_present = False
    assert await ActivityEnvironment().run(activities.remove_namespace, args) is True
    assert frontend.delete_namespace_calls == 2


class _ArchivingFrontend(_Frontend):
    """A namespace that archives to ``uri``; histories of two events, in two pages."""

    uri: str = ""

    async def describe_namespace(self, request: Any) -> DescribeNamespaceResponse:
        described = await super().describe_namespace(request)
        described.namespace_info.id = "ns-id"
        enabled = ArchivalState.ARCHIVAL_STATE_ENABLED
        described.config.history_archival_state = enabled
        described.config.history_archival_uri = self.uri
        described.config.visibility_archival_state = enabled
        described.config.visibility_archival_uri = self.uri
        return described

    async def get_workflow_execution_history(
        self, request: GetWorkflowExecutionHistoryRequest
    ) -> GetWorkflowExecutionHistoryResponse:
        if request.execution.workflow_id in self.gone:
            raise RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")
        event_id = 2 if request.next_page_token else 1
        return GetWorkflowExecutionHistoryResponse(
            history=History(events=[HistoryEvent(event_id=event_id)]),
            next_page_token=b"" if request.next_page_token else b"more",
        )


async def test_archives_history_and_visibility_before_deleting(tmp_path: Path) -> None:
    frontend = _ArchivingFrontend([("a", "r1"), ("b", "r2")], gone={"b"})
    frontend.uri = f"file://{tmp_path}"
    result = await ActivityEnvironment().run(
        _activities(frontend).delete_expired, RetentionArgs("ns")
    )
    # "b" vanished before it could be archived: it is neither archived nor deleted.
    assert result == BatchResult(deleted=1, listed=2, more=False)
    assert [d.workflow_execution.workflow_id for d in frontend.deletes] == ["a"]
    store = archival.FileStore(tmp_path)
    history = History.FromString(store.get(archival.history_key("ns-id", "a", "r1")) or b"")
    assert [e.event_id for e in history.events] == [1, 2]
    (key,) = store.list(archival.visibility_prefix("ns-id"))
    assert WorkflowExecutionInfo.FromString(store.get(key) or b"").execution.run_id == "r1"
    assert store.get(archival.history_key("ns-id", "b", "r2")) is None


async def test_an_unusable_archive_deletes_nothing() -> None:
    frontend = _ArchivingFrontend([("a", "r1")])
    frontend.uri = "s3://bucket/somewhere"
    with pytest.raises(archival.ArchivalError):
        await ActivityEnvironment().run(_activities(frontend).delete_expired, RetentionArgs("ns"))
    assert frontend.deletes == []
