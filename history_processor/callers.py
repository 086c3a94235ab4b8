"""The callers a history processor keeps waiting on a workflow, and what their answers need.

Parked long-poll reads, buffered queries and update waiters live only in memory, beside the
admitted updates and the held speculative decisions they ride on (`wf_updates.held`). After
each commit on a workflow they are answered or decided again (`settle`); their deadlines end
them (`expire`); a partition given up sends them on to its next owner (`hand_over`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryResponse

from history_processor import queries, store
from history_processor.decision_inputs import event_reader
from history_processor.model import Command, Decision
from history_processor.parked import ParkedReads
from history_processor.reads import long_poll_timeout_reply
from history_processor.state import ExecutionState
from history_processor.wf_updates import waiting as update_waiting
from history_processor.wf_updates.held import HeldRuns
from history_processor.wf_updates.registry import UpdateRegistry
from schemas.reply import Reply
from streams import Context

log = logging.getLogger(__name__)

_ALL = 2**63  # a "now" past every deadline: expire() then returns everything waiting


class Handle(Protocol):
    """Decides a command again (the processor's `_handle`)."""

    def __call__(self, ctx: Context, command: Command, reply_to: dict[str, Any] | None) -> None:
        """Decides `command` and commits its outcome."""


class Answer(Protocol):
    """Sends a caller its reply once the open transaction commits (the processor's `_reply`)."""

    def __call__(
        self, ctx: Context, command_id: str, reply_to: dict[str, Any] | None, reply: Reply
    ) -> None:
        """Answers `command_id`."""


class Callers:
    """The waiting callers of every owned partition.

    Args:
        handle: Decides a waiting command again.
        answer: Answers a caller.
        clock: Seconds since the epoch.
    """

    def __init__(self, handle: Handle, answer: Answer, clock: Callable[[], float]) -> None:
        self._handle = handle
        self._answer = answer
        self._clock = clock
        self.parked = ParkedReads()
        self.queries = queries.QueryBuffer()
        self.updates = UpdateRegistry()
        # Speculative-safe decisions kept in memory until the run's next commit
        # (`wf_updates.held`); an aborted transaction drops them (`aborted`).
        self.held = HeldRuns()
        self._abort_seen = False

    def load(self, ctx: Context, namespace: str, workflow_id: str) -> ExecutionState | None:
        """The workflow's current run as decisions see it: stored, overlaid by what is held."""
        stored = store.load_state(ctx.state, namespace, workflow_id)
        return self.held.state(ctx.partition, (namespace, workflow_id), stored)

    def forget(self, owned: set[int]) -> None:
        """Drops what waits on partitions no longer owned (their callers will retry)."""
        self.parked.forget(owned)
        self.queries.forget(owned)
        self.updates.forget(owned)
        self.held.forget(owned)

    def hand_over(self, ctx: Context) -> None:
        """Answers every caller still waiting on `ctx.partition`, which this process gives up.

        Dropped, they would wait for their own timeouts. `Reply.shard_moved` makes the history
        client send each command again, to the shard's next owner, so callers see nothing.
        """
        waiting = [(p.command.command_id, p.reply_to) for p in self.parked.pop(ctx.partition)]
        waiting += [(q.query_id, q.reply_to) for q in self.queries.expire(ctx.partition, _ALL)]
        waiting += [
            (w.command.command_id, w.reply_to) for w in self.updates.expire(ctx.partition, _ALL)
        ]
        self.held.drop({ctx.partition})
        for command_id, reply_to in waiting:
            self._answer(ctx, command_id, reply_to, Reply.shard_moved())
        if waiting:
            log.info(
                "partition %d handed over: %d waiting callers sent on", ctx.partition, len(waiting)
            )

    def aborted(self) -> None:
        """A transaction aborted: what is held was decided on state that may be gone, and is
        dropped before the next command (`drop_held_after_abort`)."""
        self._abort_seen = True

    def drop_held_after_abort(self, ctx: Context) -> None:
        """After an abort, forgets every held run with its admitted updates; their callers
        are sent on.

        The inputs of the aborted transaction are processed again (an update among them is
        admitted anew); a caller whose command committed earlier hears `Reply.shard_moved`,
        and the history client sends its update again.
        """
        if not self._abort_seen:
            return
        self._abort_seen = False
        for partition, workflow in self.held.drop():
            self.updates.drop_other_runs(partition, workflow, "")
            self.updates.clear_stale(partition, workflow)
            for waiter in self.updates.take_waiters(partition, workflow):
                self._answer(ctx, waiter.command.command_id, waiter.reply_to, Reply.shard_moved())

    def settle(self, ctx: Context, command: Command, decision: Decision, queries_too: bool) -> None:
        """After a commit on the command's workflow: its buffered queries (unless
        `queries_too` is False), update waiters and parked reads are answered or decided
        again."""
        if queries_too:
            self._settle_queries(ctx, command, decision)
        self._settle_updates(ctx, command, decision)
        namespace, workflow_id = command.namespace, command.workflow_id
        current = partial(self.load, ctx, namespace, workflow_id)
        for entry in self.parked.take(ctx.partition, namespace, workflow_id, current):
            self._handle(ctx, entry.command, entry.reply_to)

    def expire(self, ctx: Context, now_ms: int) -> None:
        """Answers the partition's callers whose deadline passed, as they stand."""
        for entry in self.parked.expired(ctx.partition, now_ms):
            state = self.load(ctx, entry.command.namespace, entry.command.workflow_id)
            reply = (
                long_poll_timeout_reply(state, entry.command.payload)
                if state is not None
                else Reply.of(GetWorkflowExecutionHistoryResponse())
            )
            self._answer(ctx, entry.command.command_id, entry.reply_to, reply)
        for query in self.queries.expire(ctx.partition, now_ms):
            self._answer(ctx, query.query_id, query.reply_to, queries.timed_out())
        for waiter in self.updates.expire(ctx.partition, now_ms):
            command = waiter.command
            state = self.load(ctx, command.namespace, command.workflow_id)
            reply = update_waiting.expired_reply(waiter, state, event_reader(ctx.state, state))
            self._answer(ctx, command.command_id, waiter.reply_to, reply)

    def _settle_queries(self, ctx: Context, command: Command, decision: Decision) -> None:
        """Answers, clears or decides again the workflow's buffered queries."""
        answered = queries.answers(command, decision)
        run = decision.state
        now_ms = int(self._clock() * 1000)
        waiting = self.queries.of_workflow(ctx.partition, command.namespace, command.workflow_id)
        for query in waiting:
            reply = answered.get(query.query_id)
            if reply is None and query.deadline_ms <= now_ms:
                reply = queries.timed_out()
            elif reply is None and run is not None and run.run_id != query.run_id:
                reply = queries.cleared()
            if reply is not None:
                self.queries.remove(ctx.partition, query.query_id)
                self._answer(ctx, query.query_id, query.reply_to, reply)
            else:
                self._handle(ctx, query.command, query.reply_to)

    def _settle_updates(self, ctx: Context, command: Command, decision: Decision) -> None:
        """Answers or decides again the callers waiting on the workflow's updates, then
        forgets the admitted updates that history or a rejection settled."""
        workflow = (command.namespace, command.workflow_id)
        if not self.updates.holds(ctx.partition, workflow):
            return  # the common case: no update of this workflow in flight
        state = self.load(ctx, command.namespace, command.workflow_id)
        rejected = update_waiting.rejections(command, decision)
        for waiter in self.updates.take_waiters(ctx.partition, workflow):
            reply = update_waiting.rejection_reply(waiter, state, rejected)
            if reply is not None:
                self._answer(ctx, waiter.command.command_id, waiter.reply_to, reply)
            else:
                self._handle(ctx, waiter.command, waiter.reply_to)
        update_waiting.prune(self.updates, ctx.partition, workflow, state, rejected)
        stale = self.updates.stale_template(ctx.partition, workflow)
        task = state.workflow_task if state is not None else None
        if stale is not None and (
            task is None or task.scheduled_event_id != stale.scheduled_event_id
        ):
            self.updates.clear_stale(ctx.partition, workflow)
