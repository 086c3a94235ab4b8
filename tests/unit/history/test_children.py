"""Child workflows through the deciders: start, reports to the parent, parent close policies."""

from __future__ import annotations

from google.protobuf.message import Message
from temporalio.api.command.v1 import Command, ContinueAsNewWorkflowExecutionCommandAttributes
from temporalio.api.common.v1 import WorkflowType
from temporalio.api.enums.v1 import (
    CommandType,
    EventType,
    ParentClosePolicy,
    RetryState,
    StartChildWorkflowExecutionFailedCause,
    WorkflowTaskFailedCause,
)
from temporalio.api.history.v1 import (
    WorkflowExecutionContinuedAsNewEventAttributes,
    WorkflowExecutionFailedEventAttributes,
)
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    SignalWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)

from history_processor import events as ev
from history_processor import run_closed
from history_processor.deadlines import DeadlineKind
from history_processor.model import Decision
from history_processor.state import ExecutionState
from schemas import inbox
from tests.unit.history.harness import (
    NAMESPACE,
    NAMESPACE_ID,
    complete_workflow,
    fail_workflow,
    ok_payload,
    payloads,
    types,
)
from tests.unit.history.relatives_harness import Cluster, start_child


def _started_parent(c: Cluster, *children: str, **kw: object) -> None:
    """Starts "parent" and completes its first task with one start per child id."""
    c.glue("parent").start("ParentOfChildren")
    decision = c.complete("parent", *(start_child(child, **kw) for child in children))
    assert types(decision) == ["WORKFLOW_TASK_COMPLETED"] + [
        "START_CHILD_WORKFLOW_EXECUTION_INITIATED"
    ] * len(children)


def _describe(c: Cluster, workflow_id: str) -> DescribeWorkflowExecutionResponse:
    request = DescribeWorkflowExecutionRequest(namespace=NAMESPACE)
    request.execution.workflow_id = workflow_id
    reply = c.glue(workflow_id).submit("DescribeWorkflowExecution", request).reply
    return ok_payload(reply, DescribeWorkflowExecutionResponse)


def _assert_restorable(c: Cluster) -> None:
    for glue in c.glues.values():
        restored = glue.restore()
        assert restored is not None and glue.state is not None
        assert restored.to_bytes() == glue.state.to_bytes()


def test_child_starts_and_its_completion_reaches_the_parent() -> None:
    c = Cluster()
    _started_parent(c, "child")
    initiated = c.glue("parent").events[4].start_child_workflow_execution_initiated_event_attributes
    assert (initiated.namespace, initiated.namespace_id) == (NAMESPACE, NAMESPACE_ID)
    assert initiated.task_queue.name == "golden"  # the parent's queue when the command names none
    assert initiated.parent_close_policy == ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE
    assert initiated.workflow_task_completed_event_id == 4
    assert initiated.workflow_task_timeout.seconds == 10
    assert c.kinds() == [inbox.START_CHILD_WORKFLOW]

    child = c.deliver()
    assert types(child) == ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED"]
    started = child.events[0].workflow_execution_started_event_attributes
    parent_run = c.glue("parent").state.run_id  # type: ignore[union-attr]
    assert started.parent_workflow_execution.workflow_id == "parent"
    assert started.parent_workflow_execution.run_id == parent_run
    assert started.parent_initiated_event_id == 5
    assert started.parent_workflow_namespace == NAMESPACE
    assert started.parent_workflow_namespace_id == NAMESPACE_ID
    assert started.root_workflow_execution.run_id == parent_run
    assert started.HasField("workflow_run_timeout")
    assert c.kinds() == [inbox.CHILD_WORKFLOW_STARTED]

    recorded = c.deliver()
    assert types(recorded) == ["CHILD_WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED"]
    attrs = recorded.events[0].child_workflow_execution_started_event_attributes
    child_run = c.glue("child").state.run_id  # type: ignore[union-attr]
    assert attrs.initiated_event_id == 5 and attrs.workflow_execution.run_id == child_run
    assert attrs.workflow_type.name == "ChildGreeter"
    c.complete("parent")

    c.complete("child", complete_workflow(payloads(b'"Hello"')))
    assert c.kinds() == [inbox.CHILD_WORKFLOW_CLOSED]
    done = c.deliver()
    assert types(done) == ["CHILD_WORKFLOW_EXECUTION_COMPLETED", "WORKFLOW_TASK_SCHEDULED"]
    completed = done.events[0].child_workflow_execution_completed_event_attributes
    assert (completed.initiated_event_id, completed.started_event_id) == (5, 6)
    assert completed.result.payloads[0].data == b'"Hello"'
    assert completed.workflow_execution.run_id == child_run
    assert c.glue("parent").state.children == {}  # type: ignore[union-attr]
    _assert_restorable(c)


