"""RecordMarker: MarkerRecorded as Temporal writes it, and its checks."""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.common.v1 import Header, Payload, Payloads
from temporalio.api.enums.v1 import CommandType, EventType, WorkflowTaskFailedCause
from temporalio.api.failure.v1 import Failure
from temporalio.api.sdk.v1 import UserMetadata

from history_processor.commands.limits import BLOB_SIZE_LIMIT_ERROR
from history_processor.state import WorkflowStatus
from tests.unit.history.harness import Glue, complete_workflow, first_task, sticky, types


def record_marker(name: str, **details: bytes) -> WorkflowCommand:
    command = WorkflowCommand(command_type=CommandType.COMMAND_TYPE_RECORD_MARKER)
    attrs = command.record_marker_command_attributes
    attrs.marker_name = name
    for key, data in details.items():
        attrs.details[key].CopyFrom(Payloads(payloads=[Payload(data=data)]))
    return command


def test_a_side_effect_marker_is_written_with_everything_it_carries() -> None:
    glue = Glue()
    poll = first_task(glue)
    marker = record_marker("SideEffect", data=b"42", **{"side-effect-id": b"1"})
    marker.record_marker_command_attributes.header.CopyFrom(
        Header(fields={"trace": Payload(data=b"t")})
    )
    marker.record_marker_command_attributes.failure.CopyFrom(Failure(message="la failed"))
    marker.user_metadata.CopyFrom(UserMetadata(summary=Payload(data=b"why")))

    decision = glue.complete_workflow_task(
        poll, marker, record_marker("core_patch"), complete_workflow(), sticky_attributes=sticky()
    )

    assert decision.reply is not None and decision.reply.ok, decision.reply
    assert types(decision) == [
        "WORKFLOW_TASK_COMPLETED",
        "MARKER_RECORDED",
        "MARKER_RECORDED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    first = decision.events[1]
    attrs = first.marker_recorded_event_attributes
    assert attrs.marker_name == "SideEffect"
    assert attrs.workflow_task_completed_event_id == 4
    assert attrs.details["data"].payloads[0].data == b"42"
    assert attrs.details["side-effect-id"].payloads[0].data == b"1"
    assert attrs.header.fields["trace"].data == b"t"
    assert attrs.failure.message == "la failed"
    assert first.user_metadata.summary.data == b"why"
    assert decision.events[2].marker_recorded_event_attributes.marker_name == "core_patch"
    # A marker changes no state: the fold keeps the run as the events leave it.
    assert glue.restore() == glue.state


def _failed_task(glue: Glue, command: WorkflowCommand) -> tuple[str, str]:
    poll = first_task(glue)
    decision = glue.complete_workflow_task(poll, command)
    assert decision.reply is not None and not decision.reply.ok
    failed = next(
        e for e in decision.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    )
    attrs = failed.workflow_task_failed_event_attributes
    assert attrs.cause == (
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES
    )
    assert attrs.failure.message == decision.reply.message
    return decision.reply.message, types(decision)[-1]


def test_a_marker_without_a_name_fails_the_workflow_task() -> None:
    glue = Glue()
    message, last = _failed_task(glue, record_marker(""))
    assert message == "BadRecordMarkerAttributes: MarkerName is not set on RecordMarkerCommand."
    assert last == "WORKFLOW_TASK_FAILED"
    # The worker gets another try: a transient second attempt, sent to matching.
    assert glue.state is not None and glue.state.is_running
    assert [t["attempt"] for t in glue.decisions[-1].tasks] == [2]


def test_a_marker_name_over_the_id_limit_fails_the_workflow_task() -> None:
    message, _ = _failed_task(Glue(), record_marker("m" * 1001))
    assert message.startswith(
        "BadRecordMarkerAttributes: MarkerName on RecordMarkerCommand exceeds length limit."
    )
    assert message.endswith("Length=1001 Limit=1000")


def test_marker_details_over_the_blob_limit_terminate_the_run() -> None:
    glue = Glue()
    huge = record_marker("SideEffect", data=b"x" * (BLOB_SIZE_LIMIT_ERROR + 1))
    message, last = _failed_task(glue, huge)
    assert message == (
        "BadRecordMarkerAttributes: RecordMarkerCommandAttributes.Details exceeds size limit."
    )
    assert last == "WORKFLOW_EXECUTION_TERMINATED"
    assert glue.state is not None and glue.state.status is WorkflowStatus.TERMINATED
    terminated = glue.events[-1].workflow_execution_terminated_event_attributes
    assert terminated.reason == message
    assert terminated.identity == "history-service"
    assert glue.decisions[-1].visibility is not None
    assert glue.decisions[-1].tasks == []  # no new workflow task for a terminated run
