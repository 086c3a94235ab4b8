"""QueryWorkflow: a query answered by a worker, routed by history and handed out by matching.

Temporal's frontend and history QueryWorkflow, over Strom's processes (the query is never
persisted beyond the inbox command that asks history, and writes no event):

1. Validation in Temporal's order, then ``QueryWorkflow`` to the workflow's history shard,
   which rejects the query, answers it, or says where it goes; it may also hold it until the
   next workflow task answers it (Temporal's consistent query), at most until the deadline.
2. Where it goes: the run's sticky queue first, when it has one, within the run's sticky
   schedule-to-start timeout (Temporal gives the sticky attempt a fresh context of that
   length, so a short client deadline does not cost the workflow its stickiness). Matching
   hands the query to a poller by sync match only. When the sticky worker is unavailable or
   does not answer in time, history is asked again with ``sticky_failed``: it resets the
   run's stickiness (Temporal's ResetStickyTaskQueue) and names the normal queue, or holds
   the query if a workflow task came up meanwhile.
3. On the normal queue a poller gets the query with the full history and replays it.

A deadline that passes anywhere is Temporal's DEADLINE_EXCEEDED "query timed out before a
worker could process it"; a client without a deadline gets Temporal's default of 30 s.
"""

from __future__ import annotations

import dataclasses
import time

import grpc
from temporalio.api.enums.v1 import QueryRejectCondition
from temporalio.api.workflowservice.v1 import QueryWorkflowRequest, QueryWorkflowResponse

from frontend import errors, validation
from frontend.context import Call, Env, require_namespace, take_produce_slot
from frontend.errors import ServiceError, invalid_argument
from schemas import queries
from schemas.exceptions import PayloadDecodeError
from schemas.inbox import QUERY_WORKFLOW, QueryWorkflow
from schemas.queries import QueryDispatch, QueryTaskRequest
from schemas.reply import Code, Reply

DEFAULT_TIMEOUT_S = 30.0
"""The wait of a query whose client set no deadline (Temporal's default call timeout)."""
ANSWER_MARGIN_S = 0.1
"""A query gives up this long before the client's deadline, so that the client still gets
DEADLINE_EXCEEDED with Temporal's message instead of its own timeout."""
MSG_BLOB_TOO_LARGE = "Blob data size exceeds limit."


async def handle(env: Env, request: QueryWorkflowRequest, call: Call) -> QueryWorkflowResponse:
    """The worker's answer, a rejection, or Temporal's error."""
    namespace = require_namespace(env, request.namespace)
    execution = validation.validate_execution(request, "execution")
    if not request.HasField("query"):
        raise invalid_argument("WorkflowQuery is not set on request.")
    if not request.query.query_type:
        raise invalid_argument("QueryType is not set on request.")
    if request.query_reject_condition == QueryRejectCondition.QUERY_REJECT_CONDITION_UNSPECIFIED:
        request.query_reject_condition = QueryRejectCondition.QUERY_REJECT_CONDITION_NONE
    if request.query.query_args.ByteSize() > env.config.blob_size_limit_error:
        raise invalid_argument(MSG_BLOB_TOO_LARGE)
    if call.deadline is None:
        deadline = time.monotonic() + DEFAULT_TIMEOUT_S
    else:
        deadline = call.deadline - ANSWER_MARGIN_S
    sticky_failed = False
    while True:
        dispatch = await _ask_history(env, request, deadline, sticky_failed)
        if dispatch.response:
            return QueryWorkflowResponse.FromString(dispatch.response)
        task = QueryTaskRequest(
            namespace=namespace.name,
            namespace_id=namespace.id,
            workflow_id=execution.workflow_id,
            run_id=dispatch.run_id,
            task_queue=dispatch.task_queue,
            sticky=False,
            tq_partition=0,
            query=request.query.SerializeToString(),
        )
        if dispatch.sticky_queue and not sticky_failed:
            sticky = dataclasses.replace(task, task_queue=dispatch.sticky_queue, sticky=True)
            sticky_deadline = time.monotonic() + dispatch.sticky_timeout_ms / 1000
            reply = await env.matching.query_workflow(sticky, sticky_deadline)
            if not queries.is_sticky_miss(reply):
                return _answer(reply)
            sticky_failed = True
            continue
        if time.monotonic() >= deadline:
            raise _timed_out()
        return _answer(await env.matching.query_workflow(task, deadline))


async def _ask_history(
    env: Env, request: QueryWorkflowRequest, deadline: float, sticky_failed: bool
) -> QueryDispatch:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _timed_out()
    message = QueryWorkflow(
        request=request.SerializeToString(),
        deadline_ms=int(time.time() * 1000 + remaining * 1000),
        sticky_failed=sticky_failed,
    )
    take_produce_slot(env)
    try:
        # A query history holds for a workflow task is answered when the task answers it;
        # history forgets it at the deadline, so the wait here ends there too.
        reply = await env.history.call(
            request.namespace, request.execution.workflow_id, QUERY_WORKFLOW, message, remaining
        )
    except TimeoutError:
        raise _timed_out() from None
    if not reply.ok:
        raise _error(reply)
    return _dispatch(reply)


def _answer(reply: Reply) -> QueryWorkflowResponse:
    if not reply.ok:
        raise _error(reply)
    dispatch = _dispatch(reply)
    return QueryWorkflowResponse.FromString(dispatch.response)


def _dispatch(reply: Reply) -> QueryDispatch:
    try:
        return QueryDispatch.from_bytes(reply.payload)
    except PayloadDecodeError as exc:
        raise errors.internal(f"QueryWorkflow got an unreadable answer: {exc}") from None


def _error(reply: Reply) -> ServiceError:
    if reply.status_code == Code.DEADLINE_EXCEEDED:
        return _timed_out()
    return errors.from_reply(reply.status_code, reply.message, reply.details, reply.details_type)


def _timed_out() -> ServiceError:
    return ServiceError(grpc.StatusCode.DEADLINE_EXCEEDED, queries.QUERY_TIMED_OUT)
