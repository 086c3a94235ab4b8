"""The history shard processor: inbox commands -> decide -> events, outbox and reply, exactly once.

Runs on `streams.StreamApp`: the inbox is the input, the events topic is the changelog whose
fold is the shard's RocksDB state (`store` describes the keys). Pure decisions come from
`decide`; this module only moves bytes between Kafka, the state and the decider.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Message
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryResponse

import schemas
from history_processor import deletion, failover, queries, runs, standby, store
from history_processor.changelog import event_batch
from history_processor.deadlines import Deadline, deadlines
from history_processor.decide import decide
from history_processor.decision_inputs import TimerInput, event_reader, new_id, older_runs
from history_processor.fold import apply_batch
from history_processor.handlers import TIMER_FIRED
from history_processor.model import Command, Decision
from history_processor.pending_limits import PendingLimits
from history_processor.reads import long_poll_timeout_reply
from history_processor.state import ExecutionState
from history_processor.timer_floor import TimerFloor
from history_processor.timer_wakeup import TimerWakeup
from history_processor.wf_updates import waiting as update_waiting
from history_processor.wf_updates.registry import UpdateRegistry
from schemas import deadletter, inbox
from schemas.exceptions import PayloadDecodeError
from schemas.inbox import QUERY_WORKFLOW, REPLICATE_EVENTS
from schemas.outbox import Destination, OutboxRecord, route
from schemas.reply import Code, Reply
from schemas.topics import Topology
from schemas.visibility.attributes import ValueType
from streams import Context, StateTransaction

log = logging.getLogger(__name__)

#: A parked long-poll read is answered empty after this long; the frontend then asks again.
PARK_TIMEOUT_MS = 5_000
_TIMERS_PER_ROUND = 500
_ALL = 2**63  # a "now" past every deadline: expire() then returns everything waiting


@dataclass
class _Parked:
    """A read (GetWorkflowExecutionHistory with wait_new_event) waiting for new events."""

    command: Command
    reply_to: dict[str, Any] | None
    expires_at_ms: int


class HistoryProcessor:
    """The streams `Processor` of history shards."""

    def __init__(
        self,
        topology: Topology,
        namespace_id: Callable[[str], str],
        clock: Callable[[], float] = time.time,
        search_attributes: Callable[[str], Mapping[str, ValueType]] | None = None,
        pending_limits: PendingLimits | None = None,
        active_elsewhere: standby.ActiveElsewhere = standby.never,
        failover_version: Callable[[str], int] = lambda namespace: 0,
    ) -> None:
        self._topology = topology
        # Multi-cluster: where a global namespace is active if not here (standby mode), and
        # the failover version stamped on the events of one active here (0: a local one).
        self._active_elsewhere = active_elsewhere
        self._failover_version = failover_version
        # Standby namespaces this processor served, by partition: one that becomes active
        # here is taken over (`_take_over`) at the partition's next punctuation.
        self._standby_seen: dict[int, set[str]] = {}
        self._pending_limits = pending_limits or PendingLimits()
        self._namespace_id = namespace_id
        self._clock = clock
        # Custom search attributes by namespace name; none known without a registry.
        self._search_attributes = search_attributes or (lambda namespace: {})
        self._parked: dict[int, dict[str, _Parked]] = {}
        self._folded: tuple[bytes, ExecutionState, list[HistoryEvent]] | None = None
        self._timer_floor = TimerFloor()
        self._queries = queries.QueryBuffer()
        self._wakeup = TimerWakeup()
        self._updates = UpdateRegistry()

    def forget_partitions(self, owned: set[int]) -> None:
        """Drops parked reads and buffered queries (their callers will retry) and timer floors
        of partitions no longer owned."""
        for partition in list(self._parked):
            if partition not in owned:
                del self._parked[partition]
        self._queries.forget(owned)
        self._updates.forget(owned)
        self._timer_floor.forget(owned)
        self._wakeup.forget(owned)

    def hand_over(self, ctx: Context) -> None:
        """Answers every caller still waiting on `ctx.partition`, which this process gives up.

        Parked reads, buffered queries and update waiters live only here; dropped, their
        callers would wait for their own timeouts. `Reply.shard_moved` makes the history
        client send each command again, to the shard's next owner, so callers see nothing.
        """
        waiting = [
            (p.command.command_id, p.reply_to) for p in self._parked.pop(ctx.partition, {}).values()
        ]
        waiting += [(q.query_id, q.reply_to) for q in self._queries.expire(ctx.partition, _ALL)]
        waiting += [
            (w.command.command_id, w.reply_to) for w in self._updates.expire(ctx.partition, _ALL)
        ]
        for command_id, reply_to in waiting:
            self._reply(ctx, command_id, reply_to, Reply.shard_moved())
        if waiting:
            log.info(
                "partition %d handed over: %d waiting callers sent on", ctx.partition, len(waiting)
            )

    # -- input -------------------------------------------------------------------------------

    def process(self, ctx: Context, record: Message) -> None:
        """Decides one inbox command and commits its outcome within the open transaction."""
        value = record.value()
        if value is None:
            return
        try:
            raw = schemas.decode(value, schemas.INBOX_COMMAND)
        except schemas.SchemaError as exc:
            # Perhaps written by a newer Strom: kept for a replay once this one is upgraded.
            self._dead_letter(ctx, record, f"undecodable inbox record: {exc}")
            return
        reply_to = raw["reply_to"]
        try:
            payload = inbox.parse_payload(raw["kind"], raw["payload"])
        except KeyError:
            message = f"Strom's history does not handle {raw['kind']!r}"
            self._dead_letter(ctx, record, message)
            self._reply(ctx, raw["command_id"], reply_to, Reply.error(Code.UNIMPLEMENTED, message))
            return
        except PayloadDecodeError as exc:
            reply = Reply.error(Code.INVALID_ARGUMENT, f"malformed request: {exc}")
            self._reply(ctx, raw["command_id"], reply_to, reply)
            return
        command = Command(
            kind=raw["kind"],
            command_id=raw["command_id"],
            namespace=raw["namespace"],
            namespace_id=self._namespace_id(raw["namespace"]),
            workflow_id=raw["workflow_id"],
            payload=payload,
        )
        self._handle(ctx, command, reply_to)

    def reject(self, ctx: Context, record: Message, error: Exception) -> None:
        """A command whose fold or encoding failed: dead-lettered, its caller gets INTERNAL.

        (The decider itself already turns a failing handler into an INTERNAL reply.)
        """
        self._dead_letter(ctx, record, f"history failed on this command: {error!r}")
        try:
            raw = schemas.decode(record.value() or b"", schemas.INBOX_COMMAND)
        except schemas.SchemaError:
            return
        reply = Reply.error(Code.INTERNAL, f"history failed on this command: {error!r}")
        self._reply(ctx, raw["command_id"], raw["reply_to"], reply)

    def _dead_letter(self, ctx: Context, record: Message, error: str) -> None:
        log.error(
            "dead-lettering %s[%s]@%s: %s",
            record.topic(),
            record.partition(),
            record.offset(),
            error,
        )
        now_ms = int(self._clock() * 1000)
        key, value = deadletter.encode(deadletter.record_for("history", record, error, now_ms))
        ctx.send(self._topology.deadletter, value, key=key, partition=0)

    def _handle(self, ctx: Context, command: Command, reply_to: dict[str, Any] | None) -> None:
        now_ms = int(self._clock() * 1000)
        active = self._active_elsewhere(command.namespace)
        if active:
            self._standby_seen.setdefault(ctx.partition, set()).add(command.namespace)
        refused = standby.refusal(command.kind, command.namespace, active, self._topology.prefix)
        if refused is not None:
            self._reply(ctx, command.command_id, reply_to, refused)
            return
        state = store.load_state(ctx.state, command.namespace, command.workflow_id)
        older = self._older_run(ctx, command, state)
        if older is not None:
            self._decide_on_older_run(ctx, command, older, reply_to, now_ms)
            return
        run_id = state.run_id if state is not None else ""
        waiting = self._queries.inputs(
            ctx.partition, command.namespace, command.workflow_id, run_id, now_ms
        )
        admitted = self._updates.inputs(
            ctx.partition, (command.namespace, command.workflow_id), run_id
        )
        stale = self._updates.stale_template(
            ctx.partition, (command.namespace, command.workflow_id)
        )
        refused = update_waiting.stale_completion(command, stale)
        if refused is not None:
            self._reply(ctx, command.command_id, reply_to, refused)
            return
        # decide turns a failing handler into an INTERNAL reply: one poison command cannot
        # wedge the shard.
        decision = decide(
            state,
            command,
            now_ms,
            new_id,
            event_reader(ctx.state, state),
            queries=waiting,
            search_attributes=self._search_attributes(command.namespace),
            older_runs=older_runs(ctx.state, command),
            updates=admitted,
            pending_limits=self._pending_limits,
        )
        template = update_waiting.refused_template(command, admitted)
        if template is not None:
            self._updates.mark_stale(
                ctx.partition, (command.namespace, command.workflow_id), template
            )
        if decision.reply is None and command.kind in update_waiting.KINDS:
            # The caller waits for its update; a new update is admitted (and may have
            # scheduled a speculative workflow task, which is committed now).
            self._commit(ctx, command, state, decision)
            started = update_waiting.started_run(state, decision)
            if started:
                # Update-with-start made a new run: what waited on the old one hears first,
                # then the update is admitted to the new run before any other command.
                self._settle_queries(ctx, command, decision)
                self._settle_updates(ctx, command, decision)
                self._wake_parked(ctx, command.namespace, command.workflow_id)
                admitted = {}
            run = decision.state or state
            update_waiting.wait(
                self._updates, ctx.partition, command, reply_to, run, admitted, started
            )
            return
        if decision.reply is None:
            if command.kind == QUERY_WORKFLOW and state is not None:
                self._queries.add(ctx.partition, queries.buffered(command, reply_to, state.run_id))
            else:
                self._park(ctx.partition, command, reply_to, now_ms)
            return
        if command.kind == QUERY_WORKFLOW:
            self._queries.remove(ctx.partition, command.command_id)
        changed = self._commit(ctx, command, state, decision)
        self._reply(ctx, command.command_id, reply_to, decision.reply)
        if changed:
            # A query's own commit (a sticky reset) changes nothing a buffered query waits on.
            if command.kind != QUERY_WORKFLOW:
                self._settle_queries(ctx, command, decision)
            self._settle_updates(ctx, command, decision)
            self._wake_parked(ctx, command.namespace, command.workflow_id)

    @staticmethod
    def _older_run(
        ctx: Context, command: Command, current: ExecutionState | None
    ) -> ExecutionState | None:
        """The state of an older run a request addresses by run id, if it is kept."""
        run_id = runs.addressed_run_id(command)
        if not run_id or current is None or current.run_id == run_id:
            return None
        return store.load_run(ctx.state, command.namespace, command.workflow_id, run_id)

    def _decide_on_older_run(
        self,
        ctx: Context,
        command: Command,
        older: ExecutionState,
        reply_to: dict[str, Any] | None,
        now_ms: int,
    ) -> None:
        """Answers a request for a run that is no longer current (`runs.addressed_run_id`).

        Such a run is closed and never changes: whatever the decision would write is dropped
        (none of these handlers writes to a closed run) and a long poll has nothing to wait for.
        """
        decision = decide(
            older,
            command,
            now_ms,
            new_id,
            event_reader(ctx.state, older),
            search_attributes=self._search_attributes(command.namespace),
        )
        # A closed run's long poll never waits; None only for a read of a run still running.
        reply = decision.reply or Reply.of(GetWorkflowExecutionHistoryResponse())
        self._reply(ctx, command.command_id, reply_to, reply)

    def _commit(
        self,
        ctx: Context,
        command: Command,
        state: ExecutionState | None,
        decision: Decision,
    ) -> bool:
        """Emits the decision's event batches and outbox records; True if history changed.

        The batches of runs the decision closed go first, then the batch of the run it
        leaves current (a new run after continue-as-new, a retry or a cron run).
        """
        base = state
        for closed in decision.closed_runs:
            self._emit_batch(ctx, command, base, closed.events, closed.updates, closed.state)
            base = None
        if decision.events or decision.updates:
            self._emit_batch(ctx, command, base, decision.events, decision.updates, decision.state)
        if decision.deleted_run is not None:
            self._delete_run(ctx, command, decision.deleted_run)
        for out in decision.outbox:
            routed = route(self._topology, out)
            ctx.send(routed.topic, routed.value, key=routed.key, partition=routed.partition)
        return bool(decision.events or decision.updates or decision.closed_runs)

    def _delete_run(self, ctx: Context, command: Command, deleted: ExecutionState) -> None:
        """Emits the run's delete marker and a tombstone per batch (`deletion` explains)."""
        # The stored run, not the decision's: only the fold of whole batches counts them.
        run = store.load_run(ctx.state, deleted.namespace, deleted.workflow_id, deleted.run_id)
        if run is None:
            return
        key, value = deletion.marker(command.command_id, run)
        self._folded = None
        ctx.emit(key, value)
        for batch_key in deletion.batch_keys(run):
            ctx.emit(batch_key, None)

    def _emit_batch(
        self,
        ctx: Context,
        command: Command,
        state: ExecutionState | None,
        events: list[HistoryEvent],
        updates: list[tuple[str, bytes]],
        folded: ExecutionState | None = None,
    ) -> None:
        """Emits one run's EventBatch (the changelog record) and folds it.

        `folded` is the decider's fold of the batch (`Decision.state`), taken as is: folding
        a copy of `state` again would only repeat the decider's work.
        """
        version = self._failover_version(command.namespace)
        if version and command.kind != REPLICATE_EVENTS:
            for event in events:  # Temporal's event version: the cluster that wrote it
                event.version = version
        run = folded or apply_batch(state.copy() if state else None, events, updates)
        assert run is not None
        key, value = event_batch(
            command.namespace, command.workflow_id, command.command_id, run, events, updates
        )
        # The fold of this batch is `run` already; `apply` takes it instead of folding the
        # record again (a restore folds the record itself).
        self._folded = (key, run, events)
        ctx.emit(key, value)

    def _reply(
        self, ctx: Context, command_id: str, reply_to: dict[str, Any] | None, reply: Reply
    ) -> None:
        if reply_to is None:
            return
        ctx.send_after_commit(
            reply_to["topic"],
            schemas.encode(schemas.REPLY, reply.to_record(command_id)),
            key=command_id.encode(),
            partition=reply_to["partition"],
        )

    # -- long-poll reads ---------------------------------------------------------------------

    def _park(
        self, partition: int, command: Command, reply_to: dict[str, Any] | None, now_ms: int
    ) -> None:
        self._parked.setdefault(partition, {})[command.command_id] = _Parked(
            command, reply_to, now_ms + PARK_TIMEOUT_MS
        )

    def _wake_parked(self, ctx: Context, namespace: str, workflow_id: str) -> None:
        parked = self._parked.get(ctx.partition, {})
        waiting = [
            p
            for p in parked.values()
            if p.command.namespace == namespace and p.command.workflow_id == workflow_id
        ]
        for entry in waiting:
            del parked[entry.command.command_id]
            self._handle(ctx, entry.command, entry.reply_to)

    def _expire_parked(self, ctx: Context, now_ms: int) -> None:
        parked = self._parked.get(ctx.partition, {})
        for entry in [p for p in parked.values() if p.expires_at_ms <= now_ms]:
            del parked[entry.command.command_id]
            state = store.load_state(ctx.state, entry.command.namespace, entry.command.workflow_id)
            reply = (
                long_poll_timeout_reply(state, entry.command.payload)
                if state is not None
                else Reply.of(GetWorkflowExecutionHistoryResponse())
            )
            self._reply(ctx, entry.command.command_id, entry.reply_to, reply)

    # -- buffered queries (history_processor/queries.py) ---------------------------------------

    def _settle_queries(self, ctx: Context, command: Command, decision: Decision) -> None:
        """Answers, clears or decides again the workflow's buffered queries after a commit."""
        answered = queries.answers(command, decision)
        run = decision.state
        now_ms = int(self._clock() * 1000)
        waiting = self._queries.of_workflow(ctx.partition, command.namespace, command.workflow_id)
        for query in waiting:
            reply = answered.get(query.query_id)
            if reply is None and query.deadline_ms <= now_ms:
                reply = queries.timed_out()
            elif reply is None and run is not None and run.run_id != query.run_id:
                reply = queries.cleared()
            if reply is not None:
                self._queries.remove(ctx.partition, query.query_id)
                self._reply(ctx, query.query_id, query.reply_to, reply)
            else:
                self._handle(ctx, query.command, query.reply_to)

    def _expire_queries(self, ctx: Context, now_ms: int) -> None:
        for query in self._queries.expire(ctx.partition, now_ms):
            self._reply(ctx, query.query_id, query.reply_to, queries.timed_out())

    # -- workflow updates (history_processor/wf_updates) ---------------------------------------

    def _settle_updates(self, ctx: Context, command: Command, decision: Decision) -> None:
        """Answers or decides again the callers waiting on the workflow's updates after a
        commit, then forgets the admitted updates that history or a rejection settled."""
        workflow = (command.namespace, command.workflow_id)
        if not self._updates.holds(ctx.partition, workflow):
            return  # the common case: no update of this workflow in flight
        state = store.load_state(ctx.state, command.namespace, command.workflow_id)
        rejected = update_waiting.rejections(command, decision)
        for waiter in self._updates.take_waiters(ctx.partition, workflow):
            reply = update_waiting.rejection_reply(waiter, state, rejected)
            if reply is not None:
                self._reply(ctx, waiter.command.command_id, waiter.reply_to, reply)
            else:
                self._handle(ctx, waiter.command, waiter.reply_to)
        update_waiting.prune(self._updates, ctx.partition, workflow, state, rejected)
        stale = self._updates.stale_template(ctx.partition, workflow)
        task = state.workflow_task if state is not None else None
        if stale is not None and (
            task is None or task.scheduled_event_id != stale.scheduled_event_id
        ):
            self._updates.clear_stale(ctx.partition, workflow)

    def _expire_updates(self, ctx: Context, now_ms: int) -> None:
        for waiter in self._updates.expire(ctx.partition, now_ms):
            command = waiter.command
            state = store.load_state(ctx.state, command.namespace, command.workflow_id)
            reply = update_waiting.expired_reply(waiter, state, event_reader(ctx.state, state))
            self._reply(ctx, command.command_id, waiter.reply_to, reply)

    # -- changelog fold ----------------------------------------------------------------------

    def apply(self, state: StateTransaction, key: bytes | None, value: bytes | None) -> None:
        """Folds one EventBatch into the shard state, the stored events and the timer index."""
        if value is None:
            return
        folded, self._folded = self._folded, None
        if folded is not None and folded[0] == key:
            _, run, events = folded
            namespace, workflow_id = run.namespace, run.workflow_id
            before = store.load_state(state, namespace, workflow_id)
        else:
            batch = schemas.decode(value, schemas.EVENT_BATCH)
            namespace, workflow_id = batch["namespace"], batch["workflow_id"]
            if deletion.is_marker(batch["updates"]):
                store.delete_run(state, namespace, workflow_id, batch["run_id"])
                return
            before = store.load_state(state, namespace, workflow_id)
            events = list(History.FromString(batch["events"]).events)
            updates = [(u["kind"], u["payload"]) for u in batch["updates"]]
            current = before.copy() if before else None
            if current is not None and current.run_id != batch["run_id"]:
                current = None  # the batch starts a new run of this workflow id
            if current is None and not _starts_run(events):
                # Compaction removed the first batches of a deleted run, not yet these: the
                # run's marker or tombstones follow, so there is nothing to rebuild.
                return
            folded_run = apply_batch(current, events, updates)
            if folded_run is None:
                return
            run = folded_run
        if before is not None and before.run_id != run.run_id:
            store.save_replaced(state, before)  # still readable by its run id
        for event in events:
            store.put_event(state, run, event)
        old, new = set(deadlines(before)), set(deadlines(run))
        for deadline in old - new:
            state.delete(store.timer_key(namespace, workflow_id, deadline))
        for deadline in new - old:
            state.put(store.timer_key(namespace, workflow_id, deadline), deadline.to_bytes())
            self._timer_floor.lower(state.partition, deadline.fire_at_ms)
            self._wakeup.lower(state.partition, deadline.fire_at_ms)
        store.save_state(state, run)

    # -- timers ------------------------------------------------------------------------------

    def next_punctuate_ms(self, owned: set[int]) -> int | None:
        """When a timer of `owned` partitions may be due next (epoch ms; the loop wakes then)."""
        return self._wakeup.next_ms(owned)

    def punctuate(self, ctx: Context, now_ms: int) -> None:
        """Fires due durable timers and answers expired long-polls."""
        for namespace in list(self._standby_seen.get(ctx.partition, ())):
            if not self._active_elsewhere(namespace):
                self._take_over(ctx, namespace)
        if self._wakeup.needs_look(ctx.partition, now_ms):  # else no timer can be due yet
            self._fire_due_timers(ctx, now_ms)
        self._expire_parked(ctx, now_ms)
        self._expire_queries(ctx, now_ms)
        self._expire_updates(ctx, now_ms)

    def _fire_due_timers(self, ctx: Context, now_ms: int) -> None:
        """One round over the partition's timer index: fires the due timers (a bounded batch)."""
        start = self._timer_floor.start(ctx.state)
        due = list(store.due_timers(ctx.state, start, now_ms, _TIMERS_PER_ROUND))
        full = len(due) == _TIMERS_PER_ROUND  # more may be due: next round starts at the last
        floor = store.timer_fire_ms(due[-1][0]) if full else now_ms + 1
        self._timer_floor.advance(ctx.state, floor, fired=bool(due))
        for key, value in due:
            if self._active_elsewhere(store.parse_timer_key(key)[0]):
                continue  # a standby namespace's timer: kept for the cluster taking over
            # Deleted here and re-derived by the fold: a stale timer refires only after a
            # restore, and the TimerFired handler ignores deadlines the state no longer has.
            ctx.state.delete(key)
            namespace, workflow_id = store.parse_timer_key(key)
            deadline = Deadline.from_bytes(value)
            command = Command(
                kind=TIMER_FIRED,
                command_id=uuid.uuid4().hex,
                namespace=namespace,
                namespace_id=self._namespace_id(namespace),
                workflow_id=workflow_id,
                payload=deadline,
            )
            savepoint = ctx.savepoint()
            try:
                self._handle(ctx, command, None)
            except Exception as exc:  # one poison timer must not stop the shard
                log.exception("timer %r of %s failed; dead-lettering it", deadline, workflow_id)
                ctx.rollback_to(savepoint)
                letter = deadletter.record_for("history", TimerInput(key, value), repr(exc), now_ms)
                letter_key, letter_value = deadletter.encode(letter)
                ctx.send(self._topology.deadletter, letter_value, key=letter_key, partition=0)
        if full:  # more are due: the next round at once
            self._wakeup.scanned(ctx.partition, now_ms, ctx.state)
        else:
            next_ms = store.next_timer_ms(ctx.state, now_ms + 1)
            self._wakeup.scanned(ctx.partition, next_ms, ctx.state)

    def _take_over(self, ctx: Context, namespace: str) -> None:
        """A namespace this partition served as standby is active here now (a failover):
        dispatch its runs' pending tasks and scan the timers it kept from the start."""
        self._standby_seen[ctx.partition].discard(namespace)
        log.info("partition %d takes over namespace %s", ctx.partition, namespace)
        for run in store.current_runs(ctx.state, namespace):
            for task in failover.pending_tasks(run):
                routed = route(self._topology, OutboxRecord(Destination.TASKS, task))
                ctx.send(routed.topic, routed.value, key=routed.key, partition=routed.partition)
        self._timer_floor.lower(ctx.partition, 0)
        self._wakeup.lower(ctx.partition, 0)


def _starts_run(events: list[HistoryEvent]) -> bool:
    return bool(events) and events[0].event_id == 1
