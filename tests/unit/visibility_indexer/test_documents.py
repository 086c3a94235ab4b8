"""VisibilityRecord -> bulk action, and the document back to a WorkflowExecutionInfo."""

from __future__ import annotations

import json
from typing import Any

from temporalio.api.common.v1 import Memo, Payload, SearchAttributes
from temporalio.api.enums.v1 import WorkflowExecutionStatus

from schemas.visibility.search import execution_info
from schemas.visibility.template import mappings
from visibility_indexer.documents import MAX_ID_BYTES, build_action, doc_id


def record(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "namespace": "default",
        "namespace_id": "ns-id",
        "workflow_id": "wf-1",
        "run_id": "run-1",
        "workflow_type": "MyWorkflow",
        "task_queue": "q",
        "status": "Running",
        "start_time_ms": 1_700_000_000_123,
        "execution_time_ms": 1_700_000_000_123,
        "close_time_ms": None,
        "execution_duration_ms": None,
        "history_length": 2,
        "version": 3,
        "memo": b"",
        "search_attributes": b"",
        "deleted": False,
    }
    base.update(changes)
    return base


def json_payload(value: Any) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


def test_running_run_document() -> None:
    action = build_action(record())
    assert action.doc_id == "wf-1~run-1"
    assert action.version == 3
    assert action.document == {
        "Namespace": "default",
        "NamespaceId": "ns-id",
        "WorkflowId": "wf-1",
        "RunId": "run-1",
        "WorkflowType": "MyWorkflow",
        "TaskQueue": "q",
        "ExecutionStatus": "Running",
        "StartTime": "2023-11-14T22:13:20.123Z",
        "ExecutionTime": "2023-11-14T22:13:20.123Z",
        "HistoryLength": 2,
    }
    assert action.bulk_lines("idx") == [
        {
            "index": {
                "_index": "idx",
                "_id": "wf-1~run-1",
                "version": 3,
                "version_type": "external",
            }
        },
        action.document,
    ]


def test_closed_run_has_close_time_and_duration_in_nanoseconds() -> None:
    doc = build_action(
        record(status="Completed", close_time_ms=1_700_000_060_123, execution_duration_ms=60_000)
    ).document
    assert doc is not None
    assert doc["CloseTime"] == "2023-11-14T22:14:20.123Z"
    assert doc["ExecutionDuration"] == 60 * 10**9


def test_duration_derived_for_schema_version_1_records() -> None:
    old = record(status="Failed", close_time_ms=1_700_000_001_123)
    del old["execution_duration_ms"]
    doc = build_action(old).document
    assert doc is not None and doc["ExecutionDuration"] == 10**9


def test_deleted_record_is_a_versioned_delete() -> None:
    action = build_action(record(deleted=True, version=9))
    assert action.is_delete
    assert action.bulk_lines("idx") == [
        {"delete": {"_index": "idx", "_id": "wf-1~run-1", "version": 9, "version_type": "external"}}
    ]


def test_long_workflow_ids_get_a_hashed_id() -> None:
    long_id = doc_id("w" * 1000, "run")
    assert len(long_id.encode()) <= MAX_ID_BYTES
    assert long_id != doc_id("w" * 999, "run")
    assert doc_id("w" * 1000, "run") == long_id


def test_memo_and_search_attributes_round_trip_and_predefined_ones_are_indexed() -> None:
    memo = Memo(fields={"note": json_payload("hello")})
    attrs = SearchAttributes(
        indexed_fields={
            "TemporalChangeVersion": json_payload(["a-1", "b-2"]),
            "BuildIds": json_payload("not-a-list-but-a-keyword"),
            "TemporalScheduledStartTime": json_payload("2024-01-01T01:00:00+01:00"),
            "TemporalExternalPayloadCount": json_payload("wrong type"),
            "CustomKeyword": json_payload("custom"),
        }
    )
    doc = build_action(
        record(memo=memo.SerializeToString(), search_attributes=attrs.SerializeToString())
    ).document
    assert doc is not None
    assert doc["TemporalChangeVersion"] == ["a-1", "b-2"]
    assert doc["BuildIds"] == "not-a-list-but-a-keyword"
    assert doc["TemporalScheduledStartTime"] == "2024-01-01T00:00:00Z"
    assert "TemporalExternalPayloadCount" not in doc  # would be rejected by the mapping
    assert "CustomKeyword" not in doc  # a custom attribute without its type is not indexed
    assert set(doc) <= set(mappings()["properties"])

    info = execution_info(doc)
    assert info.memo == memo
    assert info.search_attributes == attrs


def test_execution_info_of_a_closed_run() -> None:
    doc = build_action(
        record(
            status="ContinuedAsNew",
            close_time_ms=1_700_000_060_123,
            execution_duration_ms=1_500,
            history_length=11,
        )
    ).document
    assert doc is not None
    info = execution_info(doc)
    assert info.execution.workflow_id == "wf-1" and info.execution.run_id == "run-1"
    assert info.root_execution == info.execution
    assert info.type.name == "MyWorkflow"
    assert info.task_queue == "q"
    assert info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
    assert info.history_length == 11
    assert info.start_time.ToMilliseconds() == 1_700_000_000_123
    assert info.execution_time.ToMilliseconds() == 1_700_000_000_123
    assert info.close_time.ToMilliseconds() == 1_700_000_060_123
    assert info.execution_duration.ToMilliseconds() == 1_500
    assert info.HasField("memo") and info.HasField("search_attributes")


def test_execution_info_of_a_running_run_has_no_close_time() -> None:
    doc = build_action(record()).document
    assert doc is not None
    info = execution_info(doc)
    assert info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    assert not info.HasField("close_time")
    assert not info.HasField("execution_duration")


def test_execution_info_of_an_unknown_status_is_unspecified() -> None:
    doc = build_action(record(status="SomethingNew")).document
    assert doc is not None
    assert (
        execution_info(doc).status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED
    )


def typed_payload(value: Any, type_name: str) -> Payload:
    payload = json_payload(value)
    payload.metadata["type"] = type_name.encode()
    return payload


def test_custom_attributes_are_indexed_under_their_type() -> None:
    attrs = SearchAttributes(
        indexed_fields={
            "CustomerId": typed_payload("c-1", "Keyword"),
            "Tags": typed_payload(["a", "b"], "KeywordList"),
            "Amount": typed_payload([4.5], "Double"),
            "Count": typed_payload(7, "Int"),
            "Paid": typed_payload(True, "Bool"),
            "Due": typed_payload("2024-01-01T01:00:00+01:00", "Datetime"),
            "Note": typed_payload("free text", "Text"),
            "a.b c": typed_payload("dotted", "Keyword"),
            "WrongValue": typed_payload("x", "Int"),
            "UnknownType": typed_payload("x", "Whatever"),
        }
    )
    doc = build_action(record(search_attributes=attrs.SerializeToString())).document
    assert doc is not None
    assert doc["Custom"] == {
        "Keyword": {"CustomerId": "c-1", "a%2Eb%20c": "dotted"},
        "KeywordList": {"Tags": ["a", "b"]},
        "Double": {"Amount": [4.5]},
        "Int": {"Count": 7},
        "Bool": {"Paid": True},
        "Datetime": {"Due": "2024-01-01T00:00:00Z"},
        "Text": {"Note": "free text"},
    }
    assert set(doc["Custom"]) <= set(mappings()["properties"]["Custom"]["properties"])
    assert execution_info(doc).search_attributes == attrs
