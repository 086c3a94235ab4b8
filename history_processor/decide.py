"""The decider: (state, command, clock, ids) -> Decision. Pure: no I/O besides `read_events`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.update.v1 import Request as UpdateRequest

from history_processor import limits, optimistic, run_closed
from history_processor.handlers import HANDLERS
from history_processor.handling import Env
from history_processor.model import Command, Decision, EventReader, no_events
from history_processor.older_runs import OlderRuns
from history_processor.pending_limits import PendingLimits
from history_processor.state import ExecutionState
from schemas.inbox import EXECUTE_MULTI_OPERATION, REPLICATE_EVENTS, UPDATE_WORKFLOW_EXECUTION
from schemas.reply import Code, Reply
from schemas.visibility.attributes import ValueType

log = logging.getLogger(__name__)
_ADMITTING = frozenset({UPDATE_WORKFLOW_EXECUTION, EXECUTE_MULTI_OPERATION})


def decide(
    state: ExecutionState | None,
    command: Command,
    now_ms: int,
    new_id: Callable[[], str],
    read_events: EventReader = no_events,
    queries: Mapping[str, WorkflowQuery] | None = None,
    search_attributes: Mapping[str, ValueType] | None = None,
    older_runs: OlderRuns | None = None,
    updates: Mapping[str, UpdateRequest] | None = None,
    pending_limits: PendingLimits | None = None,
) -> Decision:
    """Decides what one inbox command does to a workflow.

    Args:
        state: Mutable state of the workflow id's current run, None if it never ran. Not
            modified.
        command: The command, payload parsed (`schemas.inbox.parse_payload`).
        now_ms: Current time, epoch milliseconds (event times, deadlines).
        new_id: Returns a fresh unique id: run ids when a run is created, request ids of
            activities started eagerly by RespondWorkflowTaskCompleted.
        read_events: `read_events(first, next)` returns the committed events of the current
            run with first <= event_id < next, in order. Needed by RecordWorkflowTaskStarted,
            RespondWorkflowTaskCompleted (return_new_workflow_task), GetWorkflowExecutionHistory
            and the prepared response of an optimistic start; the decision's own events never
            come from it.
        queries: The run's buffered consistent queries by id (`history_processor.queries`);
            a workflow task started by this decision carries them.
        search_attributes: The custom search attributes of the command's namespace (name ->
            type), which start requests and upsert commands are checked against.
        older_runs: Readers of the workflow id's other kept runs (reset, delete by run id).
        updates: The run's admitted workflow updates by id (`history_processor.wf_updates`);
            a workflow task started by this decision carries their requests.
        pending_limits: The operator's caps on pending work per run (default: Temporal's).

    Returns:
        The Decision. Apply it with `fold.apply_batch(state, decision.events,
        decision.updates)`; the result's run_id tells which run the events belong to. A
        handler that raises (a bug, or a payload of the wrong type) yields an INTERNAL reply
        and changes nothing, so one bad command cannot stop the shard.
    """
    handler = HANDLERS.get(command.kind)
    if handler is None:
        return Decision(
            reply=Reply.error(Code.UNIMPLEMENTED, f"unknown command kind {command.kind!r}")
        )
    env = Env(
        now_ms=now_ms,
        new_id=new_id,
        read_events=read_events,
        queries=queries or {},
        search_attributes=search_attributes or {},
        older_runs=older_runs or OlderRuns(),
        updates=updates or {},
        pending_limits=pending_limits or PendingLimits(),
    )
    try:
        if command.kind == REPLICATE_EVENTS:
            # A standby folds what the active cluster decided: no limit, no relative and no
            # task template of its own may be added to it.
            return handler(state, command, env)
        decision = limits.enforce_history_limits(state, handler(state, command, env), now_ms)
        # Whatever closed the run (a command, terminate, a timeout, a limit), its relatives hear.
        run_closed.notify_relatives(state, decision)
        # After the handler: the template must show the run as the whole decision leaves it.
        # A template cannot carry buffered queries: with some waiting, the start goes to history.
        if not env.queries:
            run_updates = _run_updates(state, decision, env)
            admitting = _admitting(command, decision, run_updates)
            admitted = {**run_updates, **admitting}
            optimistic.prepare(decision, read_events, now_ms, admitted, bool(admitting), state)
        return decision
    except Exception as exc:  # one bad command must not stop the shard: nothing is applied
        log.exception("decider failed on %s %s", command.kind, command.command_id)
        return Decision(reply=Reply.error(Code.INTERNAL, f"history decider failed: {exc!r}"))


def _admitting(
    command: Command, decision: Decision, run_updates: Mapping[str, UpdateRequest]
) -> dict[str, UpdateRequest]:
    """The update this decision admits ({id: request}; the processor admits it right after,
    `wf_updates.waiting.wait`), or {} when it admits none."""
    if command.kind not in _ADMITTING or decision.reply is not None:
        return {}
    request = command.payload.update_request().request
    update_id = request.meta.update_id
    state = decision.state
    if update_id in run_updates or (state is not None and update_id in state.workflow_updates):
        return {}
    return {update_id: request}


def _run_updates(
    state: ExecutionState | None, decision: Decision, env: Env
) -> Mapping[str, UpdateRequest]:
    """The admitted updates of the run the decision leaves: none for a run it started."""
    after = decision.state
    if after is not None and (state is None or after.run_id != state.run_id):
        return {}
    return env.updates
