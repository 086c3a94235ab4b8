"""Update-with-start in the decider: the start and the update's admission in one decision."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import (
    EventType,
    TaskQueueKind,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
)
from temporalio.api.errordetails.v1 import (
    MultiOperationExecutionFailure,
    NotFoundFailure,
    WorkflowExecutionAlreadyStartedFailure,
)
from temporalio.api.failure.v1 import MultiOperationExecutionAborted
from temporalio.api.history.v1 import History
from temporalio.api.taskqueue.v1 import StickyExecutionAttributes, TaskQueue
from temporalio.api.update.v1 import Input, Meta, Outcome, Request, Response, WaitPolicy
from temporalio.api.workflowservice.v1 import (
    ExecuteMultiOperationResponse,
    PollWorkflowTaskQueueResponse,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    UpdateWorkflowExecutionRequest,
)
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from history_processor.model import Command, Decision
from history_processor.wf_updates import waiting
from schemas.inbox import EXECUTE_MULTI_OPERATION, UpdateWithStart, parse_payload
from schemas.reply import Code, Reply
from tests.unit.history.golden import load
from tests.unit.history.harness import (
    NAMESPACE,
    NAMESPACE_ID,
    comparable,
    complete_workflow,
    payloads,
    types,
)
from tests.unit.history.test_wf_updates import (
    COMPLETED,
    FAR_MS,
    Driver,
    accept,
    idle,
    message,
    protocol_command,
    reject,
    respond,
)
from tests.workflows.catalog import ALL_WORKFLOWS

_CONFLICT = WorkflowIdConflictPolicy
_REUSE = WorkflowIdReusePolicy
OUTCOME = Outcome(success=payloads(b"previous"))


class UwsDriver(Driver):
    """`Driver` with the processor's update-with-start step: a decision that starts a run
    settles what waited on the old run, then admits the update to the new one."""

    def submit(self, kind: str, payload: Any) -> tuple[str, Decision]:
        state = self.glue.state
        run_id = state.run_id if state is not None else ""
        admitted = self.registry.inputs(0, self.workflow, run_id)
        self.glue.updates = admitted
        decision = self.glue.submit(kind, payload)
        command = Command(
            kind,
            f"cmd-{len(self.glue.decisions) - 1}",
            NAMESPACE,
            NAMESPACE_ID,
            self.glue.workflow_id,
            payload,
        )
        if decision.reply is None and kind in waiting.KINDS:
            started = waiting.started_run(state, decision)
            if started:
                self._settle(command, decision)
                admitted = {}
            run = decision.state or state
            waiting.wait(self.registry, 0, command, None, run, admitted, started)
            return command.command_id, decision
        if decision.reply is not None:
            self.replies[command.command_id] = decision.reply
        if decision.events or decision.updates:
            self._settle(command, decision)
        return command.command_id, decision

    def update_with_start(
        self,
        conflict: int = _CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
        request_id: str = "start-1",
        update_id: str = "u1",
        request: Request | None = None,
        **start_fields: Any,
    ) -> tuple[str, Decision]:
        fields: dict[str, Any] = {
            "workflow_type": WorkflowType(name="UpdaterWorkflow"),
            "task_queue": TaskQueue(name="golden", kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            "identity": "client",
            **start_fields,
        }
        start = StartWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_id=self.glue.workflow_id,
            request_id=request_id,
            workflow_id_conflict_policy=conflict,  # type: ignore[arg-type]
            **fields,
        )
        update = UpdateWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_execution=WorkflowExecution(workflow_id=self.glue.workflow_id),
            wait_policy=WaitPolicy(lifecycle_stage=COMPLETED),
            request=request
            or Request(
                meta=Meta(update_id=update_id, identity="client"),
                input=Input(name="set_value", args=payloads(b"4")),
            ),
        )
        multi = UpdateWithStart(start.SerializeToString(), update.SerializeToString(), FAR_MS)
        # As the processor gets it: through the inbox record's bytes.
        parsed = parse_payload(EXECUTE_MULTI_OPERATION, multi.to_bytes())
        assert parsed == multi
        return self.submit(EXECUTE_MULTI_OPERATION, parsed)


def _response(reply: Reply | None) -> ExecuteMultiOperationResponse:
    assert reply is not None and reply.ok, reply
    return ExecuteMultiOperationResponse.FromString(reply.payload)


def _statuses(reply: Reply | None) -> list[tuple[int, str, str]]:
    """(code, message, detail type) of each operation of a MultiOperation error."""
    assert reply is not None and not reply.ok
    assert reply.details_type == MultiOperationExecutionFailure.DESCRIPTOR.full_name
    failure = MultiOperationExecutionFailure.FromString(reply.details)
    return [
        (s.code, s.message, s.details[0].type_url.split("/")[-1] if s.details else "")
        for s in failure.statuses
    ]


_ABORTED = (
    Code.ABORTED,
    "Operation was aborted.",
    MultiOperationExecutionAborted.DESCRIPTOR.full_name,
)


def _accept_and_complete(d: UwsDriver, poll: PollWorkflowTaskQueueResponse) -> Decision:
    return d.complete(
        poll,
        protocol_command("u1/accept"),
        protocol_command("u1/complete"),
        messages=[accept("u1", poll.started_event_id - 1), respond("u1", OUTCOME)],
    )


def test_new_workflow_is_started_with_the_update_admitted_in_the_same_decision() -> None:
    d = UwsDriver()
    command_id, decision = d.update_with_start()
    assert decision.reply is None
    assert types(decision) == ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED"]
    run_id = d.glue.state.run_id
    assert d.registry.inputs(0, d.workflow, run_id).keys() == {"u1"}
    # The first task's prepared response carries the update, as Temporal's first task does.
    template = PollWorkflowTaskQueueResponse.FromString(decision.tasks[0]["payload"])
    assert [m.protocol_instance_id for m in template.messages] == ["u1"]
    # So does the classic start of the same task.
    poll = d.poll_task()
    assert [m.protocol_instance_id for m in poll.messages] == ["u1"]
    assert types(poll.history.events) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
    ]
    done = _accept_and_complete(d, poll)
    assert types(done) == [
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
        "WORKFLOW_EXECUTION_UPDATE_COMPLETED",
    ]
    started, updated = _response(d.replies[command_id]).responses
    assert started.start_workflow.run_id == run_id and started.start_workflow.started
    assert updated.update_workflow.stage == COMPLETED
    assert updated.update_workflow.outcome == OUTCOME
    assert updated.update_workflow.update_ref.workflow_execution.run_id == run_id
    assert len(d.registry) == 0
    assert d.glue.restore() == d.glue.state


def test_use_existing_updates_the_running_run_without_starting_one() -> None:
    d = UwsDriver()
    idle(d)
    run_id = d.glue.state.run_id
    command_id, decision = d.update_with_start(request_id="another-start")
    assert decision.reply is None and decision.events == []
    assert d.glue.state.run_id == run_id and d.glue.state.workflow_task.transient
    poll = d.poll_task()
    assert [m.protocol_instance_id for m in poll.messages] == ["u1"]
    _accept_and_complete(d, poll)
    started, updated = _response(d.replies[command_id]).responses
    assert started.start_workflow.run_id == run_id
    assert not started.start_workflow.started
    assert updated.update_workflow.outcome == OUTCOME


def test_fail_policy_on_a_running_run_fails_the_start_and_aborts_the_update() -> None:
    d = UwsDriver()
    idle(d)
    before = len(d.glue.events)
    _, decision = d.update_with_start(
        conflict=_CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_FAIL, request_id="another-start"
    )
    assert decision.reply is not None and decision.reply.status_code == Code.ALREADY_EXISTS
    statuses = _statuses(decision.reply)
    assert statuses[0][0] == Code.ALREADY_EXISTS
    assert statuses[0][1].startswith("Workflow execution is already running.")
    assert statuses[0][2] == WorkflowExecutionAlreadyStartedFailure.DESCRIPTOR.full_name
    assert statuses[1] == _ABORTED
    assert len(d.glue.events) == before and len(d.registry) == 0


def test_a_retried_start_or_a_known_update_joins_the_running_run_whatever_the_policy() -> None:
    d = UwsDriver()
    first_id, _ = d.update_with_start(conflict=_CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_FAIL)
    run_id = d.glue.state.run_id
    # The client sends both operations again (same start request id): nothing new starts.
    retry_id, retried = d.update_with_start(conflict=_CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_FAIL)
    assert retried.reply is None and retried.events == []
    assert len(d.registry) == 1
    _accept_and_complete(d, d.poll_task())
    first = _response(d.replies[first_id]).responses
    retry = _response(d.replies[retry_id]).responses
    assert first[0].start_workflow.started and not retry[0].start_workflow.started
    assert {first[0].start_workflow.run_id, retry[0].start_workflow.run_id} == {run_id}
    assert first[1].update_workflow.outcome == retry[1].update_workflow.outcome == OUTCOME
    # A completed update is answered from history, even under FAIL.
    _, again = d.update_with_start(
        conflict=_CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_FAIL, request_id="third"
    )
    assert _response(again.reply).responses[1].update_workflow.outcome == OUTCOME


def test_terminate_existing_replaces_the_running_run_and_updates_the_new_one() -> None:
    d = UwsDriver()
    idle(d)
    old_run = d.glue.state.run_id
    command_id, decision = d.update_with_start(
        conflict=_CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING, request_id="new"
    )
    assert decision.reply is None
    assert [types(c.events) for c in decision.closed_runs] == [["WORKFLOW_EXECUTION_TERMINATED"]]
    new_run = d.glue.state.run_id
    assert new_run != old_run
    assert d.registry.inputs(0, d.workflow, new_run).keys() == {"u1"}
    _accept_and_complete(d, d.poll_task())
    started = _response(d.replies[command_id]).responses[0].start_workflow
    assert started.run_id == new_run and started.started


def test_closed_run_follows_the_id_reuse_policy() -> None:
    d = UwsDriver()
    d.update_with_start(update_id="u0", request_id="s0")
    done = d.complete(d.poll_task(), complete_workflow(), messages=[reject("u0")])
    assert done.reply is not None and done.reply.ok
    assert not d.glue.state.is_running
    closed_run = d.glue.state.run_id
    _, refused = d.update_with_start(
        request_id="s1", workflow_id_reuse_policy=_REUSE.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
    )
    statuses = _statuses(refused.reply)
    assert statuses[0][0] == Code.ALREADY_EXISTS and statuses[1] == _ABORTED
    command_id, restarted = d.update_with_start(request_id="s2")
    assert restarted.reply is None
    assert types(restarted)[:2] == ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED"]
    assert d.glue.state.run_id != closed_run
    _accept_and_complete(d, d.poll_task())
    assert _response(d.replies[command_id]).responses[0].start_workflow.started


def test_rejected_update_leaves_the_started_run_standing() -> None:
    d = UwsDriver()
    command_id, _ = d.update_with_start()
    run_id = d.glue.state.run_id
    done = d.complete(d.poll_task(), messages=[reject("u1")])
    # The first task is a normal task: its completion is written, nothing of the update.
    assert types(done) == ["WORKFLOW_TASK_COMPLETED"]
    assert d.glue.state.is_running and d.glue.state.run_id == run_id
    started, updated = _response(d.replies[command_id]).responses
    assert started.start_workflow.started and started.start_workflow.run_id == run_id
    assert updated.update_workflow.stage == COMPLETED
    assert updated.update_workflow.outcome.failure.message == "invalid value"
    assert types(d.glue.events) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
    ]


def test_started_run_closing_before_acceptance_aborts_only_the_update() -> None:
    d = UwsDriver()
    own_id, _ = d.update_with_start()
    joined_id, _ = d.update_with_start(request_id="other")  # USE_EXISTING: joins the update
    d.glue.updates = d.registry.inputs(0, d.workflow, d.glue.state.run_id)
    d.complete(d.poll_task(), complete_workflow())
    assert not d.glue.state.is_running
    closing = (
        Code.NOT_FOUND,
        "workflow update was aborted by closing workflow",
        NotFoundFailure.DESCRIPTOR.full_name,
    )
    assert _statuses(d.replies[own_id]) == [(Code.OK, "", ""), closing]
    assert d.replies[own_id].status_code == Code.NOT_FOUND
    # The caller that found the run running is told to retry (Temporal's retryable ABORTED).
    joined = _statuses(d.replies[joined_id])
    assert joined[0] == _ABORTED
    assert joined[1][:2] == (Code.ABORTED, "workflow update was aborted by closing workflow")
    assert d.replies[joined_id].status_code == Code.ABORTED


def test_invalid_start_is_refused_with_the_update_aborted() -> None:
    d = UwsDriver()
    _, decision = d.update_with_start(request_id="")
    assert _statuses(decision.reply) == [
        (Code.INVALID_ARGUMENT, "Missing request ID.", ""),
        _ABORTED,
    ]
    assert d.glue.state is None and len(d.registry) == 0


def _drive_golden(golden: History) -> tuple[UwsDriver, str]:
    """Runs the golden's update-with-start through Strom's decider with the worker's inputs."""
    started = golden.events[0].workflow_execution_started_event_attributes
    task = golden.events[2].workflow_task_started_event_attributes
    accepted = golden.events[4].workflow_execution_update_accepted_event_attributes
    completed = golden.events[5].workflow_execution_update_completed_event_attributes
    sticky_queue = golden.events[7].workflow_task_scheduled_event_attributes.task_queue
    sticky = StickyExecutionAttributes(worker_task_queue=sticky_queue)
    sticky.schedule_to_start_timeout.FromSeconds(10)
    stamp: dict[str, Any] = {}
    if task.HasField("worker_version"):
        stamp["worker_version_stamp"] = task.worker_version
    d = UwsDriver()
    d.glue.identity = task.identity
    update_id = accepted.protocol_instance_id
    command_id, _ = d.update_with_start(
        request=accepted.accepted_request,
        workflow_type=started.workflow_type,
        task_queue=TaskQueue(name=started.task_queue.name),
        workflow_task_timeout=started.workflow_task_timeout,
        identity=started.identity,
    )
    d.complete(
        d.poll_task(),
        protocol_command(f"{update_id}/accept"),
        protocol_command(f"{update_id}/complete"),
        messages=[
            accept(update_id, accepted.accepted_request_sequencing_event_id),
            message(
                update_id, Response(meta=completed.meta, outcome=completed.outcome), "complete"
            ),
        ],
        sticky_attributes=sticky,
        **stamp,
    )
    signaled = golden.events[6].workflow_execution_signaled_event_attributes
    d.glue.submit(
        "SignalWorkflowExecution",
        SignalWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_execution=WorkflowExecution(workflow_id=d.glue.workflow_id),
            signal_name=signaled.signal_name,
            identity=signaled.identity,
            header=signaled.header,
        ),
    )
    closed = golden.events[-1].workflow_execution_completed_event_attributes
    d.complete(d.poll_task(), complete_workflow(closed.result), sticky_attributes=sticky, **stamp)
    return d, command_id


def test_same_events_as_the_dev_server() -> None:
    golden = load("update_with_start")
    d, command_id = _drive_golden(golden)
    ours = [(e.event_id, EventType.Name(e.event_type)) for e in d.glue.events]
    assert ours == [(e.event_id, EventType.Name(e.event_type)) for e in golden.events]
    for mine, theirs in zip(d.glue.events, golden.events, strict=True):
        if mine.event_type in (
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        ):
            assert comparable(mine) == comparable(theirs), mine.event_id
    expected = golden.events[5].workflow_execution_update_completed_event_attributes.outcome
    started, updated = _response(d.replies[command_id]).responses
    assert started.start_workflow.started and updated.update_workflow.outcome == expected
    assert d.glue.restore() == d.glue.state


async def test_strom_and_golden_histories_replay() -> None:
    replayer = Replayer(workflows=ALL_WORKFLOWS)
    golden = load("update_with_start")
    d, _ = _drive_golden(golden)
    for history in (d.glue.history(), golden):
        replay = WorkflowHistory.from_json("uws", json_format.MessageToJson(history))
        result = await replayer.replay_workflow(replay, raise_on_replay_failure=False)
        assert result.replay_failure is None