def test_child_failure_reaches_the_parent_with_its_failure() -> None:
    c = Cluster()
    _started_parent(c, "child")
    c.deliver()
    c.deliver()
    c.complete("child", fail_workflow("child broke"))
    failed = c.deliver(inbox.CHILD_WORKFLOW_CLOSED)
    assert types(failed)[0] == "CHILD_WORKFLOW_EXECUTION_FAILED"
    attrs = failed.events[0].child_workflow_execution_failed_event_attributes
    assert attrs.failure.message == "child broke"
    assert attrs.retry_state == RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET
    assert attrs.started_event_id == 6


def test_terminated_child_reaches_the_parent() -> None:
    c = Cluster()
    _started_parent(c, "child")
    c.deliver()
    c.deliver()
    request = TerminateWorkflowExecutionRequest(namespace=NAMESPACE, reason="stop")
    request.workflow_execution.workflow_id = "child"
    c.sent(c.glue("child").submit("TerminateWorkflowExecution", request))
    assert types(c.deliver(inbox.CHILD_WORKFLOW_CLOSED))[0] == (
        "CHILD_WORKFLOW_EXECUTION_TERMINATED"
    )


def test_close_during_a_parent_task_is_buffered() -> None:
    c = Cluster()
    _started_parent(c, "child")
    c.deliver()
    c.deliver(inbox.CHILD_WORKFLOW_STARTED)
    running = c.task("parent")
    c.complete("child", complete_workflow())
    assert c.deliver(inbox.CHILD_WORKFLOW_CLOSED).events == []  # waits behind the task
    done = c.sent(c.glue("parent").complete_workflow_task(running))
    assert types(done) == [
        "WORKFLOW_TASK_COMPLETED",
        "CHILD_WORKFLOW_EXECUTION_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert done.events[1].child_workflow_execution_completed_event_attributes.started_event_id == 6
    _assert_restorable(c)


def test_buffered_start_then_close_name_the_flushed_start() -> None:
    c = Cluster()
    _started_parent(c, "child")
    c.deliver()
    # A signal gives the parent a task that is running when the child's reports arrive.
    signal = SignalWorkflowExecutionRequest(namespace=NAMESPACE, signal_name="s", request_id="r")
    signal.workflow_execution.workflow_id = "parent"
    c.glue("parent").submit("SignalWorkflowExecution", signal)
    running = c.task("parent")
    assert c.deliver(inbox.CHILD_WORKFLOW_STARTED).events == []
    c.complete("child", complete_workflow())
    assert c.deliver(inbox.CHILD_WORKFLOW_CLOSED).events == []
    done = c.sent(c.glue("parent").complete_workflow_task(running))
    assert types(done) == [
        "WORKFLOW_TASK_COMPLETED",
        "CHILD_WORKFLOW_EXECUTION_STARTED",
        "CHILD_WORKFLOW_EXECUTION_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    started_id = done.events[1].event_id
    completed = done.events[2].child_workflow_execution_completed_event_attributes
    assert completed.started_event_id == started_id
    _assert_restorable(c)


def test_duplicate_messages_change_nothing() -> None:
    c = Cluster()
    _started_parent(c, "child")
    start = c.inflight[0]
    c.deliver()
    child_run = c.glue("child").state.run_id  # type: ignore[union-attr]
    again = c.redeliver(start)  # the same start: no second run, the start reported again
    assert again.events == [] and c.glue("child").state.run_id == child_run  # type: ignore[union-attr]
    report = c.inflight[0]
    assert types(c.deliver()) == ["CHILD_WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED"]
    assert c.redeliver(report).events == []
    assert c.deliver().events == []  # the second report of the duplicate start
    c.complete("parent")
    c.complete("child", complete_workflow())
    closed = c.inflight[0]
    assert types(c.deliver())[0] == "CHILD_WORKFLOW_EXECUTION_COMPLETED"
    assert c.redeliver(closed).events == []


def test_taken_workflow_id_fails_the_start() -> None:
    c = Cluster()
    c.glue("taken").start("ChildWaiter")
    _started_parent(c, "taken")
    refused = c.deliver()
    assert refused.events == [] and c.kinds() == [inbox.START_CHILD_WORKFLOW_FAILED]
    failed = c.deliver()
    assert types(failed) == ["START_CHILD_WORKFLOW_EXECUTION_FAILED", "WORKFLOW_TASK_SCHEDULED"]
    attrs = failed.events[0].start_child_workflow_execution_failed_event_attributes
    assert attrs.cause == StartChildWorkflowExecutionFailedCause.Value(
        "START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS"
    )
    assert (attrs.initiated_event_id, attrs.workflow_id) == (5, "taken")
    assert attrs.workflow_type.name == "ChildGreeter"
    assert c.glue("parent").state.children == {}  # type: ignore[union-attr]


def test_bad_start_child_command_fails_the_workflow_task() -> None:
    c = Cluster()
    c.glue("parent").start("ParentOfChildren")
    decision = c.complete("parent", start_child(""))
    assert types(decision) == ["WORKFLOW_TASK_FAILED"]  # the retry is a transient task
    attrs = decision.events[0].workflow_task_failed_event_attributes
    assert attrs.cause == (
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES
    )
    assert "Required field WorkflowId is not set" in attrs.failure.message
    assert c.inflight == []


def test_parent_close_policies_reach_the_children() -> None:
    c = Cluster()
    c.glue("parent").start("ParentOfChildren")
    policies = {
        "terminated": ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE,
        "canceled": ParentClosePolicy.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
        "abandoned": ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON,
    }
    c.complete(
        "parent",
        *(start_child(child, parent_close_policy=p) for child, p in policies.items()),
    )
    for _ in policies:
        c.deliver(inbox.START_CHILD_WORKFLOW)
    for _ in policies:
        c.deliver(inbox.CHILD_WORKFLOW_STARTED)
    closing = c.complete("parent", complete_workflow())
    assert types(closing)[-1] == "WORKFLOW_EXECUTION_COMPLETED"
    assert sorted((r["kind"], r["workflow_id"]) for r in c.inflight) == [
        (inbox.CANCEL_EXTERNAL_WORKFLOW, "canceled"),
        ("TerminateWorkflowExecution", "terminated"),
    ]
    terminated = c.deliver("TerminateWorkflowExecution")
    assert types(terminated) == ["WORKFLOW_EXECUTION_TERMINATED"]
    attrs = terminated.events[0].workflow_execution_terminated_event_attributes
    assert (attrs.reason, attrs.identity) == ("by parent close policy", "history-service")
    canceled = c.deliver(inbox.CANCEL_EXTERNAL_WORKFLOW)
    # Its first workflow task is still pending: the request needs no new one.
    assert types(canceled) == ["WORKFLOW_EXECUTION_CANCEL_REQUESTED"]
    requested = canceled.events[0].workflow_execution_cancel_requested_event_attributes
    parent_run = c.glue("parent").state.run_id  # type: ignore[union-attr]
    assert requested.external_workflow_execution.run_id == parent_run
    assert requested.external_initiated_event_id == 0 and requested.cause == ""
    # The terminated child reports its close; the parent is closed and records nothing.
    assert c.kinds() == [inbox.CHILD_WORKFLOW_CLOSED]
    assert c.deliver().events == []
    assert c.glue("abandoned").state.is_running  # type: ignore[union-attr]


def test_describe_names_parent_root_and_pending_children() -> None:
    c = Cluster()
    _started_parent(c, "child")
    c.deliver()
    c.deliver()
    parent = _describe(c, "parent")
    parent_run = c.glue("parent").state.run_id  # type: ignore[union-attr]
    assert parent.workflow_execution_info.root_execution.run_id == parent_run
    assert not parent.workflow_execution_info.HasField("parent_execution")
    (pending,) = parent.pending_children
    assert (pending.workflow_id, pending.initiated_id) == ("child", 5)
    assert pending.run_id == c.glue("child").state.run_id  # type: ignore[union-attr]
    assert pending.workflow_type_name == "ChildGreeter"
    assert pending.parent_close_policy == ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE
    child = _describe(c, "child").workflow_execution_info
    assert child.parent_execution.workflow_id == "parent"
    assert child.parent_execution.run_id == parent_run
    assert child.parent_namespace_id == NAMESPACE_ID
    assert child.root_execution.run_id == parent_run


def test_grandchild_names_the_root() -> None:
    c = Cluster()
    _started_parent(c, "child")
    c.deliver()
    c.complete("child", start_child("grandchild"))
    grandchild = c.deliver(inbox.START_CHILD_WORKFLOW)
    started = grandchild.events[0].workflow_execution_started_event_attributes
    assert started.parent_workflow_execution.workflow_id == "child"
    assert started.root_workflow_execution.workflow_id == "parent"


def _close_decision(state: ExecutionState, event_type: int, attrs: Message) -> Decision:
    event = ev.new_event(event_type, state.start_time_ms + 1000, attrs)  # type: ignore[arg-type]
    event.event_id = state.next_event_id
    return Decision(events=[event])


def test_a_run_continued_by_another_does_not_report_but_applies_policies() -> None:
    # Continue-as-new and retries are written elsewhere; their close events are what counts.
    c = Cluster()
    _started_parent(c, "child")
    c.deliver()
    c.deliver()
    c.complete("child", start_child("grandchild"))
    c.deliver(inbox.START_CHILD_WORKFLOW)
    c.deliver(inbox.CHILD_WORKFLOW_STARTED)
    child = c.glue("child").state
    assert child is not None
    continued = _close_decision(
        child,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
        WorkflowExecutionContinuedAsNewEventAttributes(new_execution_run_id="next"),
    )
    run_closed.notify_relatives(child, continued)
    assert [(r["kind"], r["workflow_id"]) for r in continued.commands] == [
        ("TerminateWorkflowExecution", "grandchild")
    ]
    retried = _close_decision(
        child,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        WorkflowExecutionFailedEventAttributes(new_execution_run_id="next"),
    )
    run_closed.notify_relatives(child, retried)
    assert inbox.CHILD_WORKFLOW_CLOSED not in [r["kind"] for r in retried.commands]
    failed = _close_decision(
        child,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        WorkflowExecutionFailedEventAttributes(),
    )
    run_closed.notify_relatives(child, failed)
    assert inbox.CHILD_WORKFLOW_CLOSED in [r["kind"] for r in failed.commands]


def test_a_child_continued_as_new_stays_the_child_and_its_last_run_reports() -> None:
    c = Cluster()
    _started_parent(c, "child")
    c.deliver(inbox.START_CHILD_WORKFLOW)
    c.deliver(inbox.CHILD_WORKFLOW_STARTED)
    c.complete("parent")
    first_run = c.glue("child").state.run_id  # type: ignore[union-attr]
    can = Command(
        command_type=CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        continue_as_new_workflow_execution_command_attributes=(
            ContinueAsNewWorkflowExecutionCommandAttributes(
                workflow_type=WorkflowType(name="ChildGreeter"),
                task_queue=TaskQueue(name="golden"),
            )
        ),
    )
    c.complete("child", can)
    assert inbox.CHILD_WORKFLOW_CLOSED not in c.kinds()  # the chain goes on
    child = c.glue("child")
    assert child.state is not None and child.state.run_id != first_run
    started = child.events[0].workflow_execution_started_event_attributes
    parent_run = c.glue("parent").state.run_id  # type: ignore[union-attr]
    assert started.parent_workflow_execution.workflow_id == "parent"
    assert started.parent_workflow_execution.run_id == parent_run
    assert started.parent_initiated_event_id == 5
    assert started.root_workflow_execution.run_id == parent_run
    assert child.state.parent is not None
    child.now_ms += 2_000  # past the next run's first-task backoff
    child.fire(DeadlineKind.FIRST_WORKFLOW_TASK_BACKOFF.value)
    c.complete("child", complete_workflow(payloads(b'"last"')))
    done = c.deliver(inbox.CHILD_WORKFLOW_CLOSED)
    assert types(done)[0] == "CHILD_WORKFLOW_EXECUTION_COMPLETED"
    completed = done.events[0].child_workflow_execution_completed_event_attributes
    assert completed.result.payloads[0].data == b'"last"'
    assert c.glue("parent").state.children == {}  # type: ignore[union-attr]
