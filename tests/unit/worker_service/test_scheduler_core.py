"""The scheduler's pure rules: overlap policies, catch-up window, pause, limits, backfill ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import Payload, Payloads, WorkflowExecution
from temporalio.api.enums.v1 import ScheduleOverlapPolicy, WorkflowExecutionStatus
from temporalio.api.failure.v1 import Failure
from temporalio.api.schedule.v1 import (
    BackfillRequest,
    IntervalSpec,
    Schedule,
    SchedulePatch,
    ScheduleSpec,
    TriggerImmediatelyRequest,
)
from temporalio.api.workflowservice.v1 import UpdateScheduleRequest

from schemas.schedules.args import BufferedStart, SchedulerArgs, pack
from schemas.schedules.spec import canonicalize
from worker_service.scheduler import buffer
from worker_service.scheduler.core import Scheduler

P = ScheduleOverlapPolicy
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _start(n: int, policy: int = 0) -> BufferedStart:
    return BufferedStart(f"t{n}", f"t{n}", policy)


def test_skip_drops_starts_while_running() -> None:
    plan = buffer.plan([_start(1), _start(2)], running=True, default=0)
    assert plan.start is None and plan.buffer == [] and plan.skipped == 2


def test_nothing_running_starts_the_first_and_applies_the_policy_to_the_rest() -> None:
    plan = buffer.plan(
        [_start(1), _start(2), _start(3)],
        running=False,
        default=P.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
    )
    assert plan.start == _start(1)
    assert plan.buffer == [_start(2)] and plan.skipped == 1


def test_buffer_all_keeps_everything() -> None:
    plan = buffer.plan(
        [_start(1), _start(2)], running=True, default=P.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL
    )
    assert plan.buffer == [_start(1), _start(2)] and plan.skipped == 0


def test_cancel_and_terminate_other_ask_to_stop_the_running_one() -> None:
    plan = buffer.plan([_start(1)], running=True, default=P.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER)
    assert plan.cancel and not plan.terminate and plan.buffer == [_start(1)]
    plan = buffer.plan([_start(1)], running=True, default=P.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER)
    assert plan.terminate and plan.buffer == [_start(1)]


def test_allow_all_starts_everything_unless_others_are_stopped() -> None:
    allow = P.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL
    plan = buffer.plan([_start(1, allow), _start(2, allow)], running=True, default=0)
    assert plan.overlapping == [_start(1, allow), _start(2, allow)]
    cancel = P.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER
    plan = buffer.plan([_start(1, allow), _start(2, cancel)], running=True, default=0)
    assert plan.overlapping == [] and plan.cancel


def _scheduler(every_s: int = 60, **policies: object) -> Scheduler:
    schedule = Schedule(
        spec=canonicalize(ScheduleSpec(interval=[IntervalSpec(interval=Duration(seconds=every_s))]))
    )
    schedule.action.start_workflow.workflow_id = "wf"
    schedule.action.start_workflow.workflow_type.name = "W"
    schedule.action.start_workflow.task_queue.name = "tq"
    for name, value in policies.items():
        if name == "catchup_window":
            schedule.policies.catchup_window.FromTimedelta(value)  # type: ignore[arg-type]
        else:
            setattr(schedule.policies, name, value)
    args = SchedulerArgs(namespace="default", schedule_id="s", schedule=pack(schedule))
    return Scheduler(args, T0)


def test_time_range_buffers_due_actions() -> None:
    s = _scheduler()
    s.process_time_range(T0 + timedelta(minutes=3))
    assert [b.nominal for b in s.buffer] == [
        "2026-01-01T00:01:00Z",
        "2026-01-01T00:02:00Z",
        "2026-01-01T00:03:00Z",
    ]
    s.process_time_range(T0 + timedelta(minutes=3, seconds=30))
    assert len(s.buffer) == 3  # nothing new


def test_catchup_window_counts_old_actions_as_missed() -> None:
    s = _scheduler(catchup_window=timedelta(seconds=90))
    s.process_time_range(T0 + timedelta(minutes=5))
    assert [b.nominal for b in s.buffer] == ["2026-01-01T00:04:00Z", "2026-01-01T00:05:00Z"]
    assert s.info.missed_catchup_window == 3


def test_paused_takes_scheduled_starts_but_not_triggers() -> None:
    s = _scheduler()
    s.apply_patch(SchedulePatch(pause="stop"), T0)
    assert s.schedule.state.paused and s.schedule.state.notes == "stop"
    s.apply_patch(SchedulePatch(trigger_immediately=TriggerImmediatelyRequest()), T0)
    s.process_time_range(T0 + timedelta(minutes=1))
    plan = s.plan()
    assert plan.start is not None and plan.start.manual
    assert len(s.future_times(T0, 3)) == 3  # shown, as Temporal's Describe does
    assert s.next_wakeup(T0) is None


def test_remaining_actions_limit() -> None:
    s = _scheduler()
    s.schedule.state.limited_actions = True
    s.schedule.state.remaining_actions = 1
    s.process_time_range(T0 + timedelta(minutes=2))
    first, second = s.buffer
    assert s.can_take(first, decrement=True)
    assert not s.can_take(second, decrement=True)
    assert s.future_times(T0, 5) == []


def test_start_request_names_the_nominal_time_and_the_schedule() -> None:
    s = _scheduler()
    request = s.start_request(BufferedStart("2026-01-01T00:01:00Z", "2026-01-01T00:01:02Z"), "r")
    assert request.workflow_id == "wf-2026-01-01T00:01:00Z"
    fields = request.search_attributes.indexed_fields
    assert fields["TemporalScheduledById"].data == b'"s"'
    assert fields["TemporalScheduledStartTime"].data == b'"2026-01-01T00:01:00Z"'


def test_backfill_is_inclusive_of_its_start() -> None:
    s = _scheduler()
    backfill = BackfillRequest(overlap_policy=P.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)
    backfill.start_time.FromDatetime(datetime(2025, 6, 1, 10, 0))
    backfill.end_time.FromDatetime(datetime(2025, 6, 1, 10, 2))
    s.apply_patch(SchedulePatch(backfill_request=[backfill]), T0)
    assert [b.nominal for b in s.buffer] == [
        "2025-06-01T10:00:00Z",
        "2025-06-01T10:01:00Z",
        "2025-06-01T10:02:00Z",
    ]
    assert all(b.manual for b in s.buffer)


def test_pause_on_failure_and_last_completion_result() -> None:
    s = _scheduler(pause_on_failure=True)
    done = WorkflowExecution(workflow_id="wf-a", run_id="r1")
    s.record_action(BufferedStart("2026-01-01T00:01:00Z", "2026-01-01T00:01:00Z"), done, T0, True)
    result = Payloads(payloads=[Payload(data=b"1")])
    s.record_close(done, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED, result, None)
    assert not s.schedule.state.paused and s.last_completion_result == result
    # The next run gets it, as a cron run does.
    request = s.start_request(BufferedStart("2026-01-01T00:02:00Z", "2026-01-01T00:02:00Z"), "r")
    assert request.last_completion_result == result
    failed = WorkflowExecution(workflow_id="wf-b", run_id="r2")
    s.record_action(BufferedStart("2026-01-01T00:02:00Z", "2026-01-01T00:02:00Z"), failed, T0, True)
    s.record_close(
        failed, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED, None, Failure(message="x")
    )
    assert s.schedule.state.paused
    assert s.schedule.state.notes == "paused due to workflow failure: wf-b: x"
    assert s.conflict_token == 2
    assert list(s.info.running_workflows) == []
    statuses = [a.start_workflow_status for a in s.info.recent_actions]
    assert statuses == [
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED,
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED,
    ]


def test_update_checks_the_conflict_token_and_survives_continue_as_new() -> None:
    s = _scheduler()
    new = Schedule()
    new.CopyFrom(s.schedule)
    new.spec.interval[0].interval.seconds = 120
    assert not s.apply_update(
        UpdateScheduleRequest(schedule=new, conflict_token=(7).to_bytes(8, "big")), T0
    )
    assert s.apply_update(
        UpdateScheduleRequest(schedule=new, conflict_token=(1).to_bytes(8, "big")), T0
    )
    assert s.conflict_token == 2
    again = Scheduler(s.to_args(), T0)
    assert again.conflict_token == 2
    assert again.schedule.spec.interval[0].interval.seconds == 120
    assert again.future_times(T0, 2) == [T0 + timedelta(minutes=2), T0 + timedelta(minutes=4)]
