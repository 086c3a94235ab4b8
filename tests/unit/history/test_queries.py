"""QueryWorkflow and GetQueryTask decisions, and the buffered-query bookkeeping (no Kafka)."""

from __future__ import annotations

from typing import Any

from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import Payload, Payloads, WorkflowExecution
from temporalio.api.enums.v1 import (
    QueryRejectCondition,
    QueryResultType,
    ResourceExhaustedCause,
    WorkflowExecutionStatus,
)
from temporalio.api.errordetails.v1 import (
    NotFoundFailure,
    QueryFailedFailure,
    ResourceExhaustedFailure,
    WorkflowNotReadyFailure,
)
from temporalio.api.failure.v1 import Failure
from temporalio.api.query.v1 import WorkflowQuery, WorkflowQueryResult
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueResponse,
    QueryWorkflowRequest,
    QueryWorkflowResponse,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskFailedRequest,
    TerminateWorkflowExecutionRequest,
)

from history_processor import queries
from history_processor.handlers import query_workflow
from history_processor.handlers.get_query_task import query_task_response
from history_processor.handling import Env
from history_processor.model import Command, Decision
from history_processor.updates import UpdateKind
from schemas.inbox import GetQueryTask, QueryWorkflow
from schemas.queries import QueryDispatch
from schemas.reply import Code, Reply
from tests.unit.history.harness import (
    NAMESPACE,
    NAMESPACE_ID,
    START_MS,
    Glue,
    complete_workflow,
    fail_workflow,
    first_task,
    ok_payload,
    schedule_activity,
    sticky,
)

FAR_MS = START_MS + 3_600_000


def query(
    glue: Glue,
    condition: int = QueryRejectCondition.QUERY_REJECT_CONDITION_NONE,
    query_id: str | None = None,
    sticky_failed: bool = False,
    deadline_ms: int = FAR_MS,
    run_id: str = "",
) -> Decision:
    """Submits a QueryWorkflow; a `query_id` among `glue.queries` is a buffered one decided
    again (the processor passes it with the same command id)."""
    request = QueryWorkflowRequest(
        namespace=NAMESPACE,
        execution=WorkflowExecution(workflow_id=glue.workflow_id, run_id=run_id),
        query=WorkflowQuery(query_type="status"),
        query_reject_condition=condition,  # type: ignore[arg-type]
    )
    message = QueryWorkflow(request.SerializeToString(), deadline_ms, sticky_failed)
    if query_id is None:
        return glue.submit("QueryWorkflow", message)
    glue.now_ms += 5
    command = Command("QueryWorkflow", query_id, NAMESPACE, NAMESPACE_ID, glue.workflow_id, message)
    return query_workflow.handle(glue.state, command, _env(glue))


def _env(glue: Glue) -> Env:
    return Env(glue.now_ms, glue.new_id, glue.read_events, glue.queries)


def dispatch_of(decision: Decision) -> QueryDispatch:
    assert decision.reply is not None and decision.reply.ok, decision.reply
    return QueryDispatch.from_bytes(decision.reply.payload)


def rejected_status(decision: Decision) -> int:
    response = QueryWorkflowResponse.FromString(dispatch_of(decision).response)
    assert response.HasField("query_rejected")
    return response.query_rejected.status


def detail(reply: Reply | None, tp: type[Any]) -> Any:
    assert reply is not None and reply.details_type == tp.DESCRIPTOR.full_name, reply
    return tp.FromString(reply.details)


def idle_with_sticky(glue: Glue) -> None:
    """First task completed with an activity pending: no workflow task, a sticky queue."""
    glue.start()
    glue.complete_workflow_task(
        first_task(glue), schedule_activity("a"), sticky_attributes=sticky(timeout_ms=7_000)
    )


def test_a_query_before_the_first_task_completed_waits_and_writes_nothing() -> None:
    glue = Glue()
    glue.start()
    decision = query(glue)
    assert decision.reply is None
    assert (decision.events, decision.updates, decision.outbox) == ([], [], [])


def test_one_query_may_wait_per_run_a_second_is_resource_exhausted() -> None:
    glue = Glue()
    glue.start()
    glue.queries["q-1"] = WorkflowQuery(query_type="status")
    second = query(glue)
    assert second.reply is not None and second.reply.status_code == Code.RESOURCE_EXHAUSTED
    assert second.reply.message.startswith("consistent query buffer is full")
    busy = ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW
    assert detail(second.reply, ResourceExhaustedFailure).cause == busy
    # The waiting query itself, decided again, still waits.
    assert query(glue, query_id="q-1").reply is None


def test_a_waiting_query_is_dispatched_once_the_task_completes_without_a_new_one() -> None:
    glue = Glue()
    glue.start()
    glue.queries["q-1"] = WorkflowQuery(query_type="status")
    poll = ok_payload(glue.poll_workflow_task(), PollWorkflowTaskQueueResponse)
    assert [q.query_type for q in poll.queries.values()] == ["status"]
    assert query(glue, query_id="q-1").reply is None  # the task is started
    glue.complete_workflow_task(poll, schedule_activity("a"), sticky_attributes=sticky())
    dispatch = dispatch_of(query(glue, query_id="q-1"))
    assert dispatch == QueryDispatch(
        run_id=glue.state.run_id if glue.state else "",
        task_queue="golden",
        sticky_queue="worker-1-sticky",
        sticky_timeout_ms=10_000,
    )


