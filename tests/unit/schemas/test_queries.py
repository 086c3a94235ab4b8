"""The query path's contract: query task tokens, inbox messages, answers as replies."""

from __future__ import annotations

import pytest
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import QueryResultType
from temporalio.api.errordetails.v1 import QueryFailedFailure
from temporalio.api.failure.v1 import Failure
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.workflowservice.v1 import QueryWorkflowRequest, QueryWorkflowResponse

from schemas import inbox, queries, tokens
from schemas.exceptions import PayloadDecodeError, TaskTokenError
from schemas.reply import Code, Reply

TOKEN = tokens.QueryTaskToken("ns-id", "orders", "task-1", "10.0.0.7:7235")


def test_query_task_token_round_trip_and_garbage() -> None:
    data = tokens.encode_query_token(TOKEN)
    assert tokens.decode_query_token(data) == TOKEN
    for bad in (b"", b"garbage", data[:-1], data + b"x"):
        with pytest.raises(TaskTokenError):
            tokens.decode_query_token(bad)


def test_query_and_task_tokens_are_never_mistaken_for_each_other() -> None:
    workflow = tokens.encode(
        tokens.TaskToken(tokens.TaskKind.WORKFLOW, "ns-id", "wf", "run", 2, 1, 3)
    )
    with pytest.raises(TaskTokenError):
        tokens.decode_query_token(workflow)
    with pytest.raises(TaskTokenError):
        tokens.decode(tokens.encode_query_token(TOKEN))


def test_query_inbox_messages_parse() -> None:
    request = QueryWorkflowRequest(namespace="default", query=WorkflowQuery(query_type="q"))
    message = inbox.QueryWorkflow(request.SerializeToString(), 123, sticky_failed=True)
    parsed = inbox.parse_payload(inbox.QUERY_WORKFLOW, message.to_bytes())
    assert parsed == message and parsed.query_request() == request
    get = inbox.GetQueryTask("default", "wf", "run", "orders")
    assert inbox.parse_payload(inbox.GET_QUERY_TASK, get.to_bytes()) == get
    with pytest.raises(PayloadDecodeError):
        inbox.parse_payload(inbox.QUERY_WORKFLOW, b"{}")


def test_answers_become_replies() -> None:
    answer = Payloads(payloads=[Payload(data=b"1")])
    ok = queries.answer_reply(QueryResultType.QUERY_RESULT_TYPE_ANSWERED, answer, "", None)
    response = QueryWorkflowResponse.FromString(
        queries.QueryDispatch.from_bytes(ok.payload).response
    )
    assert response.query_result == answer
    failed = queries.answer_reply(
        QueryResultType.QUERY_RESULT_TYPE_FAILED, None, "boom", Failure(message="boom")
    )
    assert (failed.status_code, failed.message) == (Code.INVALID_ARGUMENT, "boom")
    assert QueryFailedFailure.FromString(failed.details).failure.message == "boom"
    unknown = queries.answer_reply(QueryResultType.QUERY_RESULT_TYPE_UNSPECIFIED, None, "", None)
    assert unknown.status_code == Code.INTERNAL


def test_replies_cross_matchings_grpc_unchanged_and_sticky_misses() -> None:
    reply = Reply.error(Code.UNAVAILABLE, queries.STICKY_WORKER_UNAVAILABLE, QueryFailedFailure())
    assert queries.decode_reply(queries.encode_reply(reply)) == reply
    assert queries.is_sticky_miss(reply)
    assert queries.is_sticky_miss(Reply.error(Code.DEADLINE_EXCEEDED, "late"))
    assert not queries.is_sticky_miss(Reply.error(Code.UNAVAILABLE, "history is moving"))
    assert not queries.is_sticky_miss(Reply.error(Code.INVALID_ARGUMENT, "query failed"))
    assert not queries.is_sticky_miss(Reply())
    with pytest.raises(PayloadDecodeError):
        queries.decode_reply(b"not json")
