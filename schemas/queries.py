"""The query path's contract: what frontend, history and matching tell each other about a query.

A query is never written to Kafka's tasks topic and writes no event (Temporal's rule: it goes
to a worker only by sync match). The frontend asks history where it goes (inbox kind
``QueryWorkflow``, reply `QueryDispatch`), then hands it to the matching process of that
queue over matching's internal gRPC service (`QueryTaskRequest`); a poller gets it as a
legacy query task, the worker answers with RespondQueryTaskCompleted (`QueryTaskCompleted`,
routed by the query task token, ``schemas.tokens.QueryTaskToken``). Every answer travels as a
`schemas.reply.Reply` built by `answer_reply`, so history (answers from a workflow task's
``query_results``) and matching (answers from RespondQueryTaskCompleted) turn a worker's
answer into the same QueryWorkflow response or QueryFailed error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import QueryResultType
from temporalio.api.errordetails.v1 import QueryFailedFailure
from temporalio.api.failure.v1 import Failure
from temporalio.api.workflowservice.v1 import QueryWorkflowResponse

from schemas import jsoncodec
from schemas.reply import Code, Reply

_T = TypeVar("_T")

STICKY_WORKER_UNAVAILABLE = "sticky worker unavailable, please use original task queue."
"""Matching's answer when the sticky queue had no poller lately (Temporal's
StickyWorkerUnavailable); the frontend then falls back to the normal queue."""
NO_RECENT_POLLER = "no poller seen for task queue recently, worker may be down"
"""FAILED_PRECONDITION of a normal-queue query nobody polled for (Temporal's matcher)."""
QUERY_TIMED_OUT = "query timed out before a worker could process it"
"""DEADLINE_EXCEEDED the frontend answers when the caller's deadline passed."""
QUERY_TASK_NOT_FOUND = "query task not found, or already expired"
"""NOT_FOUND of RespondQueryTaskCompleted for a query nobody waits for any more."""

STICKY_POLLER_WINDOW_MS = 10_000
"""A sticky queue polled within this window counts as having a worker (Temporal's
stickyPollerUnavailableWindow)."""
QUERY_POLLER_WINDOW_MS = 20_000
"""A normal queue unpolled this long fails a query early (queryPollerUnavailableWindow)."""
NO_POLLER_BUDGET_MS = 1_000
"""How long before the deadline the no-poller check runs (Temporal's returnEmptyTaskTimeBudget)."""


class _Json:
    """JSON encoding through `schemas.jsoncodec`: unknown keys ignored, new fields optional."""

    def to_bytes(self) -> bytes:
        """The message as compact UTF-8 JSON, bytes fields base64."""
        return jsoncodec.dumps(self)

    @classmethod
    def from_bytes(cls: type[_T], data: bytes) -> _T:
        """Parses `to_bytes` output.

        Raises:
            PayloadDecodeError: not such a message.
        """
        return jsoncodec.loads(cls, data)


@dataclass(frozen=True)
class QueryDispatch(_Json):
    """History's OK answer to a QueryWorkflow command: the final response, or where to go.

    Attributes:
        response: A serialized ``QueryWorkflowResponse`` when history answers itself (the
            query was rejected, or a workflow task answered it); empty otherwise.
        run_id: The run the query is for (the request may have named none).
        task_queue: The run's normal task queue.
        sticky_queue: The run's sticky queue, tried first; empty when the run has none.
        sticky_timeout_ms: How long the sticky attempt may take (the run's sticky
            schedule-to-start timeout, which Temporal uses for it).
    """

    response: bytes = b""
    run_id: str = ""
    task_queue: str = ""
    sticky_queue: str = ""
    sticky_timeout_ms: int = 0

    @classmethod
    def answered(cls, response: QueryWorkflowResponse) -> QueryDispatch:
        """A dispatch that is already the final answer."""
        return cls(response=response.SerializeToString())


@dataclass(frozen=True)
class QueryTaskRequest(_Json):
    """Frontend -> matching: hand this query to a poller of one queue and await the answer.

    Attributes:
        namespace: Namespace name.
        namespace_id: Namespace id (goes into the query task token).
        workflow_id: Workflow id.
        run_id: Run id.
        task_queue: The queue's name (a sticky queue's name for the sticky attempt).
        sticky: Whether `task_queue` is a sticky queue.
        tq_partition: Partition of a normal queue the query is offered on (0 for sticky).
        query: Serialized ``WorkflowQuery``.
    """

    namespace: str
    namespace_id: str
    workflow_id: str
    run_id: str
    task_queue: str
    sticky: bool
    tq_partition: int
    query: bytes


@dataclass(frozen=True)
class QueryTaskCompleted(_Json):
    """Frontend -> matching: the worker's answer to one query task.

    Attributes:
        task_id: The query task's id (from its token).
        request: Serialized ``RespondQueryTaskCompletedRequest``.
    """

    task_id: str
    request: bytes


def encode_reply(reply: Reply) -> bytes:
    """A `Reply` as bytes, for matching's internal gRPC answers."""
    return jsoncodec.dumps(reply)


def decode_reply(data: bytes) -> Reply:
    """Parses `encode_reply` output.

    Raises:
        PayloadDecodeError: not a reply.
    """
    return jsoncodec.loads(Reply, data)


def answer_reply(
    result_type: int, answer: Payloads | None, error_message: str, failure: Failure | None
) -> Reply:
    """The reply a worker's answer stands for (Temporal's matching and history do the same).

    Answered: OK with a ``QueryWorkflowResponse`` (wrapped in a `QueryDispatch`, as every OK
    reply of the query path). Failed: INVALID_ARGUMENT with the worker's message and a
    ``QueryFailedFailure`` carrying its failure (the SDKs raise their query-failed error).
    Anything else is Temporal's INTERNAL "unknown query completed type".
    """
    if result_type == QueryResultType.QUERY_RESULT_TYPE_ANSWERED:
        response = QueryWorkflowResponse()
        if answer is not None:
            response.query_result.CopyFrom(answer)
        return Reply(payload=QueryDispatch.answered(response).to_bytes())
    if result_type == QueryResultType.QUERY_RESULT_TYPE_FAILED:
        details = QueryFailedFailure()
        if failure is not None:
            details.failure.CopyFrom(failure)
        return Reply.error(Code.INVALID_ARGUMENT, error_message, details)
    return Reply.error(Code.INTERNAL, "unknown query completed type")


def is_sticky_miss(reply: Reply) -> bool:
    """Whether a sticky attempt's reply means: try the normal queue (Temporal's test after
    the sticky call: deadline exceeded, cancelled, or sticky worker unavailable)."""
    if reply.status_code in (Code.DEADLINE_EXCEEDED, Code.CANCELLED):
        return True
    return reply.status_code == Code.UNAVAILABLE and reply.message == STICKY_WORKER_UNAVAILABLE
