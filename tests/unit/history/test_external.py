"""Signals and cancel requests to other workflows (SignalExternal / RequestCancelExternal)."""

from __future__ import annotations

from temporalio.api.enums.v1 import (
    CancelExternalWorkflowExecutionFailedCause,
    SignalExternalWorkflowExecutionFailedCause,
    WorkflowTaskFailedCause,
)
from temporalio.api.workflowservice.v1 import SignalWorkflowExecutionRequest

from schemas import inbox
from tests.unit.history.harness import NAMESPACE, complete_workflow, payloads, types
from tests.unit.history.relatives_harness import (
    Cluster,
    cancel_external,
    signal_external,
    start_child,
)

_SIGNAL_NOT_FOUND = SignalExternalWorkflowExecutionFailedCause.Value(
    "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"
)
_CANCEL_NOT_FOUND = CancelExternalWorkflowExecutionFailedCause.Value(
    "CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"
)


def _source_and_target(c: Cluster) -> None:
    c.glue("target").start("ChildWaiter")
    c.complete("target")
    c.glue("source").start("ExternalSignaler")


def test_signal_reaches_the_target_and_the_result_the_source() -> None:
    c = Cluster()
    _source_and_target(c)
    sent = c.complete("source", signal_external("target", input=payloads(b'"v"'), control="c1"))
    assert types(sent) == [
        "WORKFLOW_TASK_COMPLETED",
        "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
    ]
    initiated = sent.events[1].signal_external_workflow_execution_initiated_event_attributes
    assert initiated.workflow_execution.workflow_id == "target" and initiated.control == "c1"
    assert c.kinds() == [inbox.SIGNAL_EXTERNAL_WORKFLOW]

    signaled = c.deliver()
    assert types(signaled) == ["WORKFLOW_EXECUTION_SIGNALED", "WORKFLOW_TASK_SCHEDULED"]
    attrs = signaled.events[0].workflow_execution_signaled_event_attributes
    source_run = c.glue("source").state.run_id  # type: ignore[union-attr]
    assert attrs.signal_name == "release" and attrs.input.payloads[0].data == b'"v"'
    assert attrs.external_workflow_execution.workflow_id == "source"
    assert attrs.external_workflow_execution.run_id == source_run
    assert attrs.identity == "history-service" and attrs.request_id

    result = c.deliver(inbox.SIGNAL_EXTERNAL_WORKFLOW_RESULT)
    assert types(result) == ["EXTERNAL_WORKFLOW_EXECUTION_SIGNALED", "WORKFLOW_TASK_SCHEDULED"]
    done = result.events[0].external_workflow_execution_signaled_event_attributes
    assert (done.initiated_event_id, done.control) == (5, "c1")
    assert done.workflow_execution.workflow_id == "target"
    assert c.glue("source").state.external_signals == {}  # type: ignore[union-attr]


def test_a_repeated_signal_is_delivered_once() -> None:
    c = Cluster()
    _source_and_target(c)
    c.complete("source", signal_external("target"))
    record = c.inflight[0]
    c.deliver()
    again = c.redeliver(record)
    assert again.events == []  # deduplicated by the request id
    assert types(c.deliver())[0] == "EXTERNAL_WORKFLOW_EXECUTION_SIGNALED"
    assert c.deliver().events == []  # the second answer finds nothing pending


def test_signal_to_a_missing_workflow_fails() -> None:
    c = Cluster()
    c.glue("source").start("ExternalSignaler")
    c.complete("source", signal_external("nobody"))
    refused = c.deliver()
    assert refused.events == [] and c.glue("nobody").state is None
    failed = c.deliver(inbox.SIGNAL_EXTERNAL_WORKFLOW_RESULT)
    assert types(failed) == ["SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED", "WORKFLOW_TASK_SCHEDULED"]
    attrs = failed.events[0].signal_external_workflow_execution_failed_event_attributes
    assert attrs.cause == _SIGNAL_NOT_FOUND and attrs.initiated_event_id == 5
    assert attrs.workflow_execution.workflow_id == "nobody"


def test_signal_to_a_closed_or_other_run_fails() -> None:
    c = Cluster()
    c.glue("target").start("ChildWaiter")
    c.complete("target", complete_workflow())
    c.glue("source").start("ExternalSignaler")
    c.complete("source", signal_external("target"))
    c.deliver()
    failed = c.deliver(inbox.SIGNAL_EXTERNAL_WORKFLOW_RESULT)
    assert types(failed)[0] == "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED"

    c.glue("other").start("ExternalSignaler")
    c.glue("live").start("ChildWaiter")
    c.complete("other", signal_external("live", run_id="6d1f3a52-7a5e-4a44-9a43-1b9c3b3d2a10"))
    assert c.deliver().events == []
    assert types(c.deliver())[0] == "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED"


def test_signal_to_itself_fails() -> None:
    c = Cluster()
    c.glue("source").start("ExternalSignaler")
    c.complete("source", signal_external("source"))
    assert c.deliver().events == []  # the source's own shard refuses it
    attrs = c.deliver().events[0].signal_external_workflow_execution_failed_event_attributes
    assert attrs.cause == _SIGNAL_NOT_FOUND


