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
from typing import Any

from confluent_kafka import Message
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryResponse

import schemas
from history_processor import deletion, failover, queries, runs, standby, store
from history_processor.callers import Callers
from history_processor.changelog import event_batch
from history_processor.deadlines import Deadline, deadlines
from history_processor.decide import decide
from history_processor.decision_inputs import TimerInput, event_reader, new_id, older_runs
from history_processor.fold import apply_batch
from history_processor.handlers import TIMER_FIRED
from history_processor.handling import start_not_seen
from history_processor.model import Command, Decision
from history_processor.parked import HistoryWatch
from history_processor.pending_limits import PendingLimits
from history_processor.restore import fold_record
from history_processor.state import ExecutionState
from history_processor.timer_floor import TimerFloor
from history_processor.timer_wakeup import TimerWakeup
from history_processor.wf_updates import waiting as update_waiting
from schemas import deadletter, inbox
from schemas.exceptions import PayloadDecodeError
from schemas.inbox import QUERY_WORKFLOW, REPLICATE_EVENTS
from schemas.namespaces import LOCAL, Stance
from schemas.outbox import Destination, OutboxRecord, route
from schemas.reply import Code, Reply
from schemas.topics import Topology
from schemas.visibility.attributes import ValueType
from streams import Context, StateTransaction

log = logging.getLogger(__name__)

_TIMERS_PER_ROUND = 500
# Completions of a started workflow task (see `start_not_seen`).
_COMPLETIONS = frozenset({"RespondWorkflowTaskCompleted", "RespondWorkflowTaskFailed"})


