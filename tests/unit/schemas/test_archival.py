"""Archival's store, keys and filter: pure, on a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.workflow.v1 import WorkflowExecutionInfo

from schemas import archival
from schemas.archival_query import compile_filter
from schemas.visibility.exceptions import InvalidQueryError


def test_file_store_round_trip_and_listing(tmp_path: Path) -> None:
    store = archival.store_for(f"file://{tmp_path}/arch")
    key = archival.history_key("ns-id", "order/../42", "run-1")
    assert key.count("/") == 3  # the id is one segment, whatever it holds
    store.put(key, b"one")
    store.put(key, b"two")  # replaced whole
    assert store.get(key) == b"two"
    assert store.get(archival.history_key("ns-id", "other", "run-1")) is None
    late = archival.visibility_key("ns-id", 2_000, "r2")
    early = archival.visibility_key("ns-id", 1_000, "r1")
    for k in (late, early):
        store.put(k, b"v")
    assert store.list(archival.visibility_prefix("ns-id")) == [early, late]
    assert store.list(archival.visibility_prefix("other")) == []
    assert not [p for p in (tmp_path / "arch").rglob(".tmp-*")]


@pytest.mark.parametrize("uri", ["s3://bucket/x", "file://relative", "gs:///x"])
def test_store_for_refuses_what_it_cannot_write(uri: str) -> None:
    with pytest.raises(archival.ArchivalError, match="archival URI"):
        archival.store_for(uri)


def test_file_store_keys_never_leave_the_folder(tmp_path: Path) -> None:
    with pytest.raises(archival.ArchivalError, match="leaves"):
        archival.FileStore(tmp_path).put("a/../../x", b"")


def _info(
    workflow_id: str, status: int, close_s: int, type_name: str = "T"
) -> WorkflowExecutionInfo:
    return WorkflowExecutionInfo(
        execution=WorkflowExecution(workflow_id=workflow_id, run_id=f"r-{workflow_id}"),
        type=WorkflowType(name=type_name),
        status=status,  # type: ignore[arg-type]
        start_time=Timestamp(seconds=close_s - 10),
        close_time=Timestamp(seconds=close_s),
    )


RECORDS = [
    _info("a", 2, 1_800_000_000),
    _info("b", 3, 1_800_000_100, "U"),
    _info("c", 5, 1_800_000_200),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["a", "b", "c"]),
        ("WorkflowId = 'b'", ["b"]),
        ("RunId != 'r-a'", ["b", "c"]),
        ("WorkflowType = 'U' OR ExecutionStatus = 'Terminated'", ["b", "c"]),
        ("ExecutionStatus = 'Completed'", ["a"]),
        ("ExecutionStatus = 3", ["b"]),
        ("CloseTime >= '2027-01-15T08:01:40Z'", ["b", "c"]),
        ("CloseTime BETWEEN '2027-01-15T08:00:00Z' AND '2027-01-15T08:02:00Z'", ["a", "b"]),
        ("NOT (WorkflowId = 'a') AND StartTime < '2027-01-15T08:03:00Z'", ["b"]),
    ],
)
def test_filter(query: str, expected: list[str]) -> None:
    matches = compile_filter(query)
    assert [r.execution.workflow_id for r in RECORDS if matches(r)] == expected


@pytest.mark.parametrize(
    "query",
    [
        "CustomField = 'x'",
        "WorkflowId > 'a'",
        "ExecutionStatus = 'Sleeping'",
        "CloseTime > 'yesterday'",
        "WorkflowId = 'a' ORDER BY CloseTime",
        "WorkflowId = ",
        "WorkflowId BETWEEN 'a' AND 'b'",
    ],
)
def test_filter_refuses(query: str) -> None:
    with pytest.raises(InvalidQueryError):
        compile_filter(query)