def test_an_idle_run_is_queried_directly_on_its_sticky_queue() -> None:
    glue = Glue()
    idle_with_sticky(glue)
    decision = query(glue)
    assert decision.events == [] and decision.updates == []
    dispatch = dispatch_of(decision)
    assert (dispatch.sticky_queue, dispatch.sticky_timeout_ms) == ("worker-1-sticky", 7_000)
    assert dispatch.response == b""


def test_a_sticky_miss_resets_stickiness_without_an_event() -> None:
    glue = Glue()
    idle_with_sticky(glue)
    decision = query(glue, sticky_failed=True)
    assert decision.events == []
    assert [kind for kind, _ in decision.updates] == [UpdateKind.STICKY.value]
    assert dispatch_of(decision).sticky_queue == ""
    assert glue.state is not None and glue.state.sticky_task_queue == ""
    assert glue.restore() == glue.state


def test_a_pending_task_makes_the_query_wait_and_carries_it_without_a_template() -> None:
    glue = Glue()
    idle_with_sticky(glue)
    glue.start_activity(5)
    completed = glue.complete_activity(5)
    # Without waiting queries the new task's record carries a prepared response.
    assert completed.tasks[-1]["payload"]
    assert query(glue).reply is None

    glue2 = Glue()
    idle_with_sticky(glue2)
    glue2.start_activity(5)
    glue2.queries["q-1"] = WorkflowQuery(query_type="status")
    completed = glue2.complete_activity(5)
    # With one, the start goes through history, which adds the query to the response.
    assert completed.tasks[-1]["payload"] == b""
    poll = ok_payload(glue2.poll_workflow_task(), PollWorkflowTaskQueueResponse)
    assert list(poll.queries) == ["q-1"]


def test_reject_conditions_on_a_completed_run() -> None:
    glue = Glue()
    glue.start()
    glue.complete_workflow_task(first_task(glue), complete_workflow())
    not_open = query(glue, QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_OPEN)
    completed = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED
    assert rejected_status(not_open) == completed
    cleanly = query(glue, QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY)
    assert dispatch_of(cleanly).task_queue == "golden"
    assert dispatch_of(query(glue)).response == b""


def test_reject_conditions_on_a_failed_run() -> None:
    glue = Glue()
    glue.start()
    glue.complete_workflow_task(first_task(glue), fail_workflow())
    failed = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED
    for condition in (
        QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_OPEN,
        QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY,
    ):
        assert rejected_status(query(glue, condition)) == failed


def test_a_run_closed_before_any_task_completed_is_not_ready() -> None:
    glue = Glue()
    glue.start()
    glue.submit(
        "TerminateWorkflowExecution",
        TerminateWorkflowExecutionRequest(
            namespace=NAMESPACE, workflow_execution=WorkflowExecution(workflow_id=glue.workflow_id)
        ),
    )
    reply = query(glue).reply
    assert reply is not None and reply.status_code == Code.FAILED_PRECONDITION
    assert reply.message == "Workflow execution closed before WorkflowTaskStarted event"
    detail(reply, WorkflowNotReadyFailure)
    # A rejection condition still answers first, as Temporal checks it first.
    rejected = query(glue, QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_OPEN)
    assert rejected_status(rejected) == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED


def test_a_first_task_delayed_past_the_deadline_is_not_ready() -> None:
    glue = Glue()
    glue.start(workflow_start_delay=Duration(seconds=60))
    soon = query(glue, deadline_ms=glue.now_ms + 10_000).reply
    assert soon is not None and soon.message == "Workflow task is not scheduled yet."
    assert soon.status_code == Code.FAILED_PRECONDITION
    assert query(glue, deadline_ms=glue.now_ms + 120_000).reply is None


def test_a_failing_workflow_task_fails_queries_fast() -> None:
    glue = Glue()
    glue.start()
    for attempt in (1, 2):
        poll = ok_payload(glue.poll_workflow_task(f"p{attempt}"), PollWorkflowTaskQueueResponse)
        glue.submit(
            "RespondWorkflowTaskFailed",
            RespondWorkflowTaskFailedRequest(task_token=poll.task_token, failure=Failure()),
        )
    reply = query(glue).reply
    assert reply is not None and reply.status_code == Code.FAILED_PRECONDITION
    assert reply.message == "Unable to query workflow due to Workflow Task in failed state."


def test_unknown_workflow_other_run_and_garbage() -> None:
    glue = Glue()
    unknown = query(glue).reply
    assert unknown is not None and unknown.status_code == Code.NOT_FOUND
    detail(unknown, NotFoundFailure)
    glue.start()
    other = query(glue, run_id="7d9f2c1e-0000-4000-8000-000000000000").reply
    assert other is not None and other.status_code == Code.NOT_FOUND
    garbage = QueryWorkflow(b"\xff\xff", FAR_MS)
    reply = glue.submit("QueryWorkflow", garbage).reply
    assert reply is not None and reply.status_code == Code.INVALID_ARGUMENT