def test_child_only_signal_needs_the_parent() -> None:
    c = Cluster()
    _source_and_target(c)
    c.complete("source", signal_external("target", child_workflow_only=True))
    assert c.deliver().events == []
    assert types(c.deliver())[0] == "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED"

    c.glue("parent").start("SignalingParent")
    c.complete("parent", start_child("kid", "ChildWaiter"))
    c.deliver(inbox.START_CHILD_WORKFLOW)
    c.deliver(inbox.CHILD_WORKFLOW_STARTED)
    c.complete("parent", signal_external("kid", child_workflow_only=True))
    assert types(c.deliver(inbox.SIGNAL_EXTERNAL_WORKFLOW))[0] == "WORKFLOW_EXECUTION_SIGNALED"
    assert types(c.deliver())[0] == "EXTERNAL_WORKFLOW_EXECUTION_SIGNALED"


def test_bad_signal_command_fails_the_workflow_task() -> None:
    c = Cluster()
    c.glue("source").start("ExternalSignaler")
    decision = c.complete("source", signal_external(""))
    attrs = decision.events[0].workflow_task_failed_event_attributes
    assert attrs.cause == (
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES
    )
    assert c.inflight == []


def test_cancel_reaches_the_target_and_the_result_the_source() -> None:
    c = Cluster()
    _source_and_target(c)
    sent = c.complete("source", cancel_external("target", reason="enough"))
    assert types(sent) == [
        "WORKFLOW_TASK_COMPLETED",
        "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
    ]
    requested = c.deliver()
    assert types(requested) == ["WORKFLOW_EXECUTION_CANCEL_REQUESTED", "WORKFLOW_TASK_SCHEDULED"]
    attrs = requested.events[0].workflow_execution_cancel_requested_event_attributes
    assert (attrs.cause, attrs.external_initiated_event_id) == ("enough", 5)
    assert attrs.external_workflow_execution.workflow_id == "source"
    assert attrs.identity == "history-service"
    assert c.glue("target").state.cancel_requested  # type: ignore[union-attr]

    result = c.deliver(inbox.CANCEL_EXTERNAL_WORKFLOW_RESULT)
    assert types(result) == [
        "EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    done = result.events[0].external_workflow_execution_cancel_requested_event_attributes
    assert done.initiated_event_id == 5 and done.workflow_execution.workflow_id == "target"
    assert c.glue("source").state.external_cancels == {}  # type: ignore[union-attr]


def test_a_second_cancel_request_succeeds_without_an_event() -> None:
    c = Cluster()
    _source_and_target(c)
    c.complete("source", cancel_external("target"), cancel_external("target"))
    assert types(c.deliver()) == ["WORKFLOW_EXECUTION_CANCEL_REQUESTED", "WORKFLOW_TASK_SCHEDULED"]
    assert c.deliver(inbox.CANCEL_EXTERNAL_WORKFLOW).events == []
    results = [c.deliver(), c.deliver()]
    assert [types(r)[0] for r in results] == ["EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED"] * 2


def test_cancel_of_a_missing_workflow_fails() -> None:
    c = Cluster()
    c.glue("source").start("ExternalCanceler")
    c.complete("source", cancel_external("nobody"))
    assert c.deliver().events == []
    failed = c.deliver(inbox.CANCEL_EXTERNAL_WORKFLOW_RESULT)
    assert types(failed) == [
        "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    attrs = failed.events[0].request_cancel_external_workflow_execution_failed_event_attributes
    assert attrs.cause == _CANCEL_NOT_FOUND and attrs.initiated_event_id == 5


def test_cancel_of_a_closed_workflow_succeeds() -> None:
    c = Cluster()
    c.glue("target").start("ChildWaiter")
    c.complete("target", complete_workflow())
    c.glue("source").start("ExternalCanceler")
    c.complete("source", cancel_external("target"))
    assert c.deliver().events == []
    assert types(c.deliver())[0] == "EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED"


def test_cancel_of_itself_fails() -> None:
    c = Cluster()
    c.glue("source").start("ExternalCanceler")
    c.complete("source", cancel_external("source"))
    assert c.deliver().events == []
    assert types(c.deliver())[0] == "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED"


def test_results_while_the_source_task_runs_are_buffered() -> None:
    c = Cluster()
    _source_and_target(c)
    c.complete("source", signal_external("target"))
    c.deliver()
    wake = SignalWorkflowExecutionRequest(namespace=NAMESPACE, signal_name="s", request_id="r")
    wake.workflow_execution.workflow_id = "source"
    c.glue("source").submit("SignalWorkflowExecution", wake)
    running = c.task("source")
    result = c.inflight[0]
    assert c.deliver().events == []
    assert c.redeliver(result).events == []  # a duplicate of a buffered result
    done = c.glue("source").complete_workflow_task(running)
    assert types(done) == [
        "WORKFLOW_TASK_COMPLETED",
        "EXTERNAL_WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
