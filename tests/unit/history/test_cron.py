"""Cron workflows: the first run waits for the schedule, each closing run starts the next."""

from __future__ import annotations

from typing import Any

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.common.v1 import Payload, Payloads, RetryPolicy
from temporalio.api.enums.v1 import CommandType, ContinueAsNewInitiator
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionResponse

from history_processor import cron
from history_processor.deadlines import DeadlineKind
from schemas.reply import Code
from tests.unit.history.golden import load
from tests.unit.history.harness import (
    RUN_SPECIFIC,
    START_MS,
    Glue,
    comparable,
    first_task,
    ok_payload,
    types,
)

MINUTE = 60_000


def test_backoff_to_the_next_fire_time_in_whole_seconds() -> None:
    at = 1_700_000_000_000  # 22:13:20 UTC
    assert cron.backoff_ms("* * * * *", at, at) == 40_000
    assert cron.backoff_ms("* * * * *", at, at + 500) == 40_000  # 39.5 s rounded up
    # A fire time already in the past is skipped: the first one not before now.
    assert cron.backoff_ms("* * * * *", at, at + 3 * MINUTE) == 40_000
    assert cron.backoff_ms("@hourly", at, at) == (60 - 13) * MINUTE - 20_000
    assert cron.backoff_ms("", at, at) is None
    assert cron.is_valid("*/5 * * * *") and cron.is_valid("")
    assert not cron.is_valid("not a schedule") and not cron.is_valid("61 * * * *")


def test_every_and_zones_as_temporals_parser_reads_them() -> None:
    at = 1_700_000_000_250  # 22:13:20.250 UTC
    assert cron.backoff_ms("@every 10s", at, at) == 10_000  # from the start of the second
    assert cron.backoff_ms("@every 1m30s", at, at) == 90_000
    assert cron.backoff_ms("@every 100ms", at, at) == 1_000  # at least a second
    # 23:00 in New York (UTC-5 in November) is 04:00 UTC: 5 h 46 min 39.75 s away, ceiled.
    zoned = cron.backoff_ms("CRON_TZ=America/New_York 0 23 * * *", at, at)
    assert zoned == (5 * 3600 + 46 * 60 + 40) * 1000
    assert cron.is_valid("TZ=Europe/Berlin @daily") and cron.is_valid("@every 2h")
    assert not cron.is_valid("CRON_TZ=Nowhere/Land * * * * *")
    assert not cron.is_valid("@every soon") and not cron.is_valid("@every")


def test_invalid_schedule_is_refused() -> None:
    glue = Glue()
    decision = glue.start(cron_schedule="every tuesday")
    assert decision.reply is not None and decision.reply.status_code == Code.INVALID_ARGUMENT
    assert decision.reply.message == "invalid CronSchedule." and glue.state is None


def _complete(data: bytes) -> WorkflowCommand:
    command = WorkflowCommand(command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION)
    command.complete_workflow_execution_command_attributes.result.CopyFrom(
        Payloads(payloads=[Payload(data=data)])
    )
    return command


def _fail() -> WorkflowCommand:
    command = WorkflowCommand(command_type=CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION)
    command.fail_workflow_execution_command_attributes.failure.message = "boom"
    return command


def test_cron_chain() -> None:
    glue = Glue()
    reply = glue.start(cron_schedule="* * * * *")
    first_run = ok_payload(reply, StartWorkflowExecutionResponse).run_id
    # The first run waits for the next minute: no workflow task yet.
    started = glue.events[0].workflow_execution_started_event_attributes
    assert started.first_workflow_task_backoff.ToMilliseconds() == 40_000  # 39.995 s, ceiled
    assert types(glue.events) == ["WORKFLOW_EXECUTION_STARTED"]
    glue.fire(DeadlineKind.FIRST_WORKFLOW_TASK_BACKOFF.value)
    decision = glue.complete_workflow_task(first_task(glue), _complete(b"one"))
    # Completed, and the next run starts at once, waiting for the following minute.
    (closed,) = decision.closed_runs
    completed = closed.events[-1].workflow_execution_completed_event_attributes
    second_run = glue.state.run_id  # type: ignore[union-attr]
    assert completed.new_execution_run_id == second_run != first_run
    nxt = glue.events[0].workflow_execution_started_event_attributes
    assert nxt.initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE
    assert nxt.attempt == 1 and nxt.cron_schedule == "* * * * *"
    assert nxt.first_execution_run_id == first_run
    assert nxt.last_completion_result.payloads[0].data == b"one"
    fire_at = START_MS + 40_000 + MINUTE
    assert glue.now_ms + nxt.first_workflow_task_backoff.ToMilliseconds() >= fire_at
    # A failed run is followed too: the failure passed on, the last result kept.
    glue.fire(DeadlineKind.FIRST_WORKFLOW_TASK_BACKOFF.value)
    decision = glue.complete_workflow_task(first_task(glue), _fail())
    third = glue.events[0].workflow_execution_started_event_attributes
    assert third.continued_failure.message == "boom"
    assert third.last_completion_result.payloads[0].data == b"one"
    assert glue.restore() == glue.state


# The first task's backoff depends on the second of the minute the run started.
_RUN_SPECIFIC = RUN_SPECIFIC | {"firstWorkflowTaskBackoff"}


def _comparable(event: HistoryEvent) -> dict[str, Any]:
    return comparable(event, _RUN_SPECIFIC)


def test_cron_runs_match_the_dev_server() -> None:
    run1, run2 = load("cron_run1"), load("cron_run2")
    start = run1.events[0].workflow_execution_started_event_attributes
    glue = Glue(workflow_id=start.workflow_id)
    glue.start(
        workflow_type=start.workflow_type.name,
        input=start.input,
        cron_schedule=start.cron_schedule,
        priority=start.priority,
        identity=start.identity,
    )
    assert _comparable(glue.events[0]) == _comparable(run1.events[0])
    first_run = glue.state.run_id  # type: ignore[union-attr]
    glue.fire(DeadlineKind.FIRST_WORKFLOW_TASK_BACKOFF.value)
    result = run1.events[4].workflow_execution_completed_event_attributes.result
    command = WorkflowCommand(command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION)
    command.complete_workflow_execution_command_attributes.result.CopyFrom(result)
    glue.complete_workflow_task(first_task(glue), command)
    closed = glue.older_runs[first_run]
    assert [_comparable(e) for e in closed[1:]] == [_comparable(e) for e in run1.events[1:]]
    assert _comparable(glue.events[0]) == _comparable(run2.events[0])


def test_a_failed_cron_run_with_attempts_left_is_retried_first() -> None:
    glue = Glue()
    glue.start(cron_schedule="* * * * *", retry_policy=RetryPolicy(maximum_attempts=2))
    glue.fire(DeadlineKind.FIRST_WORKFLOW_TASK_BACKOFF.value)
    glue.complete_workflow_task(first_task(glue), _fail())
    retry = glue.events[0].workflow_execution_started_event_attributes
    assert retry.initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY
    assert retry.attempt == 2 and retry.cron_schedule == "* * * * *"
    # The retry fails too, with no attempts left: the schedule's next run follows.
    glue.fire(DeadlineKind.FIRST_WORKFLOW_TASK_BACKOFF.value)
    glue.complete_workflow_task(first_task(glue), _fail())
    following = glue.events[0].workflow_execution_started_event_attributes
    assert following.initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE
    assert following.attempt == 1 and following.continued_failure.message == "boom"
