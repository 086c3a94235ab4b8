"""Temporal's caps on a run's pending activities, children, signals and cancel requests."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.api.command.v1 import Command
from temporalio.api.enums.v1 import WorkflowTaskFailedCause
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueResponse,
    SignalWorkflowExecutionRequest,
)

from history_processor.__main__ import build_parser, pending_limits
from history_processor.pending_limits import DEFAULT_PENDING_LIMIT, PendingLimits
from schemas import inbox
from schemas.reply import Code
from tests.unit.history.harness import (
    NAMESPACE,
    Glue,
    first_task,
    ok_payload,
    schedule_activity,
    sticky,
    types,
)
from tests.unit.history.relatives_harness import (
    Cluster,
    cancel_external,
    signal_external,
    start_child,
)

_Cause = WorkflowTaskFailedCause

# (limit field, command maker, cause, Temporal's text of the kind, reply message prefix)
_KINDS: list[tuple[str, Any, int, str, str]] = [
    (
        "activities",
        lambda i: schedule_activity(activity_id=f"a{i}"),
        _Cause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_ACTIVITIES_LIMIT_EXCEEDED,
        "pending activities",
        "PendingActivitiesLimitExceeded",
    ),
    (
        "child_workflows",
        lambda i: start_child(f"child-{i}"),
        _Cause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_CHILD_WORKFLOWS_LIMIT_EXCEEDED,
        "pending child workflow executions",
        "PendingChildWorkflowsLimitExceeded",
    ),
    (
        "signals",
        lambda i: signal_external(f"target-{i}"),
        _Cause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_SIGNALS_LIMIT_EXCEEDED,
        "pending signals to external workflows",
        "PendingSignalsLimitExceeded",
    ),
    (
        "cancel_requests",
        lambda i: cancel_external(f"target-{i}"),
        _Cause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_REQUEST_CANCEL_LIMIT_EXCEEDED,
        "pending requests to cancel external workflows",
        "PendingRequestCancelLimitExceeded",
    ),
]


def _command(make: Any, i: int) -> Command:
    command: Command = make(i)
    return command


def _glue(field: str, limit: int) -> Glue:
    glue = Glue(pending_limits=PendingLimits(**{field: limit}))
    return glue


@pytest.mark.parametrize(("field", "make", "cause", "what", "prefix"), _KINDS)
def test_one_command_past_the_limit_fails_the_whole_task(
    field: str, make: Any, cause: int, what: str, prefix: str
) -> None:
    glue = _glue(field, 2)
    poll = first_task(glue)
    commands = [_command(make, i) for i in range(3)]
    decision = glue.complete_workflow_task(poll, *commands, sticky_attributes=sticky())
    assert decision.reply is not None and decision.reply.status_code == Code.INVALID_ARGUMENT
    expected = f"the number of {what}, 2, has reached the per-workflow limit of 2"
    assert decision.reply.message == f"{prefix}: {expected}"
    # The completion is discarded: nothing it started is written or sent.
    assert types(decision) == ["WORKFLOW_TASK_FAILED"]  # the retry is transient
    assert decision.commands == []
    failed = decision.events[0].workflow_task_failed_event_attributes
    assert failed.cause == cause
    assert failed.failure.message == f"{prefix}: {expected}"
    assert glue.state is not None
    assert not glue.state.activities and not glue.state.children
    assert not glue.state.external_signals and not glue.state.external_cancels


@pytest.mark.parametrize(("field", "make", "cause", "what", "prefix"), _KINDS)
def test_up_to_the_limit_is_allowed_and_earlier_tasks_count(
    field: str, make: Any, cause: int, what: str, prefix: str
) -> None:
    glue = _glue(field, 2)
    poll = first_task(glue)
    ok = glue.complete_workflow_task(poll, _command(make, 0), _command(make, 1))
    assert ok.reply is not None and ok.reply.ok
    assert len(types(ok)) == 3  # WorkflowTaskCompleted and two initiated/scheduled events
    wake = SignalWorkflowExecutionRequest(namespace=NAMESPACE, signal_name="s", request_id="r")
    wake.workflow_execution.workflow_id = glue.workflow_id
    glue.submit("SignalWorkflowExecution", wake)
    poll = ok_payload(glue.poll_workflow_task(), PollWorkflowTaskQueueResponse)
    refused = glue.complete_workflow_task(poll, _command(make, 2))
    assert refused.reply is not None
    assert refused.reply.message.startswith(f"{prefix}: the number of {what}, 2,")
    assert refused.events[0].workflow_task_failed_event_attributes.cause == cause


@pytest.mark.parametrize(("field", "make", "cause", "what", "prefix"), _KINDS)
def test_zero_means_no_limit(field: str, make: Any, cause: int, what: str, prefix: str) -> None:
    glue = _glue(field, 0)
    poll = first_task(glue)
    decision = glue.complete_workflow_task(poll, *[_command(make, i) for i in range(5)])
    assert decision.reply is not None and decision.reply.ok
    assert len(types(decision)) == 6


def test_a_resolved_signal_no_longer_counts() -> None:
    c = Cluster()
    c.glue("target").start("ChildWaiter")
    c.complete("target")
    source = c.glue("source")
    source.pending_limits = PendingLimits(signals=1)
    source.start("ExternalSignaler")
    assert c.complete("source", signal_external("target")).reply.ok  # type: ignore[union-attr]
    c.deliver(inbox.SIGNAL_EXTERNAL_WORKFLOW)
    c.deliver(inbox.SIGNAL_EXTERNAL_WORKFLOW_RESULT)  # the signal is delivered: none pending
    again = c.complete("source", signal_external("target"))
    assert again.reply is not None and again.reply.ok
    assert "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED" in types(again)


def test_the_history_processor_takes_the_limits_from_its_command_line() -> None:
    args = build_parser().parse_args(
        [
            "--bootstrap=k:9092",
            "--state-dir=/tmp/x",
            "--max-pending-activities=3",
            "--max-pending-child-workflows=4",
            "--max-pending-signals=0",
            "--max-pending-cancel-requests=6",
        ]
    )
    assert pending_limits(args) == PendingLimits(3, 4, 0, 6)
    defaults = build_parser().parse_args(["--bootstrap=k:9092", "--state-dir=/tmp/x"])
    assert pending_limits(defaults) == PendingLimits(*[DEFAULT_PENDING_LIMIT] * 4)


@pytest.mark.parametrize("value", ["-1", "many"])
def test_a_bad_limit_is_refused_with_a_message(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(
            ["--bootstrap=k:9092", "--state-dir=/tmp/x", f"--max-pending-signals={value}"]
        )
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--max-pending-signals" in err
    assert ("0 (no limit) or more" in err) if value == "-1" else ("whole number" in err)
