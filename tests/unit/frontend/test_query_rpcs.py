"""QueryWorkflow and RespondQueryTaskCompleted in the frontend, over the fake backends."""

from __future__ import annotations

import time

import grpc
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, Payloads, WorkflowExecution
from temporalio.api.enums.v1 import QueryRejectCondition, QueryResultType
from temporalio.api.errordetails.v1 import QueryFailedFailure, ResourceExhaustedFailure
from temporalio.api.query.v1 import QueryRejected, WorkflowQuery
from temporalio.api.workflowservice.v1 import (
    QueryWorkflowRequest,
    QueryWorkflowResponse,
    RespondQueryTaskCompletedRequest,
)

from schemas import tokens
from schemas.inbox import QueryWorkflow
from schemas.namespaces import default_namespace
from schemas.queries import STICKY_WORKER_UNAVAILABLE, QueryDispatch, answer_reply
from schemas.reply import Code, Reply
from tests.unit.frontend.conftest import Frontend
from tests.unit.frontend.fakes import encode_token
from tests.unit.frontend.helpers import failure

DEFAULT_ID = default_namespace("strom").id
TIMED_OUT = "query timed out before a worker could process it"


def query(**fields: object) -> QueryWorkflowRequest:
    request = QueryWorkflowRequest(
        namespace="default",
        execution=WorkflowExecution(workflow_id="wf-q"),
        query=WorkflowQuery(query_type="status"),
    )
    for name, value in fields.items():
        if value is None:
            request.ClearField(name)
        elif isinstance(value, Message):
            getattr(request, name).CopyFrom(value)
        else:
            setattr(request, name, value)
    return request


def routed(sticky: str = "") -> Reply:
    dispatch = QueryDispatch(
        run_id="run-1", task_queue="orders", sticky_queue=sticky, sticky_timeout_ms=2_000
    )
    return Reply(payload=dispatch.to_bytes())


def answered(data: bytes) -> Reply:
    return answer_reply(
        QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
        Payloads(payloads=[Payload(data=data)]),
        "",
        None,
    )


def sent_queries(frontend: Frontend) -> list[QueryWorkflow]:
    return [
        QueryWorkflow.from_bytes(c.request.SerializeToString())
        for c in frontend.history.sent
        if c.kind == "QueryWorkflow"
    ]


async def test_bad_requests_never_reach_history(frontend: Frontend) -> None:
    cases = [
        (query(execution=None), "Execution is not set on request."),
        (query(query=None), "WorkflowQuery is not set on request."),
        (query(query=WorkflowQuery()), "QueryType is not set on request."),
        (
            query(
                query=WorkflowQuery(
                    query_type="q",
                    query_args=Payloads(payloads=[Payload(data=b"x" * (2 * 1024 * 1024 + 1))]),
                )
            ),
            "Blob data size exceeds limit.",
        ),
    ]
    for request, message in cases:
        status = await failure(frontend.stub, "QueryWorkflow", request)
        assert (status.code, status.message) == (grpc.StatusCode.INVALID_ARGUMENT, message)
    unknown = await failure(frontend.stub, "QueryWorkflow", query(namespace="nope"))
    assert unknown.code == grpc.StatusCode.NOT_FOUND
    assert frontend.history.sent == []


async def test_history_answer_is_returned_and_reject_condition_defaults_to_none(
    frontend: Frontend,
) -> None:
    rejected = QueryWorkflowResponse(query_rejected=QueryRejected(status=2))
    frontend.history.replies["QueryWorkflow"] = Reply(
        payload=QueryDispatch.answered(rejected).to_bytes()
    )
    before_ms = time.time() * 1000
    response = await frontend.stub.QueryWorkflow(query(), timeout=10)
    after_ms = time.time() * 1000
    assert response == rejected
    (sent,) = sent_queries(frontend)
    request = sent.query_request()
    assert request.query_reject_condition == QueryRejectCondition.QUERY_REJECT_CONDITION_NONE
    # The caller's 10 s deadline, as the server saw it (it began between the two readings).
    assert before_ms + 9_000 < sent.deadline_ms <= after_ms + 10_000
    assert not sent.sticky_failed
    assert frontend.matching.queries == []


async def test_history_errors_pass_through_with_their_details(frontend: Frontend) -> None:
    frontend.history.replies["QueryWorkflow"] = Reply.error(
        Code.RESOURCE_EXHAUSTED, "consistent query buffer is full", ResourceExhaustedFailure()
    )
    status = await failure(frontend.stub, "QueryWorkflow", query())
    assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert status.detail_type == ResourceExhaustedFailure.DESCRIPTOR.full_name


async def test_sticky_answer_is_returned(frontend: Frontend) -> None:
    frontend.history.replies["QueryWorkflow"] = routed(sticky="w1-sticky")
    frontend.matching.query_replies = [answered(b'"from the cache"')]
    started = time.monotonic()
    response = await frontend.stub.QueryWorkflow(query(), timeout=10)
    finished = time.monotonic()
    assert response.query_result.payloads[0].data == b'"from the cache"'
    ((task, deadline),) = frontend.matching.queries
    assert (task.task_queue, task.sticky, task.run_id) == ("w1-sticky", True, "run-1")
    assert (task.namespace_id, task.workflow_id) == (DEFAULT_ID, "wf-q")
    assert WorkflowQuery.FromString(task.query).query_type == "status"
    # The sticky timeout (2 s from when the frontend got the call), not the call's 10 s.
    assert started + 1.5 < deadline < finished + 2.5
    assert len(sent_queries(frontend)) == 1


