"""Query tasks in a matching process: sync match to a poller, never persisted, worker-answered.

Temporal's matching QueryWorkflow and RespondQueryTaskCompleted (service/matching/
matching_engine.go), on the loop that owns the ``TaskQueues``:

- `QueryTasks.dispatch` makes an in-memory query task on one queue partition and offers it to a
  waiting poller, or lets it wait for the next one (``TaskQueues.offer_query``). It is never
  written to Kafka: when its caller gives up, it is gone. The answer comes back through
  `complete` (RespondQueryTaskCompleted) and is returned as a `Reply`.
- A sticky queue nobody polled in the last ten seconds fails at once with Temporal's
  StickyWorkerUnavailable, so the frontend falls back to the normal queue without waiting.
- On a normal queue, one second before the deadline a still unmatched query fails with
  FAILED_PRECONDITION "no poller seen for task queue recently" if nobody polled the queue for
  twenty seconds; otherwise it waits until its deadline (DEADLINE_EXCEEDED).
- `start` turns a query task a poller took into its poll response: history builds the body
  (``GetQueryTask``: the full history for a normal-queue poller, none for the sticky one),
  matching adds the query and the query task token, which names this process so that
  RespondQueryTaskCompleted finds the waiting query. A history error fails the query with
  that error, as Temporal's deliverQueryResult(internalError) does.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

from temporalio.api.errordetails.v1 import NotFoundFailure
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    RespondQueryTaskCompletedRequest,
)

from matching_processor.queues import Poller, QueryTask, QueueKey, TaskQueues
from schemas import tokens
from schemas.clients.history import HistoryCaller
from schemas.inbox import GET_QUERY_TASK, GetQueryTask
from schemas.placement import WORKFLOW
from schemas.queries import (
    NO_POLLER_BUDGET_MS,
    NO_RECENT_POLLER,
    QUERY_POLLER_WINDOW_MS,
    QUERY_TASK_NOT_FOUND,
    QUERY_TIMED_OUT,
    STICKY_POLLER_WINDOW_MS,
    STICKY_WORKER_UNAVAILABLE,
    QueryTaskRequest,
    answer_reply,
)
from schemas.reply import Code, Reply

log = logging.getLogger(__name__)

DEFAULT_QUERY_SECONDS = 30.0
"""How long a query without a deadline may wait (Temporal's default call timeout)."""
MSG_SHUTTING_DOWN = "matching is shutting down"


class QueryTasks:
    """The query tasks of one matching process.

    Args:
        queues: The queue state, shared with the dispatcher (loop-only).
        history: Client for GetQueryTask.
        clock: Epoch milliseconds.
        resolve: Wakes a poller a query task was handed to (the dispatcher's).
        history_timeout: Upper bound, seconds, of one GetQueryTask call.
    """

    def __init__(
        self,
        queues: TaskQueues,
        history: HistoryCaller,
        clock: Callable[[], int],
        resolve: Callable[[Poller | None], None],
        history_timeout: float = 10.0,
    ) -> None:
        self._queues = queues
        self._history = history
        self._clock = clock
        self._resolve = resolve
        self._history_timeout = history_timeout
        self._results: dict[str, asyncio.Future[Reply]] = {}
        self._closed = False
        self.address = ""
        """This process's gRPC address; goes into query task tokens."""

    @property
    def waiting(self) -> int:
        """Query tasks whose callers still wait for an answer."""
        return len(self._results)

    async def dispatch(self, request: QueryTaskRequest, time_remaining: float | None) -> Reply:
        """Hands a query to a poller of the request's queue and awaits the worker's answer.

        Args:
            request: The query and where it goes.
            time_remaining: Seconds until the caller's deadline, or None.

        Returns:
            OK with the answer, QueryFailed, or the sticky-unavailable, no-poller and
            deadline errors described in the module docstring.
        """
        if self._closed:
            return Reply.error(Code.UNAVAILABLE, MSG_SHUTTING_DOWN)
        now_ms = self._clock()
        partition = 0 if request.sticky else request.tq_partition
        key = QueueKey(request.namespace, request.task_queue, WORKFLOW, partition)
        if request.sticky and not self._queues.poller_seen_since(
            (key,), now_ms - STICKY_POLLER_WINDOW_MS
        ):
            return Reply.error(Code.UNAVAILABLE, STICKY_WORKER_UNAVAILABLE)
        loop = asyncio.get_running_loop()
        wait = DEFAULT_QUERY_SECONDS if time_remaining is None else max(0.0, time_remaining)
        deadline = loop.time() + wait
        query = QueryTask(uuid.uuid4().hex, key, request)
        result: asyncio.Future[Reply] = loop.create_future()
        self._results[query.task_id] = result
        try:
            self._resolve(self._queues.offer_query(query))
            budget = NO_POLLER_BUDGET_MS / 1000
            if not request.sticky and wait > budget:
                await asyncio.wait({result}, timeout=wait - budget)
                if (
                    not result.done()
                    and query.waiting
                    and not self._queues.poller_seen_since(
                        (key,), self._clock() - QUERY_POLLER_WINDOW_MS
                    )
                ):
                    return Reply.error(Code.FAILED_PRECONDITION, NO_RECENT_POLLER)
            await asyncio.wait({result}, timeout=max(0.0, deadline - loop.time()))
            if result.done():
                return result.result()
            return Reply.error(Code.DEADLINE_EXCEEDED, QUERY_TIMED_OUT)
        finally:
            self._queues.withdraw_query(query)
            self._results.pop(query.task_id, None)

    async def start(
        self, query: QueryTask, poll: PollWorkflowTaskQueueRequest
    ) -> PollWorkflowTaskQueueResponse | None:
        """The poll response of a query task a poller took; None if nobody waits for it any
        more or history failed it (the poll then keeps waiting)."""
        result = self._results.get(query.task_id)
        if result is None or result.done():
            return None
        request: QueryTaskRequest = query.request
        message = GetQueryTask(
            namespace=request.namespace,
            workflow_id=request.workflow_id,
            run_id=request.run_id,
            task_queue=poll.task_queue.name,
        )
        try:
            reply = await self._history.call(
                request.namespace,
                request.workflow_id,
                GET_QUERY_TASK,
                message,
                self._history_timeout,
            )
        except asyncio.CancelledError:
            self.requeue(query)  # the poller went away: the next one takes it
            raise
        except Exception as exc:
            log.warning("GetQueryTask for %s failed: %r", request.workflow_id, exc)
            self._deliver(query.task_id, Reply.error(Code.UNAVAILABLE, f"history: {exc!r}"))
            return None
        if not reply.ok:
            self._deliver(query.task_id, reply)
            return None
        response = PollWorkflowTaskQueueResponse.FromString(reply.payload)
        response.task_token = tokens.encode_query_token(
            tokens.QueryTaskToken(
                request.namespace_id, request.task_queue, query.task_id, self.address
            )
        )
        response.query.CopyFrom(WorkflowQuery.FromString(request.query))
        return response

    def requeue(self, query: QueryTask) -> None:
        """Offers a query task again, first in line, whose poller went away before using it."""
        result = self._results.get(query.task_id)
        if result is not None and not result.done() and not query.waiting:
            self._resolve(self._queues.offer_query(query, first=True))

    def complete(self, task_id: str, request: RespondQueryTaskCompletedRequest) -> Reply:
        """Delivers a worker's answer (RespondQueryTaskCompleted) to the waiting query.

        Returns:
            OK, or Temporal's NOT_FOUND when no query of that id waits any more.
        """
        answer = answer_reply(
            request.completed_type,
            request.query_result if request.HasField("query_result") else None,
            request.error_message,
            request.failure if request.HasField("failure") else None,
        )
        if not self._deliver(task_id, answer):
            return Reply.error(Code.NOT_FOUND, QUERY_TASK_NOT_FOUND, NotFoundFailure())
        return Reply()

    def close(self) -> None:
        """Fails every waiting query and refuses new ones."""
        self._closed = True
        for task_id in list(self._results):
            self._deliver(task_id, Reply.error(Code.UNAVAILABLE, MSG_SHUTTING_DOWN))

    def _deliver(self, task_id: str, reply: Reply) -> bool:
        result = self._results.pop(task_id, None)
        if result is None or result.done():
            return False
        result.set_result(reply)
        return True
