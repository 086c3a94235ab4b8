"""Workflow updates in the decider: admission, speculative tasks, protocol messages, waiting.

`Driver` plays the processor's part around `decide` (the in-memory registry and the waiting
callers of `history_processor.wf_updates`), so these tests run the same bookkeeping the
processor runs, without Kafka.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.any_pb2 import Any as AnyProto
from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import (
    CommandType,
    UpdateWorkflowExecutionLifecycleStage,
    WorkflowTaskFailedCause,
)
from temporalio.api.errordetails.v1 import ResourceExhaustedFailure
from temporalio.api.failure.v1 import Failure
from temporalio.api.protocol.v1 import Message
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.update.v1 import (
    Acceptance,
    Input,
    Meta,
    Outcome,
    Rejection,
    Request,
    Response,
    UpdateRef,
    WaitPolicy,
)
from temporalio.api.workflowservice.v1 import (
    PollWorkflowExecutionUpdateRequest,
    PollWorkflowExecutionUpdateResponse,
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskCompletedResponse,
    SignalWorkflowExecutionRequest,
    UpdateWorkflowExecutionRequest,
    UpdateWorkflowExecutionResponse,
)

from history_processor.handlers import update_workflow_execution
from history_processor.model import Command, Decision
from history_processor.wf_updates import waiting
from history_processor.wf_updates.registry import UpdateRegistry
from schemas.inbox import (
    POLL_WORKFLOW_EXECUTION_UPDATE,
    UPDATE_WORKFLOW_EXECUTION,
    PollWorkflowUpdate,
    RecordWorkflowTaskStarted,
    UpdateWorkflow,
)
from schemas.reply import Code, Reply
from tests.unit.history.harness import (
    NAMESPACE,
    NAMESPACE_ID,
    Glue,
    complete_workflow,
    first_task,
    ok_payload,
    payloads,
    sticky,
    types,
)

Stage = UpdateWorkflowExecutionLifecycleStage
ACCEPTED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
COMPLETED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
ADMITTED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
FAR_MS = 2_000_000_000_000


class Driver:
    """The processor's update bookkeeping around a `Glue` (one partition, one workflow)."""

    def __init__(self) -> None:
        self.glue = Glue()
        self.registry = UpdateRegistry()
        self.replies: dict[str, Reply] = {}

    @property
    def workflow(self) -> tuple[str, str]:
        return (NAMESPACE, self.glue.workflow_id)

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
            waiting.wait(self.registry, 0, command, None, state, admitted)
        elif decision.reply is not None:
            self.replies[command.command_id] = decision.reply
        if decision.events or decision.updates:
            self._settle(command, decision)
        return command.command_id, decision

    def _settle(self, command: Command, decision: Decision) -> None:
        rejected = waiting.rejections(command, decision)
        for waiter in self.registry.take_waiters(0, self.workflow):
            reply = waiting.rejection_reply(waiter, self.glue.state, rejected)
            if reply is not None:
                self.replies[waiter.command.command_id] = reply
                continue
            self.glue.updates = self.registry.inputs(0, self.workflow, self.glue.state.run_id)
            again = self.glue.submit(waiter.command.kind, waiter.command.payload, advance_ms=0)
            if again.reply is None:
                self.registry.wait(0, waiter)
            else:
                self.replies[waiter.command.command_id] = again.reply
        waiting.prune(self.registry, 0, self.workflow, self.glue.state, rejected)

    def update(
        self, update_id: str = "u1", stage: int = COMPLETED, **kw: Any
    ) -> tuple[str, Decision]:
        return self.submit(UPDATE_WORKFLOW_EXECUTION, update_message(update_id, stage, **kw))

    def update_request(self, request: Request, stage: int = COMPLETED) -> tuple[str, Decision]:
        """Sends UpdateWorkflowExecution for an update request as a client made it."""
        message = UpdateWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_execution=WorkflowExecution(workflow_id=self.glue.workflow_id),
            wait_policy=WaitPolicy(lifecycle_stage=stage),  # type: ignore[arg-type]
            request=request,
        )
        return self.submit(
            UPDATE_WORKFLOW_EXECUTION, UpdateWorkflow(message.SerializeToString(), FAR_MS)
        )

    def poll_update(self, update_id: str = "u1", stage: int = COMPLETED) -> tuple[str, Decision]:
        request = PollWorkflowExecutionUpdateRequest(
            namespace=NAMESPACE,
            update_ref=UpdateRef(
                workflow_execution=WorkflowExecution(workflow_id=self.glue.workflow_id),
                update_id=update_id,
            ),
            wait_policy=WaitPolicy(lifecycle_stage=stage),  # type: ignore[arg-type]
        )
        return self.submit(
            POLL_WORKFLOW_EXECUTION_UPDATE, PollWorkflowUpdate(request.SerializeToString(), FAR_MS)
        )

    def poll_task(self) -> PollWorkflowTaskQueueResponse:
        self.glue.updates = self.registry.inputs(0, self.workflow, self.glue.state.run_id)
        return ok_payload(self.glue.poll_workflow_task(), PollWorkflowTaskQueueResponse)

    def complete(
        self, poll: PollWorkflowTaskQueueResponse, *commands: Any, messages: Any = (), **kw: Any
    ) -> Decision:
        request = RespondWorkflowTaskCompletedRequest(
            task_token=poll.task_token,
            commands=list(commands),
            messages=list(messages),
            identity=self.glue.identity,
            **kw,
        )
        return self.submit("RespondWorkflowTaskCompleted", request)[1]