async def test_sticky_miss_resets_stickiness_then_uses_the_normal_queue(
    frontend: Frontend,
) -> None:
    frontend.history.scripts["QueryWorkflow"] = [routed(sticky="w1-sticky"), routed()]
    frontend.matching.query_replies = [
        Reply.error(Code.UNAVAILABLE, STICKY_WORKER_UNAVAILABLE),
        answered(b"1"),
    ]
    started = time.monotonic()
    response = await frontend.stub.QueryWorkflow(query(), timeout=10)
    finished = time.monotonic()
    assert response.query_result.payloads[0].data == b"1"
    assert [q.sticky_failed for q in sent_queries(frontend)] == [False, True]
    (_, _), (normal, deadline) = frontend.matching.queries
    assert (normal.task_queue, normal.sticky) == ("orders", False)
    # The normal queue gets what is left of the caller's 10 s, not a fresh wait. The client
    # fixes its deadline somewhere between `started` and `finished` (later under load).
    assert started + 9 < deadline <= finished + 10


async def test_sticky_timeout_is_a_miss_but_a_failed_answer_is_not(frontend: Frontend) -> None:
    frontend.history.scripts["QueryWorkflow"] = [routed(sticky="w1-sticky"), routed()]
    frontend.matching.query_replies = [
        Reply.error(Code.DEADLINE_EXCEEDED, TIMED_OUT),
        answered(b"2"),
    ]
    response = await frontend.stub.QueryWorkflow(query(), timeout=10)
    assert response.query_result.payloads[0].data == b"2"

    frontend.history.sent.clear()
    frontend.history.replies["QueryWorkflow"] = routed(sticky="w1-sticky")
    frontend.matching.query_replies = [
        Reply.error(Code.INVALID_ARGUMENT, "handler failed", QueryFailedFailure())
    ]
    status = await failure(frontend.stub, "QueryWorkflow", query())
    assert (status.code, status.message) == (grpc.StatusCode.INVALID_ARGUMENT, "handler failed")
    assert status.detail_type == QueryFailedFailure.DESCRIPTOR.full_name
    assert len(sent_queries(frontend)) == 1


async def test_no_answer_in_time_is_temporals_deadline_exceeded(frontend: Frontend) -> None:
    frontend.history.replies["QueryWorkflow"] = routed()
    status = await failure(frontend.stub, "QueryWorkflow", query())
    assert (status.code, status.message) == (grpc.StatusCode.DEADLINE_EXCEEDED, TIMED_OUT)
    frontend.history.scripts["QueryWorkflow"] = [TimeoutError()]
    status = await failure(frontend.stub, "QueryWorkflow", query())
    assert (status.code, status.message) == (grpc.StatusCode.DEADLINE_EXCEEDED, TIMED_OUT)


def query_token(namespace_id: str = DEFAULT_ID, task_id: str = "t-1") -> bytes:
    return tokens.encode_query_token(
        tokens.QueryTaskToken(namespace_id, "orders", task_id, "10.0.0.7:7235")
    )


def completed(token: bytes, **fields: object) -> RespondQueryTaskCompletedRequest:
    return RespondQueryTaskCompletedRequest(
        namespace="default",
        task_token=token,
        completed_type=QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
        **fields,  # type: ignore[arg-type]
    )


async def test_answer_goes_to_the_matching_process_in_the_token(frontend: Frontend) -> None:
    result = Payloads(payloads=[Payload(data=b"42")])
    await frontend.stub.RespondQueryTaskCompleted(completed(query_token(), query_result=result))
    ((address, message),) = frontend.matching.query_answers
    assert (address, message.task_id) == ("10.0.0.7:7235", "t-1")
    request = RespondQueryTaskCompletedRequest.FromString(message.request)
    assert request.query_result == result


async def test_oversized_answer_becomes_a_failed_one(frontend: Frontend) -> None:
    huge = Payloads(payloads=[Payload(data=b"x" * (2 * 1024 * 1024 + 1))])
    await frontend.stub.RespondQueryTaskCompleted(completed(query_token(), query_result=huge))
    ((_, message),) = frontend.matching.query_answers
    request = RespondQueryTaskCompletedRequest.FromString(message.request)
    assert request.completed_type == QueryResultType.QUERY_RESULT_TYPE_FAILED
    assert request.error_message == "Blob data size exceeds limit."
    assert not request.HasField("query_result")


async def test_bad_query_task_tokens(frontend: Frontend) -> None:
    workflow_token = encode_token(DEFAULT_ID, "wf", "run")
    cases = [
        (b"", grpc.StatusCode.INVALID_ARGUMENT, "Task token not set on request."),
        (b"garbage", grpc.StatusCode.INVALID_ARGUMENT, "Error deserializing task token."),
        (workflow_token, grpc.StatusCode.INVALID_ARGUMENT, "Error deserializing task token."),
        (query_token(task_id=""), grpc.StatusCode.INVALID_ARGUMENT, "Invalid TaskToken."),
        (
            query_token(namespace_id="5e7b3f0e-0000-4000-8000-00000000abcd"),
            grpc.StatusCode.NOT_FOUND,
            "Namespace 5e7b3f0e-0000-4000-8000-00000000abcd is not found.",
        ),
    ]
    for token, code, message in cases:
        status = await failure(frontend.stub, "RespondQueryTaskCompleted", completed(token))
        assert (status.code, status.message) == (code, message)
    assert frontend.matching.query_answers == []


async def test_answer_nobody_waits_for_is_not_found(frontend: Frontend) -> None:
    frontend.matching.answer_reply = Reply.error(
        Code.NOT_FOUND, "query task not found, or already expired"
    )
    status = await failure(frontend.stub, "RespondQueryTaskCompleted", completed(query_token()))
    assert (status.code, status.message) == (
        grpc.StatusCode.NOT_FOUND,
        "query task not found, or already expired",
    )
