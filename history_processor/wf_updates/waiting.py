"""The life of an update caller's wait in the processor (pure bookkeeping over the registry).

1. An UpdateWorkflowExecution or PollWorkflowExecutionUpdate decided with no reply waits
   (`wait`); a new update is admitted to the registry then.
2. After every commit on the workflow the processor answers the callers of updates the
   completion rejected (`rejection_reply`; a rejection writes nothing to decide on) and
   decides every other waiting command again: it is answered once history shows the stage
   it waits for, or when the run closed. Then `prune` forgets the admitted updates history
   now holds (accepted) or nobody will process (rejected, or the run is no longer current).
3. An optimistic start refused because updates were admitted after its template was made
   (`refused_template`) leaves two copies of one task with one token; the completion of the
   stale copy is told apart by the updates it does not answer (`stale_completion`).
4. At its deadline a caller gets the stage reached so far (`expired_reply`), as Temporal's
   frontend does after its long-poll interval; the caller asks again or polls.
"""

from __future__ import annotations

from typing import Any

from temporalio.api.update.v1 import Outcome
from temporalio.api.workflowservice.v1 import RespondWorkflowTaskCompletedRequest

from history_processor.handling import MSG_WORKFLOW_TASK_NOT_FOUND, not_found
from history_processor.model import Command, Decision, EventReader
from history_processor.state import ExecutionState
from history_processor.wf_updates import protocol, with_start
from history_processor.wf_updates.registry import (
    Admitted,
    StaleTemplate,
    UpdateRegistry,
    Waiter,
)
from history_processor.wf_updates.status import ADMITTED, COMPLETED, answer, recorded
from schemas import tokens
from schemas.exceptions import TaskTokenError
from schemas.inbox import (
    EXECUTE_MULTI_OPERATION,
    POLL_WORKFLOW_EXECUTION_UPDATE,
    RECORD_WORKFLOW_TASK_STARTED,
    UPDATE_WORKFLOW_EXECUTION,
    RecordWorkflowTaskStarted,
)
from schemas.reply import Code, Reply

KINDS = frozenset(
    {UPDATE_WORKFLOW_EXECUTION, POLL_WORKFLOW_EXECUTION_UPDATE, EXECUTE_MULTI_OPERATION}
)
"""The inbox kinds whose callers wait on an update."""
_ADMITTING = frozenset({UPDATE_WORKFLOW_EXECUTION, EXECUTE_MULTI_OPERATION})


def update_id_of(command: Command) -> str:
    """The update a waiting command is about."""
    if command.kind in _ADMITTING:
        return str(command.payload.update_request().request.meta.update_id)
    return str(command.payload.poll_request().update_ref.update_id)


def started_run(before: ExecutionState | None, decision: Decision) -> bool:
    """Whether a waiting command's decision started a run (update-with-start)."""
    after = decision.state
    return after is not None and (before is None or after.run_id != before.run_id)


def wait(
    registry: UpdateRegistry,
    partition: int,
    command: Command,
    reply_to: dict[str, Any] | None,
    state: ExecutionState | None,
    admitted: dict[str, Any],
    started: bool = False,
) -> None:
    """Keeps a caller waiting; admits its update if it is new to the run.

    Args:
        registry: The processor's registry.
        partition: The workflow's shard.
        command: The waiting command.
        reply_to: Where its reply goes.
        state: The run as the command's decision left it.
        admitted: The run's admitted updates before this command.
        started: The decision started the run (update-with-start): the update is admitted
            in the same step, before the processor reads another command.
    """
    assert state is not None, "a caller waits only on an existing run"
    update_id = update_id_of(command)
    workflow = (command.namespace, command.workflow_id)
    new = update_id not in admitted and update_id not in state.workflow_updates
    if command.kind in _ADMITTING and new:
        request = command.payload.update_request().request
        registry.admit(partition, workflow, update_id, Admitted(state.run_id, request))
    if command.kind == EXECUTE_MULTI_OPERATION:
        command = with_start.attached(command, state, started)
    registry.wait(partition, Waiter(command, reply_to, update_id, command.payload.deadline_ms))


def rejections(command: Command, decision: Decision) -> dict[str, Outcome]:
    """The updates the committed command rejected, with their outcomes."""
    return protocol.rejections(command, decision)


def rejection_reply(
    waiter: Waiter, state: ExecutionState | None, rejected: dict[str, Outcome]
) -> Reply | None:
    """The answer of a caller whose update was just rejected; None for the others."""
    outcome = rejected.get(waiter.update_id)
    if outcome is None or state is None:
        return None
    return _of(
        waiter, state, answer(waiter.command.kind, state, waiter.update_id, COMPLETED, outcome)
    )


def prune(
    registry: UpdateRegistry,
    partition: int,
    workflow: tuple[str, str],
    state: ExecutionState | None,
    rejected: dict[str, Outcome],
) -> None:
    """Forgets admitted updates that history or the completion settled."""
    if state is None or not state.is_running:
        registry.drop_other_runs(partition, workflow, "")
        return
    registry.drop_other_runs(partition, workflow, state.run_id)
    registry.drop(partition, workflow, set(rejected) | set(state.workflow_updates))


def expired_reply(waiter: Waiter, state: ExecutionState | None, read_events: EventReader) -> Reply:
    """The answer of a caller whose wait ended: the stage its update reached so far."""
    if state is None:
        return _of(waiter, state, Reply.error(Code.NOT_FOUND, "workflow execution not found"))
    known = recorded(state, waiter.update_id, read_events)
    stage, outcome = known if known is not None else (ADMITTED, None)
    return _of(waiter, state, answer(waiter.command.kind, state, waiter.update_id, stage, outcome))


def _of(waiter: Waiter, state: ExecutionState | None, reply: Reply) -> Reply:
    """An update caller's reply, as the multi-operation's for an update-with-start."""
    if waiter.command.kind != EXECUTE_MULTI_OPERATION:
        return reply
    return with_start.wrap(waiter.command, state, reply)


def refused_template(command: Command, admitted: dict[str, Any]) -> StaleTemplate | None:
    """The stale template an optimistic start refused for admitted updates, if it was one."""
    if command.kind != RECORD_WORKFLOW_TASK_STARTED or not admitted:
        return None
    msg: RecordWorkflowTaskStarted = command.payload
    if not msg.started_time_ms or frozenset(msg.update_ids) == frozenset(admitted):
        return None  # the classic start, or a speculative template that carried them all
    return StaleTemplate(msg.run_id, msg.scheduled_event_id, msg.attempt, frozenset(admitted))


def stale_completion(command: Command, stale: StaleTemplate | None) -> Reply | None:
    """NOT_FOUND for the completion of a refused template's task; None for other commands.

    A completion of the task that does not answer all the updates the new copy carried
    comes from the worker that got the stale template (a worker answers every update request
    of its task in that task's completion; a speculative template carries some of them).
    """
    if stale is None or command.kind != "RespondWorkflowTaskCompleted":
        return None
    request: RespondWorkflowTaskCompletedRequest = command.payload
    try:
        token = tokens.decode(request.task_token)
    except TaskTokenError:
        return None
    if (token.run_id, token.scheduled_event_id, token.attempt) != (
        stale.run_id,
        stale.scheduled_event_id,
        stale.attempt,
    ):
        return None
    if stale.update_ids <= {m.protocol_instance_id for m in request.messages}:
        return None
    return not_found(MSG_WORKFLOW_TASK_NOT_FOUND)