def update_message(update_id: str, stage: int, run_id: str = "", **kw: Any) -> UpdateWorkflow:
    request = UpdateWorkflowExecutionRequest(
        namespace=NAMESPACE,
        workflow_execution=WorkflowExecution(workflow_id="wf-1", run_id=run_id),
        wait_policy=WaitPolicy(lifecycle_stage=stage),  # type: ignore[arg-type]
        request=Request(
            meta=Meta(update_id=update_id, identity="client"),
            input=Input(name="set_value", args=payloads(b"42")),
        ),
        **kw,
    )
    return UpdateWorkflow(request.SerializeToString(), FAR_MS)


def message(update_id: str, body: Any, suffix: str) -> Message:
    packed = AnyProto()
    packed.Pack(body)
    return Message(id=f"{update_id}/{suffix}", protocol_instance_id=update_id, body=packed)


def accept(update_id: str, sequencing: int) -> Message:
    return message(
        update_id,
        Acceptance(
            accepted_request_message_id=f"{update_id}/request",
            accepted_request_sequencing_event_id=sequencing,
        ),
        "accept",
    )


def respond(update_id: str, outcome: Outcome) -> Message:
    return message(update_id, Response(meta=Meta(update_id=update_id), outcome=outcome), "complete")


def reject(update_id: str, text: str = "invalid value") -> Message:
    return message(
        update_id,
        Rejection(
            rejected_request_message_id=f"{update_id}/request", failure=Failure(message=text)
        ),
        "reject",
    )


def protocol_command(message_id: str) -> WorkflowCommand:
    command = WorkflowCommand(command_type=CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE)
    command.protocol_message_command_attributes.message_id = message_id
    return command


def idle(driver: Driver) -> PollWorkflowTaskQueueResponse:
    """Starts the workflow and completes its first task with no command (sticky worker)."""
    poll = first_task(driver.glue)
    done = driver.glue.complete_workflow_task(poll, sticky_attributes=sticky())
    assert done.reply is not None and done.reply.ok
    return poll


def driver() -> Driver:
    return Driver()


def test_update_to_idle_workflow_schedules_speculative_task_without_events() -> None:
    d = driver()
    idle(d)
    before = len(d.glue.events)
    _, decision = d.update()
    assert decision.reply is None
    assert decision.events == []
    assert d.glue.state.workflow_task is not None and d.glue.state.workflow_task.transient
    assert d.glue.tasks[-1]["task_queue_kind"] == "sticky"
    assert len(d.registry) == 1 and len(d.glue.events) == before
    poll = d.poll_task()
    assert [m.protocol_instance_id for m in poll.messages] == ["u1"]
    request = Request()
    poll.messages[0].body.Unpack(request)
    assert request.input.name == "set_value"
    # The worker sees the task's scheduled and started events, history does not have them.
    assert types(poll.history.events)[-2:] == ["WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED"]
    assert poll.messages[0].event_id == poll.started_event_id - 1
    assert len(d.glue.events) == before


