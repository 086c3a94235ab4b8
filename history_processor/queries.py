"""Buffered consistent queries: QueryWorkflow commands waiting in memory for a workflow task.

Temporal keeps such queries in the query registry of its mutable-state cache
(service/history/workflow/query_registry.go); Strom keeps them in the history processor,
beside its parked long-poll reads. They are never in state and never in Kafka beyond the
inbox command that brought them: a query writes no event, and a restart or a shard hand-over
forgets them (their callers time out, as Temporal's do when a host goes away).

The life of one buffered query (the processor drives it; everything here is pure):

1. ``QueryWorkflow`` is decided with no reply (`handlers.query_workflow`): the query is
   `add`-ed for the run the state shows.
2. Every later decision on that workflow gets the run's buffered queries (`inputs`) in
   ``Env.queries``: a workflow task started then carries them in ``queries``, and no prepared
   (optimistic) response is made while any wait, so the start always goes through history.
3. After each commit on the workflow, the processor `settle`-s them: a successful
   RespondWorkflowTaskCompleted answers those in its ``query_results`` (`answers`); a query of
   a run that is no longer the current one is cleared (Temporal's ErrBufferedQueryCleared);
   each other one is decided again, which answers it once the worker may take it directly
   (the completion scheduled no new task) or leaves it waiting.
4. At its deadline a query still waiting is answered DEADLINE_EXCEEDED and forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.workflowservice.v1 import RespondWorkflowTaskCompletedRequest

from history_processor.model import Command, Decision
from schemas.inbox import QueryWorkflow
from schemas.queries import QUERY_TIMED_OUT, answer_reply
from schemas.reply import Code, Reply

MSG_BUFFERED_QUERY_CLEARED = "buffered query cleared, please retry"


@dataclass(frozen=True)
class BufferedQuery:
    """A QueryWorkflow command waiting for a workflow task of one run.

    Attributes:
        command: The command (its id is the query id the worker sees).
        reply_to: Where its reply goes.
        run_id: The run it waits on.
        deadline_ms: When its caller gives up.
        query: The query, as a workflow task carries it.
    """

    command: Command
    reply_to: dict[str, Any] | None
    run_id: str
    deadline_ms: int
    query: WorkflowQuery

    @property
    def query_id(self) -> str:
        """The id the query has in a workflow task's ``queries`` and ``query_results``."""
        return self.command.command_id


def buffered(command: Command, reply_to: dict[str, Any] | None, run_id: str) -> BufferedQuery:
    """The buffered form of a QueryWorkflow command decided with no reply."""
    msg: QueryWorkflow = command.payload
    return BufferedQuery(command, reply_to, run_id, msg.deadline_ms, msg.query_request().query)


class QueryBuffer:
    """The buffered queries of one processor, by inbox partition (shard), workflow and id."""

    def __init__(self) -> None:
        self._by_partition: dict[int, dict[tuple[str, str], dict[str, BufferedQuery]]] = {}
        self._workflow_of: dict[str, tuple[int, tuple[str, str]]] = {}

    def add(self, partition: int, query: BufferedQuery) -> None:
        """Buffers a query (again: a query decided anew keeps its place)."""
        workflow = (query.command.namespace, query.command.workflow_id)
        self._by_partition.setdefault(partition, {}).setdefault(workflow, {})[query.query_id] = (
            query
        )
        self._workflow_of[query.query_id] = (partition, workflow)

    def remove(self, partition: int, query_id: str) -> BufferedQuery | None:
        """Forgets a query; returns it, or None if it was not buffered."""
        where = self._workflow_of.get(query_id)
        if where is None or where[0] != partition:
            return None
        del self._workflow_of[query_id]
        workflows = self._by_partition[partition]
        queries = workflows[where[1]]
        query = queries.pop(query_id)
        if not queries:
            del workflows[where[1]]
        return query

    def of_workflow(self, partition: int, namespace: str, workflow_id: str) -> list[BufferedQuery]:
        """The buffered queries of a workflow id (any run), oldest first."""
        return list(
            self._by_partition.get(partition, {}).get((namespace, workflow_id), {}).values()
        )

    def inputs(
        self, partition: int, namespace: str, workflow_id: str, run_id: str, now_ms: int
    ) -> dict[str, WorkflowQuery]:
        """What a decision on the run gets in ``Env.queries``: query id -> query, for the
        queries whose caller still waits (an expired one only awaits its timeout reply)."""
        return {
            q.query_id: q.query
            for q in self.of_workflow(partition, namespace, workflow_id)
            if q.run_id == run_id and q.deadline_ms > now_ms
        }

    def expire(self, partition: int, now_ms: int) -> list[BufferedQuery]:
        """Removes and returns the queries of a partition whose deadline has passed."""
        expired = [
            q
            for queries in self._by_partition.get(partition, {}).values()
            for q in queries.values()
            if q.deadline_ms <= now_ms
        ]
        for query in expired:
            self.remove(partition, query.query_id)
        return expired

    def forget(self, owned: set[int]) -> None:
        """Drops the queries of partitions no longer owned (their callers time out)."""
        for partition in [p for p in self._by_partition if p not in owned]:
            for queries in self._by_partition.pop(partition).values():
                for query_id in queries:
                    self._workflow_of.pop(query_id, None)

    def __len__(self) -> int:
        return len(self._workflow_of)


def answers(command: Command, decision: Decision) -> dict[str, Reply]:
    """The replies a successful RespondWorkflowTaskCompleted gives its queries, by query id.

    Temporal's handleBufferedQueries: each entry of ``query_results`` completes the buffered
    query of that id; results for ids nobody waits for are ignored by the caller.
    """
    if command.kind != "RespondWorkflowTaskCompleted" or decision.reply is None:
        return {}
    if not decision.reply.ok:
        return {}
    request: RespondWorkflowTaskCompletedRequest = command.payload
    replies = {}
    for query_id, result in request.query_results.items():
        replies[query_id] = answer_reply(
            result.result_type,
            result.answer if result.HasField("answer") else None,
            result.error_message,
            result.failure if result.HasField("failure") else None,
        )
    return replies


def cleared() -> Reply:
    """The reply of a query whose run ended its turn as the current run while it waited."""
    return Reply.error(Code.UNAVAILABLE, MSG_BUFFERED_QUERY_CLEARED)


def timed_out() -> Reply:
    """The reply of a query still waiting at its deadline."""
    return Reply.error(Code.DEADLINE_EXCEEDED, QUERY_TIMED_OUT)