class HistoryProcessor:
    """The streams `Processor` of history shards."""

    def __init__(
        self,
        topology: Topology,
        namespace_id: Callable[[str], str],
        clock: Callable[[], float] = time.time,
        search_attributes: Callable[[str], Mapping[str, ValueType]] | None = None,
        pending_limits: PendingLimits | None = None,
        stance: Callable[[str], Stance] = lambda namespace: LOCAL,
    ) -> None:
        self._topology = topology
        # Multi-cluster: where a global namespace is active if not here (standby mode), and
        # the failover version stamped on the events of one active here (0: a local one),
        # both from one read of its record (`Stance`).
        self._stance = stance
        # Standby namespaces this processor served, by partition: one that becomes active
        # here is taken over (`_take_over`) at the partition's next punctuation.
        self._standby = failover.StandbyMarks()
        self._input: Message | None = None  # the inbox record being processed
        self._pending_limits = pending_limits or PendingLimits()
        self._namespace_id = namespace_id
        self._clock = clock
        # Custom search attributes by namespace name; none known without a registry.
        self._search_attributes = search_attributes or (lambda namespace: {})
        self._folded: tuple[bytes, ExecutionState, list[HistoryEvent]] | None = None
        self._timer_floor = TimerFloor()
        self._wakeup = TimerWakeup()
        # Parked reads, buffered queries, update waiters and what updates hold (`callers`).
        self._callers = Callers(self._handle, self._reply, clock)

    def forget_partitions(self, owned: set[int]) -> None:
        """Drops parked reads and buffered queries (their callers will retry) and timer floors
        of partitions no longer owned."""
        self._callers.forget(owned)
        self._timer_floor.forget(owned)
        self._wakeup.forget(owned)
        self._standby.forget(owned)

    def hand_over(self, ctx: Context) -> None:
        """Sends every caller still waiting on `ctx.partition`, which this process gives up,
        on to its next owner (`Callers.hand_over`)."""
        self._callers.hand_over(ctx)

    def aborted(self) -> None:
        """A transaction aborted (streams calls this): what is held is dropped before the
        next command (`Callers.aborted`)."""
        self._callers.aborted()

    # -- input -------------------------------------------------------------------------------

    def process(self, ctx: Context, record: Message) -> None:
        """Decides one inbox command and commits its outcome within the open transaction."""
        self._callers.drop_held_after_abort(ctx)
        value = record.value()
        if value is None:
            return
        try:
            raw = schemas.decode(value, schemas.INBOX_COMMAND)
        except schemas.SchemaError as exc:
            # Perhaps written by a newer Strom: kept for a replay once this one is upgraded.
            self._dead_letter(ctx, record, f"undecodable inbox record: {exc}")
            return
        reply_to = _reply_address(raw)
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
        self._input = record
        if ctx.direct and command.kind in _COMPLETIONS and self._start_not_seen(ctx, command):
            # Its task's start is still on its way through the inbox: the history client
            # sends a moved command again through the inbox, behind that start.
            self._reply(ctx, command.command_id, reply_to, Reply.shard_moved())
            return
        self._handle(ctx, command, reply_to)

    def _start_not_seen(self, ctx: Context, command: Command) -> bool:
        state = self._callers.load(ctx, command.namespace, command.workflow_id)
        return start_not_seen(state, command.payload.task_token)

    def reject(self, ctx: Context, record: Message, error: Exception) -> None:
        """A command whose fold or encoding failed: dead-lettered, its caller gets INTERNAL.

        (The decider itself already turns a failing handler into an INTERNAL reply.) Its
        effects were rolled back, so what it may have held is dropped too (`aborted`).
        """
        self._callers.aborted()
        self._dead_letter(ctx, record, f"history failed on this command: {error!r}")
        try:
            raw = schemas.decode(record.value() or b"", schemas.INBOX_COMMAND)
        except schemas.SchemaError:
            return
        reply = Reply.error(Code.INTERNAL, f"history failed on this command: {error!r}")
        self._reply(ctx, raw["command_id"], _reply_address(raw), reply)

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
        # One stance for the whole command: a failover the registry applies meanwhile cannot
        # make it accepted as active yet stamped with a standby's version.
        active, version = self._stance(command.namespace)
        if active:
            self._standby.note(ctx.state, command.namespace)
        refused = standby.refusal(command.kind, command.namespace, active, self._topology.prefix)
        if refused is not None:
            self._reply(ctx, command.command_id, reply_to, refused)
            return
        state = self._callers.load(ctx, command.namespace, command.workflow_id)
        older = self._older_run(ctx, command, state)
        if older is not None:
            self._decide_on_older_run(ctx, command, older, reply_to, now_ms)
            return
        run_id = state.run_id if state is not None else ""
        waiting = self._callers.queries.inputs(
            ctx.partition, command.namespace, command.workflow_id, run_id, now_ms
        )
        admitted = self._callers.updates.inputs(
            ctx.partition, (command.namespace, command.workflow_id), run_id
        )
        stale = self._callers.updates.stale_template(
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
            self._callers.updates.mark_stale(
                ctx.partition, (command.namespace, command.workflow_id), template
            )
        if decision.reply is None and command.kind in update_waiting.KINDS:
            # The caller waits for its update; a new update is admitted (and may have
            # scheduled a speculative workflow task, which is held, `wf_updates.held`).
            self._commit(ctx, command, state, decision, version)
            started = update_waiting.started_run(state, decision)
            if started:
                # Update-with-start made a new run: what waited on the old one hears first,
                # then the update is admitted to the new run before any other command.
                self._callers.settle(ctx, command, decision, queries_too=True)
                admitted = {}
            run = decision.state or state
            update_waiting.wait(
                self._callers.updates, ctx.partition, command, reply_to, run, admitted, started
            )
            return
        if decision.reply is None:
            if command.kind == QUERY_WORKFLOW and state is not None:
                self._callers.queries.add(
                    ctx.partition, queries.buffered(command, reply_to, state.run_id)
                )
            else:
                watch = HistoryWatch.of(command, state)
                self._callers.parked.park(ctx.partition, command, reply_to, now_ms, watch)
            return
        if command.kind == QUERY_WORKFLOW:
            self._callers.queries.remove(ctx.partition, command.command_id)
        changed = self._commit(ctx, command, state, decision, version)
        if decision.deferrable:
            ctx.defer_commit()
        if command.kind == REPLICATE_EVENTS and not decision.reply.ok and self._input is not None:
            self._dead_letter(ctx, self._input, standby.refused_batch(command, decision.reply))
        self._reply(ctx, command.command_id, reply_to, decision.reply)
        if changed:
            # A query's own commit (a sticky reset) changes nothing a buffered query waits on.
            self._callers.settle(ctx, command, decision, queries_too=command.kind != QUERY_WORKFLOW)

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
        version: int,
    ) -> bool:
        """Emits the decision's event batches and outbox records; True if the run changed.

        A speculative-safe decision is held instead (`wf_updates.held`): its task record
        leaves as an acknowledgement, nothing enters the transaction. Any other decision
        that writes carries what is held for the run first, in its own first batch on that
        run. The batches of runs the decision closed go first, then the batch of the run it
        leaves current (a new run after continue-as-new, a retry or a cron run). Their events
        carry `version`, the failover version the command was accepted under.
        """
        workflow = (command.namespace, command.workflow_id)
        # A standby folds what the active cluster committed, batch by batch: never held.
        holding = command.kind != REPLICATE_EVENTS
        if (
            holding
            and self._callers.held.hold(ctx.partition, workflow, state, decision) is not None
        ):
            for out in decision.outbox:
                routed = route(self._topology, out)
                ctx.send_after_commit(
                    routed.topic, routed.value, key=routed.key, partition=routed.partition
                )
            return bool(decision.updates)
        writes = bool(
            decision.events
            or decision.updates
            or decision.closed_runs
            or decision.outbox
            or decision.deleted_run is not None
        )
        held = self._callers.held.take(ctx.partition, workflow) if writes else None
        if held is not None and held.state is not state:
            # Decided without it (the stored run is another one): nothing of it may be written.
            log.warning("dropping held state of %s: the run changed under it", workflow)
            held = None
        base, carry = state, []
        # The decider's own folds are stored as they are, unless held updates are carried:
        # decided on the held state, they count its transitions too, and the batch written
        # folds the held and the new updates as one (`_emit_batch` folds it again then).
        own = held is None
        if held is not None:
            base, carry = held.stored, held.updates
            first = decision.closed_runs[0].state if decision.closed_runs else decision.state
            if first is not None and first.run_id != base.run_id:
                base, carry = self._emit_batch(ctx, command, version, base, [], carry), []
        for closed in decision.closed_runs:
            self._emit_batch(
                ctx,
                command,
                version,
                base,
                closed.events,
                carry + closed.updates,
                closed.state if own else None,
            )
            base, carry = None, []
        if decision.events or decision.updates or carry:
            self._emit_batch(
                ctx,
                command,
                version,
                base,
                decision.events,
                carry + decision.updates,
                decision.state if own else None,
            )
        if decision.deleted_run is not None:
            self._delete_run(ctx, command, decision.deleted_run)
        for out in decision.outbox:
            routed = route(self._topology, out)
            ctx.send(routed.topic, routed.value, key=routed.key, partition=routed.partition)
        return bool(decision.events or decision.updates or decision.closed_runs or held)

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
        version: int,
        state: ExecutionState | None,
        events: list[HistoryEvent],
        updates: list[tuple[str, bytes]],
        folded: ExecutionState | None = None,
    ) -> ExecutionState:
        """Emits one run's EventBatch (the changelog record) and folds it; returns the run.

        `folded` is the decider's fold of the batch (`Decision.state`), taken as is: folding
        a copy of `state` again would only repeat the decider's work.
        """
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
        return run

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
            datagram=reply_to.get("datagram"),
        )

    # -- changelog fold ----------------------------------------------------------------------

    def apply(self, state: StateTransaction, key: bytes | None, value: bytes | None) -> None:
        """Folds one EventBatch into the shard state, the stored events and the timer index."""
        if value is None:
            return
        folded, self._folded = self._folded, None
        if folded is not None and folded[0] == key:
            _, run, events = folded
            before = store.load_state(state, run.namespace, run.workflow_id)
        else:
            restored = fold_record(state, value)
            if restored is None:
                return
            before, run, events = restored.before, restored.run, restored.events
            if failover.written_elsewhere(events, self._stance(run.namespace).version):
                failover.mark(state, run.namespace)  # a rebuilt store: see `_take_over`
        namespace, workflow_id = run.namespace, run.workflow_id
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
        nexts = [
            self._wakeup.next_ms(owned),
            *(self._callers.held.next_deadline_ms(p) for p in owned),
        ]
        known = [n for n in nexts if n is not None]
        return min(known) if known else None

    def punctuate(self, ctx: Context, now_ms: int) -> None:
        """Fires due durable timers and answers expired long-polls."""
        self._callers.drop_held_after_abort(ctx)
        for namespace in list(self._standby.of(ctx.state)):
            stance = self._stance(namespace)
            if failover.became_active(*stance):
                self._take_over(ctx, namespace, stance.version)
        if self._wakeup.needs_look(ctx.partition, now_ms):  # else no timer can be due yet
            self._fire_due_timers(ctx, now_ms)
        self._fire_held_deadlines(ctx, now_ms)
        self._callers.expire(ctx, now_ms)

    def _fire_due_timers(self, ctx: Context, now_ms: int) -> None:
        """One round over the partition's timer index: fires the due timers (a bounded batch)."""
        start = self._timer_floor.start(ctx.state)
        due = list(store.due_timers(ctx.state, start, now_ms, _TIMERS_PER_ROUND))
        full = len(due) == _TIMERS_PER_ROUND  # more may be due: next round starts at the last
        floor = store.timer_fire_ms(due[-1][0]) if full else now_ms + 1
        self._timer_floor.advance(ctx.state, floor, fired=bool(due))
        for key, value in due:
            if self._stance(store.parse_timer_key(key)[0]).active_elsewhere:
                continue  # a standby namespace's timer: kept for the cluster taking over
            # Deleted here and re-derived by the fold: a stale timer refires only after a
            # restore, and the TimerFired handler ignores deadlines the state no longer has.
            ctx.state.delete(key)
            namespace, workflow_id = store.parse_timer_key(key)
            deadline = Deadline.from_bytes(value)
            command = self._timer_fired(namespace, workflow_id, deadline)
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

    def _fire_held_deadlines(self, ctx: Context, now_ms: int) -> None:
        """Fires the due timeouts of held speculative tasks (they are in no timer index)."""
        for (namespace, workflow_id), deadline in self._callers.held.due(ctx.partition, now_ms):
            self._handle(ctx, self._timer_fired(namespace, workflow_id, deadline), None)

    def _timer_fired(self, namespace: str, workflow_id: str, deadline: Deadline) -> Command:
        """The command a due deadline of a workflow becomes."""
        return Command(
            kind=TIMER_FIRED,
            command_id=uuid.uuid4().hex,
            namespace=namespace,
            namespace_id=self._namespace_id(namespace),
            workflow_id=workflow_id,
            payload=deadline,
        )

    def _take_over(self, ctx: Context, namespace: str, version: int) -> None:
        """A namespace this partition served as standby is active here now (a failover), with
        failover version `version`: dispatch its runs' pending tasks and scan the timers it
        kept from the start."""
        self._standby.clear(ctx.state, namespace)
        log.info("partition %d takes over namespace %s", ctx.partition, namespace)
        for task in failover.take_over_tasks(ctx.state, namespace, version):
            routed = route(self._topology, OutboxRecord(Destination.TASKS, task))
            ctx.send(routed.topic, routed.value, key=routed.key, partition=routed.partition)
        self._timer_floor.lower(ctx.partition, 0)
        self._wakeup.lower(ctx.partition, 0)


def _reply_address(raw: dict[str, Any]) -> dict[str, Any] | None:
    """Where a command's reply goes: its `reply_to`, with the caller's datagram address (if
    it named one) as "datagram", which `_reply` hands to `Context.send_after_commit`."""
    reply_to = raw["reply_to"]
    datagram = raw.get("reply_datagram")
    if reply_to is None or not datagram:
        return reply_to
    return {**reply_to, "datagram": datagram}