def test_rejected_update_leaves_no_trace_and_answers_the_caller() -> None:
    d = driver()
    idle(d)
    history_before = [e.SerializeToString() for e in d.glue.events]
    command_id, _ = d.update()
    poll = d.poll_task()
    done = d.complete(poll, messages=[reject("u1")], sticky_attributes=sticky())
    # The worker is told to roll back to the last task really completed (event 3).
    completed = ok_payload(done, RespondWorkflowTaskCompletedResponse)
    assert completed.reset_history_event_id == 3
    assert done.events == []
    assert [e.SerializeToString() for e in d.glue.events] == history_before
    assert d.glue.state.workflow_task is None
    response = ok_payload(d.replies[command_id], UpdateWorkflowExecutionResponse)
    assert response.stage == COMPLETED
    assert response.outcome.failure.message == "invalid value"
    assert len(d.registry) == 0
    # A rejection is not remembered: polling it is NOT_FOUND, as on Temporal.
    _, polled = d.poll_update()
    assert polled.reply is not None and polled.reply.status_code == Code.NOT_FOUND
    assert polled.reply.message == 'update "u1" not found'
    assert d.glue.restore() == d.glue.state


def test_accepted_and_completed_update_writes_its_events_in_command_order() -> None:
    d = driver()
    idle(d)
    waiting_id, _ = d.update()
    accepted_id, _ = d.update(stage=ACCEPTED)  # the same update id joins the first caller
    assert len(d.registry) == 1
    poll = d.poll_task()
    assert len(poll.messages) == 1
    outcome = Outcome(success=payloads(b"done"))
    done = d.complete(
        poll,
        protocol_command("u1/accept"),
        protocol_command("u1/complete"),
        messages=[accept("u1", poll.started_event_id - 1), respond("u1", outcome)],
        sticky_attributes=sticky(),
    )
    assert types(done) == [
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
        "WORKFLOW_EXECUTION_UPDATE_COMPLETED",
    ]
    accepted_event = done.events[3].workflow_execution_update_accepted_event_attributes
    assert accepted_event.protocol_instance_id == "u1"
    assert accepted_event.accepted_request_message_id == "u1/request"
    assert accepted_event.accepted_request.input.name == "set_value"
    completed_event = done.events[4].workflow_execution_update_completed_event_attributes
    assert completed_event.accepted_event_id == done.events[3].event_id
    for command_id in (waiting_id, accepted_id):
        response = ok_payload(d.replies[command_id], UpdateWorkflowExecutionResponse)
        assert response.stage == COMPLETED
        assert response.outcome == outcome
    assert len(d.registry) == 0
    # Deduplication after completion: the same id gets the outcome from history.
    _, again = d.update()
    assert again.events == [] and again.updates == []
    assert ok_payload(again, UpdateWorkflowExecutionResponse).outcome == outcome
    polled = ok_payload(d.poll_update()[1], PollWorkflowExecutionUpdateResponse)
    assert polled.stage == COMPLETED and polled.outcome == outcome
    assert d.glue.restore() == d.glue.state


def test_accepted_caller_is_answered_at_acceptance_and_completed_later() -> None:
    d = driver()
    idle(d)
    accepted_id, _ = d.update(stage=ACCEPTED)
    completed_id, _ = d.update(stage=COMPLETED)
    poll = d.poll_task()
    d.complete(
        poll,
        protocol_command("u1/accept"),
        messages=[accept("u1", poll.started_event_id - 1)],
        sticky_attributes=sticky(),
    )
    assert ok_payload(d.replies[accepted_id], UpdateWorkflowExecutionResponse).stage == ACCEPTED
    assert completed_id not in d.replies
    # The workflow closes before the update completes: the caller gets Temporal's failure.
    d.glue.submit(
        "SignalWorkflowExecution",
        SignalWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_execution=WorkflowExecution(workflow_id="wf-1"),
            signal_name="go",
        ),
    )
    poll = d.poll_task()
    d.complete(poll, complete_workflow())
    response = ok_payload(d.replies[completed_id], UpdateWorkflowExecutionResponse)
    assert response.stage == COMPLETED
    assert response.outcome.failure.application_failure_info.type == (
        "AcceptedUpdateCompletedWorkflow"
    )


def test_update_admitted_while_task_runs_gets_a_new_task() -> None:
    d = driver()
    poll = first_task(d.glue)
    d.update()
    # The started first task does not carry it; its completion schedules a task that does.
    done = d.complete(poll, sticky_attributes=sticky())
    assert done.reply is not None and done.reply.ok
    assert d.glue.state.workflow_task is not None
    next_poll = d.poll_task()
    assert [m.protocol_instance_id for m in next_poll.messages] == ["u1"]


