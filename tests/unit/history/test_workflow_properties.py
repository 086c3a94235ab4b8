"""Memo and search attributes in history: start, upserts, the fold, visibility, BuildIds."""

from __future__ import annotations

import json
from typing import Any

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.common.v1 import Memo, Payload, SearchAttributes, WorkerVersionStamp
from temporalio.api.enums.v1 import CommandType, EventType, WorkflowTaskFailedCause
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedResponse,
)

from history_processor.state import WorkflowStatus
from schemas.visibility.attributes import ValueType
from tests.unit.history.harness import (
    Glue,
    complete_workflow,
    ok_payload,
    sticky,
    types,
)

CUSTOM = {"CustKw": ValueType.KEYWORD, "CustInt": ValueType.INT}


def value(data: Any, type_name: str = "") -> Payload:
    payload = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(data).encode())
    if type_name:
        payload.metadata["type"] = type_name.encode()
    return payload


NULL = Payload(metadata={"encoding": b"binary/null"})


def upsert_search_attributes(**fields: Payload) -> WorkflowCommand:
    command = WorkflowCommand(
        command_type=CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    )
    attrs = command.upsert_workflow_search_attributes_command_attributes
    attrs.search_attributes.SetInParent()
    for name, payload in fields.items():
        attrs.search_attributes.indexed_fields[name].CopyFrom(payload)
    return command


def upsert_memo(**fields: Payload) -> WorkflowCommand:
    command = WorkflowCommand(command_type=CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES)
    attrs = command.modify_workflow_properties_command_attributes
    attrs.upserted_memo.SetInParent()
    for key, payload in fields.items():
        attrs.upserted_memo.fields[key].CopyFrom(payload)
    return command


def started_glue(**start: Any) -> tuple[Glue, PollWorkflowTaskQueueResponse]:
    glue = Glue(search_attributes=dict(CUSTOM))
    glue.start(**start)
    poll = ok_payload(glue.poll_workflow_task(), PollWorkflowTaskQueueResponse)
    return glue, poll


def search_attributes(glue: Glue) -> dict[str, bytes]:
    assert glue.state is not None
    parsed = SearchAttributes.FromString(glue.state.search_attributes)
    return {name: p.data for name, p in parsed.indexed_fields.items()}


def memo(glue: Glue) -> dict[str, bytes]:
    assert glue.state is not None
    return {k: p.data for k, p in Memo.FromString(glue.state.memo).fields.items()}


def test_start_keeps_memo_and_annotated_search_attributes_without_unset_values() -> None:
    glue, _ = started_glue(
        memo=Memo(fields={"m": value("v")}),
        search_attributes=SearchAttributes(
            indexed_fields={"CustInt": value([1]), "CustKw": value([])}
        ),
    )
    started = glue.events[0].workflow_execution_started_event_attributes
    assert dict(started.search_attributes.indexed_fields["CustInt"].metadata) == {
        "encoding": b"json/plain",
        "type": b"Int",
    }
    assert "CustKw" not in started.search_attributes.indexed_fields
    assert started.memo.fields["m"].data == b'"v"'
    assert search_attributes(glue) == {"CustInt": b"[1]"}
    assert memo(glue) == {"m": b'"v"'}
    record = glue.decisions[0].visibility
    assert record is not None and record["memo"] == glue.state.memo  # type: ignore[union-attr]


def test_upsert_merges_removes_annotates_and_updates_visibility() -> None:
    glue, poll = started_glue(
        search_attributes=SearchAttributes(
            indexed_fields={"CustKw": value("a", "Keyword"), "CustInt": value(1, "Int")}
        )
    )
    decision = glue.complete_workflow_task(
        poll,
        upsert_search_attributes(
            CustKw=value("b"), CustInt=value([]), TemporalChangeVersion=value(["p"])
        ),
        sticky_attributes=sticky(),
    )
    assert decision.reply is not None and decision.reply.ok, decision.reply
    assert types(decision) == ["WORKFLOW_TASK_COMPLETED", "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"]
    event = decision.events[1].upsert_workflow_search_attributes_event_attributes
    assert event.workflow_task_completed_event_id == 4
    assert {n: p.metadata["type"] for n, p in event.search_attributes.indexed_fields.items()} == {
        "CustKw": b"Keyword",
        "CustInt": b"Int",
        "TemporalChangeVersion": b"KeywordList",
    }
    assert search_attributes(glue) == {
        "CustKw": b'"b"',
        "TemporalChangeVersion": b'["p"]',
        "BuildIds": b'["unversioned"]',
    }
    record = decision.visibility
    assert record is not None
    assert record["search_attributes"] == glue.state.search_attributes  # type: ignore[union-attr]
    assert record["version"] == glue.state.next_event_id  # type: ignore[union-attr]
    assert glue.restore() == glue.state