def test_get_query_task_has_no_history_for_the_sticky_poller_and_all_for_others() -> None:
    glue = Glue()
    idle_with_sticky(glue)
    assert glue.state is not None
    run_id = glue.state.run_id
    sticky_task = glue.submit(
        "GetQueryTask", GetQueryTask(NAMESPACE, glue.workflow_id, run_id, "worker-1-sticky")
    )
    response = ok_payload(sticky_task, PollWorkflowTaskQueueResponse)
    assert list(response.history.events) == []
    assert (response.started_event_id, response.attempt) == (0, 1)
    assert response.previous_started_event_id == 3
    assert response.workflow_execution_task_queue.name == "golden"
    assert response.workflow_type.name == "OneActivityWorkflow"
    normal = glue.submit(
        "GetQueryTask", GetQueryTask(NAMESPACE, glue.workflow_id, run_id, "golden")
    )
    response = ok_payload(normal, PollWorkflowTaskQueueResponse)
    assert [e.event_id for e in response.history.events] == [1, 2, 3, 4, 5]
    assert response.next_page_token == b""
    assert normal.events == [] and normal.updates == []


def test_get_query_task_pages_a_long_history() -> None:
    glue = Glue()
    idle_with_sticky(glue)
    assert glue.state is not None
    response = query_task_response(glue.state, "golden", _env(glue), page_size=3)
    assert [e.event_id for e in response.history.events] == [1, 2, 3]
    assert response.next_page_token
    stale = glue.submit(
        "GetQueryTask", GetQueryTask(NAMESPACE, glue.workflow_id, "other-run", "golden")
    )
    assert stale.reply is not None and stale.reply.status_code == Code.NOT_FOUND


def _completion(results: dict[str, WorkflowQueryResult]) -> Command:
    request = RespondWorkflowTaskCompletedRequest(query_results=results)
    return Command("RespondWorkflowTaskCompleted", "c", NAMESPACE, NAMESPACE_ID, "wf", request)


def test_answers_of_a_successful_completion() -> None:
    answer = Payloads(payloads=[Payload(data=b'"fine"')])
    command = _completion(
        {
            "q-ok": WorkflowQueryResult(
                result_type=QueryResultType.QUERY_RESULT_TYPE_ANSWERED, answer=answer
            ),
            "q-bad": WorkflowQueryResult(
                result_type=QueryResultType.QUERY_RESULT_TYPE_FAILED,
                error_message="nope",
                failure=Failure(message="nope"),
            ),
        }
    )
    replies = queries.answers(command, Decision(reply=Reply()))
    ok = QueryWorkflowResponse.FromString(
        QueryDispatch.from_bytes(replies["q-ok"].payload).response
    )
    assert ok.query_result == answer
    bad = replies["q-bad"]
    assert (bad.status_code, bad.message) == (Code.INVALID_ARGUMENT, "nope")
    assert detail(bad, QueryFailedFailure).failure.message == "nope"
    # A completion that failed answers nothing (the queries keep waiting).
    assert queries.answers(command, Decision(reply=Reply.error(Code.NOT_FOUND, "x"))) == {}
    assert queries.answers(command, Decision(reply=None)) == {}


def _buffered(
    query_id: str, workflow_id: str = "wf", run_id: str = "r1", deadline: int = 100
) -> Any:
    message = QueryWorkflow(
        QueryWorkflowRequest(query=WorkflowQuery(query_type=query_id)).SerializeToString(),
        deadline,
    )
    command = Command("QueryWorkflow", query_id, NAMESPACE, NAMESPACE_ID, workflow_id, message)
    return queries.buffered(command, None, run_id)


def test_query_buffer_by_partition_run_and_deadline() -> None:
    buffer = queries.QueryBuffer()
    buffer.add(0, _buffered("a"))
    buffer.add(0, _buffered("b", run_id="r0"))
    buffer.add(0, _buffered("c", workflow_id="other"))
    buffer.add(1, _buffered("d", deadline=50))
    assert list(buffer.inputs(0, NAMESPACE, "wf", "r1", now_ms=10)) == ["a"]
    assert buffer.inputs(0, NAMESPACE, "wf", "r1", now_ms=100) == {}  # its caller gave up
    assert buffer.inputs(0, NAMESPACE, "wf", "r1", now_ms=10)["a"].query_type == "a"
    assert [q.query_id for q in buffer.of_workflow(0, NAMESPACE, "wf")] == ["a", "b"]
    assert [q.query_id for q in buffer.expire(1, 60)] == ["d"]
    assert buffer.remove(0, "a") is not None and buffer.remove(0, "a") is None
    assert buffer.remove(1, "b") is None  # another shard's query
    assert len(buffer) == 2
    buffer.forget({1})
    assert len(buffer) == 0 and buffer.of_workflow(0, NAMESPACE, "wf") == []