def test_closing_workflow_aborts_admitted_updates() -> None:
    d = driver()
    poll = first_task(d.glue)
    command_id, _ = d.update()
    d.complete(poll, complete_workflow())
    reply = d.replies[command_id]
    assert reply.status_code == Code.NOT_FOUND
    assert reply.message == "workflow update was aborted by closing workflow"
    assert len(d.registry) == 0
    _, late = d.update("u2")
    assert late.reply is not None and late.reply.status_code == Code.NOT_FOUND
    assert late.reply.message == "workflow execution already completed"


def test_in_flight_limit_and_first_execution_run_id() -> None:
    d = driver()
    poll = first_task(d.glue)
    for n in range(update_workflow_execution.MAX_IN_FLIGHT_UPDATES):
        _, decision = d.update(f"u{n}")
        assert decision.reply is None
    _, refused = d.update("one-too-many")
    assert refused.reply is not None and refused.reply.status_code == Code.RESOURCE_EXHAUSTED
    assert refused.reply.message == (
        "limit on number of concurrent in-flight updates has been reached (10)"
    )
    assert refused.reply.details_type == ResourceExhaustedFailure.DESCRIPTOR.full_name
    _, wrong = d.update("u-other", first_execution_run_id="some-other-run")
    assert wrong.reply is not None and wrong.reply.status_code == Code.NOT_FOUND
    del poll


def test_message_for_unknown_update_fails_the_task() -> None:
    d = driver()
    idle(d)
    d.update()
    poll = d.poll_task()
    done = d.complete(
        poll,
        protocol_command("nope/accept"),
        messages=[accept("u1", poll.started_event_id - 1)],
    )
    assert done.reply is not None and done.reply.status_code == Code.INVALID_ARGUMENT
    assert "ProtocolMessageCommand referenced absent message ID nope/accept" in (done.reply.message)
    # The speculative task is written before its failure; a sticky task's failure retries
    # on the normal queue at once, and that task carries the update again.
    assert types(done) == [
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_FAILED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert [m.protocol_instance_id for m in d.poll_task().messages] == ["u1"]
    failed = done.events[2].workflow_task_failed_event_attributes
    assert failed.cause == (
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE
    )


def test_admitted_stage_answers_at_once_for_poll() -> None:
    d = driver()
    idle(d)
    d.update()
    polled = ok_payload(d.poll_update(stage=ADMITTED)[1], PollWorkflowExecutionUpdateResponse)
    assert polled.stage == ADMITTED
    unknown = d.poll_update("nobody")[1]
    assert unknown.reply is not None and unknown.reply.status_code == Code.NOT_FOUND


def test_stale_template_completion_is_told_apart_by_its_update_answers() -> None:
    d = driver()
    d.glue.start()
    template_task = d.glue.last_task("workflow")
    d.update()  # admitted after the first task's template was made
    poll = PollWorkflowTaskQueueRequest(
        namespace=NAMESPACE,
        identity="worker-1",
        task_queue=TaskQueue(name=template_task["task_queue"]),
    )
    optimistic = RecordWorkflowTaskStarted.for_task(template_task, poll, "req-t", d.glue.now_ms)
    command_id, refused = d.submit("RecordWorkflowTaskStarted", optimistic)
    # The template cannot carry the update: history refuses it and dispatches the task again.
    assert refused.events == [] and refused.tasks and not refused.tasks[0]["payload"]
    command = Command(
        "RecordWorkflowTaskStarted", command_id, NAMESPACE, NAMESPACE_ID, "wf-1", optimistic
    )
    stale = waiting.refused_template(command, d.registry.inputs(0, d.workflow, optimistic.run_id))
    assert stale is not None and stale.update_ids == {"u1"}
    fresh = d.poll_task()
    assert [m.protocol_instance_id for m in fresh.messages] == ["u1"]
    # Both copies have one token; the stale worker's completion answers no update.
    stale_done = RespondWorkflowTaskCompletedRequest(task_token=fresh.task_token)
    reply = waiting.stale_completion(
        Command("RespondWorkflowTaskCompleted", "c", NAMESPACE, NAMESPACE_ID, "wf-1", stale_done),
        stale,
    )
    assert reply is not None and reply.status_code == Code.NOT_FOUND
    real_done = RespondWorkflowTaskCompletedRequest(
        task_token=fresh.task_token, messages=[accept("u1", fresh.started_event_id - 1)]
    )
    real = Command("RespondWorkflowTaskCompleted", "c", NAMESPACE, NAMESPACE_ID, "wf-1", real_done)
    assert waiting.stale_completion(real, stale) is None