def test_memo_upsert_merges_and_null_removes() -> None:
    glue, poll = started_glue(memo=Memo(fields={"a": value(1), "b": value(2)}))
    decision = glue.complete_workflow_task(
        poll, upsert_memo(b=NULL, c=value(3)), complete_workflow(), sticky_attributes=sticky()
    )
    assert types(decision) == [
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_PROPERTIES_MODIFIED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    modified = decision.events[1].workflow_properties_modified_event_attributes
    assert set(modified.upserted_memo.fields) == {"b", "c"}
    assert modified.workflow_task_completed_event_id == 4
    assert memo(glue) == {"a": b"1", "c": b"3"}
    assert decision.visibility is not None and decision.visibility["status"] == "Completed"
    assert Memo.FromString(decision.visibility["memo"]).fields["c"].data == b"3"
    assert glue.restore() == glue.state


def _failure(glue: Glue, poll: PollWorkflowTaskQueueResponse, command: WorkflowCommand) -> Any:
    decision = glue.complete_workflow_task(poll, command)
    assert decision.reply is not None and not decision.reply.ok
    failed = next(
        e for e in decision.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    )
    attrs = failed.workflow_task_failed_event_attributes
    assert attrs.failure.message == decision.reply.message
    return attrs


def test_unknown_or_system_attributes_and_wrong_values_fail_the_workflow_task() -> None:
    bad = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES
    cases = [
        (
            upsert_search_attributes(NoSuchAttr=value("x")),
            "BadSearchAttributes: Namespace default has no mapping defined for search attribute "
            "NoSuchAttr",
        ),
        (
            upsert_search_attributes(WorkflowId=value("x")),
            "BadSearchAttributes: WorkflowId attribute can't be set in SearchAttributes",
        ),
        (
            upsert_search_attributes(CustInt=value("seven")),
            "BadSearchAttributes: invalid value for search attribute CustInt of type Int: seven",
        ),
        (
            upsert_search_attributes(),
            "BadSearchAttributes: IndexedFields is not set on "
            "UpsertWorkflowSearchAttributesCommand.",
        ),
    ]
    for command, message in cases:
        glue, poll = started_glue()
        attrs = _failure(glue, poll, command)
        assert (attrs.cause, attrs.failure.message) == (bad, message)
        assert search_attributes(glue) == {}


def test_search_attributes_over_the_size_limit_terminate_the_run() -> None:
    glue, poll = started_glue()
    attrs = _failure(glue, poll, upsert_search_attributes(CustKw=value("x" * 3000)))
    assert attrs.failure.message == (
        "BadSearchAttributes: search attribute CustKw value size 3002 exceeds size limit 2048"
    )
    assert glue.state is not None and glue.state.status is WorkflowStatus.TERMINATED
    assert types(glue.events)[-1] == "WORKFLOW_EXECUTION_TERMINATED"


def test_a_memo_upsert_without_fields_fails_the_workflow_task() -> None:
    glue, poll = started_glue()
    attrs = _failure(glue, poll, upsert_memo())
    assert attrs.cause == (
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES
    )
    assert attrs.failure.message == (
        "BadModifyWorkflowPropertiesAttributes: UpsertedMemo.Fields is not set on "
        "ModifyWorkflowPropertiesCommand."
    )


def test_build_ids_and_binary_checksums_record_who_completed_tasks() -> None:
    glue, poll = started_glue()
    # A worker with build-id versioning sends a stamp (the dev server's case) ...
    decision = glue.complete_workflow_task(
        poll,
        sticky_attributes=sticky(),
        force_create_new_workflow_task=True,
        return_new_workflow_task=True,
        worker_version_stamp=WorkerVersionStamp(build_id="b1"),
    )
    assert json.loads(search_attributes(glue)["BuildIds"]) == ["unversioned", "unversioned:b1"]
    assert decision.visibility is not None
    # ... one without (Strom advertises no versioning) sends its binary checksum.
    inline = ok_payload(decision, RespondWorkflowTaskCompletedResponse).workflow_task
    glue.complete_workflow_task(inline, complete_workflow(), binary_checksum="c1")
    stored = search_attributes(glue)
    assert json.loads(stored["BuildIds"]) == ["unversioned", "unversioned:b1"]
    assert json.loads(stored["BinaryChecksums"]) == ["c1"]
    assert glue.restore() == glue.state
