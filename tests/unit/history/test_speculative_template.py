"""Optimistic start of a speculative workflow task: the update reaches a sticky worker
without a round trip to history, and the template equals the classic start."""

from __future__ import annotations

from temporalio.api.enums.v1 import TaskQueueKind
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.update.v1 import Outcome
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedRequest,
)

from history_processor.model import Command
from history_processor.wf_updates import waiting
from schemas import prepared
from schemas.inbox import RECORD_WORKFLOW_TASK_STARTED, RecordWorkflowTaskStarted
from schemas.reply import Code
from tests.unit.history.harness import NAMESPACE, NAMESPACE_ID, first_task, payloads, sticky, types
from tests.unit.history.test_wf_updates import (
    Driver,
    accept,
    idle,
    protocol_command,
    respond,
)


def _sticky_poll(task: dict) -> PollWorkflowTaskQueueRequest:
    return PollWorkflowTaskQueueRequest(
        namespace=NAMESPACE,
        identity="worker-1",
        task_queue=TaskQueue(name=task["task_queue"], kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY),
    )


def _hand_out(d: Driver, request_id: str = "opt-1") -> tuple[PollWorkflowTaskQueueResponse, str]:
    """What matching does with the speculative task's record: finish its template and tell
    history; returns the poll response and the start's command id."""
    task = d.glue.last_task("workflow")
    assert task["payload"], "a speculative task carries its prepared response"
    now_ms = d.glue.now_ms + 3
    response = prepared.finish(task["payload"], _sticky_poll(task), request_id, now_ms)
    ids = tuple(m.protocol_instance_id for m in response.messages)
    start = RecordWorkflowTaskStarted.for_task(task, _sticky_poll(task), request_id, now_ms, ids)
    command_id, decision = d.submit(RECORD_WORKFLOW_TASK_STARTED, start)
    assert decision.reply is not None and decision.reply.ok
    return response, command_id


def test_speculative_template_equals_the_classic_start() -> None:
    optimist, classic = Driver(), Driver()
    for d in (optimist, classic):
        idle(d)
        d.update()
    handed_out, _ = _hand_out(optimist)
    assert optimist.glue.state.workflow_task.is_started
    polled = classic.poll_task()
    for response in (handed_out, polled):
        response.ClearField("started_time")
        response.history.events[-1].ClearField("event_time")
        response.history.events[-1].workflow_task_started_event_attributes.ClearField("request_id")
    assert handed_out == polled
    assert [m.protocol_instance_id for m in handed_out.messages] == ["u1"]
    assert types(handed_out.history.events)[-2:] == [
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
    ]


def test_optimistic_speculative_start_writes_nothing_and_its_completion_accepts() -> None:
    d = Driver()
    idle(d)
    before = len(d.glue.events)
    command_id, _ = d.update()
    response, _ = _hand_out(d)
    assert len(d.glue.events) == before, "a speculative start writes no event"
    done = d.complete(
        response,
        protocol_command("u1/accept"),
        protocol_command("u1/complete"),
        messages=[
            accept("u1", response.started_event_id - 1),
            respond("u1", Outcome(success=payloads(b"1"))),
        ],
    )
    assert done.reply is not None and done.reply.ok
    assert types(d.glue.events[before:]) == [
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
        "WORKFLOW_EXECUTION_UPDATE_COMPLETED",
    ]
    assert d.replies[command_id].ok


def test_template_missing_a_later_update_is_refused_and_its_completion_is_stale() -> None:
    d = Driver()
    idle(d)
    d.update("u1")
    task = d.glue.last_task("workflow")
    d.update("u2")  # admitted while the speculative task is pending: not in the template
    assert d.glue.last_task("workflow") is task
    now_ms = d.glue.now_ms
    response = prepared.finish(task["payload"], _sticky_poll(task), "opt-1", now_ms)
    assert [m.protocol_instance_id for m in response.messages] == ["u1"]
    start = RecordWorkflowTaskStarted.for_task(task, _sticky_poll(task), "opt-1", now_ms, ("u1",))
    command_id, refused = d.submit(RECORD_WORKFLOW_TASK_STARTED, start)
    assert not d.glue.state.workflow_task.is_started
    assert refused.tasks and not refused.tasks[0]["payload"], "dispatched again, classically"
    command = Command(
        RECORD_WORKFLOW_TASK_STARTED, command_id, NAMESPACE, NAMESPACE_ID, "wf-1", start
    )
    admitted = d.registry.inputs(0, d.workflow, start.run_id)
    stale = waiting.refused_template(command, admitted)
    assert stale is not None and stale.update_ids == {"u1", "u2"}
    fresh = d.poll_task()
    assert [m.protocol_instance_id for m in fresh.messages] == ["u1", "u2"]
    # The stale worker answers only u1; the worker of the new copy answers both.
    only_u1 = RespondWorkflowTaskCompletedRequest(
        task_token=fresh.task_token, messages=[accept("u1", fresh.started_event_id - 1)]
    )
    reply = waiting.stale_completion(
        Command("RespondWorkflowTaskCompleted", "c", NAMESPACE, NAMESPACE_ID, "wf-1", only_u1),
        stale,
    )
    assert reply is not None and reply.status_code == Code.NOT_FOUND
    both = RespondWorkflowTaskCompletedRequest(
        task_token=fresh.task_token,
        messages=[accept(u, fresh.started_event_id - 1) for u in ("u1", "u2")],
    )
    real = Command("RespondWorkflowTaskCompleted", "c", NAMESPACE, NAMESPACE_ID, "wf-1", both)
    assert waiting.stale_completion(real, stale) is None


def test_template_of_a_forgotten_update_is_refused() -> None:
    d = Driver()
    idle(d)
    d.update("u1")
    d.registry.forget(set())  # the processor restarted: admitted updates are gone
    task = d.glue.last_task("workflow")
    start = RecordWorkflowTaskStarted.for_task(
        task, _sticky_poll(task), "opt-1", d.glue.now_ms, ("u1",)
    )
    _, refused = d.submit(RECORD_WORKFLOW_TASK_STARTED, start)
    assert not d.glue.state.workflow_task.is_started and refused.events == []


def test_task_a_completion_schedules_for_waiting_updates_has_no_template() -> None:
    # The completion may settle some admitted updates: only the classic start, which reads
    # the registry after the commit, knows which requests the task must carry.
    d = Driver()
    poll = first_task(d.glue)
    d.update("u1")
    d.update("u2")
    done = d.complete(poll, sticky_attributes=sticky())
    assert done.reply is not None and done.reply.ok
    assert done.tasks and not done.tasks[-1]["payload"]
    assert [m.protocol_instance_id for m in d.poll_task().messages] == ["u1", "u2"]
