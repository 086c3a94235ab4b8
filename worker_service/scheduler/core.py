"""The scheduler's state and its pure transitions; the workflow around it does the I/O.

Rules (Temporal's ``service/worker/scheduler/workflow.go``):

- Each wake-up processes the spec's times in ``(last_processed, now]``: a time whose jittered
  instant is older than the catch-up window is counted as missed, a paused schedule or one
  without remaining actions takes nothing, the rest join the buffer with the schedule's
  overlap policy. Triggers and backfills join the buffer as manual starts.
- Scheduled (not manual) starts take one of the remaining actions when the schedule limits
  them, and none while paused.
- Started workflow ids are ``<workflow id>-<nominal time, RFC 3339, UTC, seconds>``; they carry
  TemporalScheduledStartTime and TemporalScheduledById.
- A run that closes failed or timed out pauses the schedule when ``pause_on_failure`` is set.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.api.common.v1 import Payloads, SearchAttributes, WorkflowExecution
from temporalio.api.enums.v1 import (
    ScheduleOverlapPolicy,
    WorkflowExecutionStatus,
    WorkflowIdReusePolicy,
)
from temporalio.api.failure.v1 import Failure
from temporalio.api.schedule.v1 import (
    Schedule,
    ScheduleActionResult,
    ScheduleInfo,
    ScheduleListInfo,
    SchedulePatch,
)
from temporalio.api.workflowservice.v1 import (
    DescribeScheduleResponse,
    ListScheduleMatchingTimesRequest,
    ListScheduleMatchingTimesResponse,
    StartWorkflowExecutionRequest,
    UpdateScheduleRequest,
)
from temporalio.converter import default as default_converter

from schemas.schedules import names
from schemas.schedules.args import BufferedStart, SchedulerArgs, pack, unpack
from schemas.schedules.spec import CompiledSpec
from worker_service.scheduler import buffer

DEFAULT_CATCHUP = timedelta(days=365)
MIN_CATCHUP = timedelta(seconds=10)
RECENT_ACTIONS = 10
RECENT_ACTIONS_FOR_LIST = 5
FUTURE_ACTIONS = 10
FUTURE_ACTIONS_FOR_LIST = 5
MAX_BUFFER = 1000
MAX_MATCHING_TIMES = 1000

_S = WorkflowExecutionStatus
_REUSE = WorkflowIdReusePolicy
_FAILED = (_S.WORKFLOW_EXECUTION_STATUS_FAILED, _S.WORKFLOW_EXECUTION_STATUS_TIMED_OUT)


def rfc3339(t: datetime) -> str:
    """Go's ``time.RFC3339`` of a UTC instant, whole seconds."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """The instant of an ``rfc3339`` text."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


class Scheduler:
    """One schedule's state."""

    def __init__(self, args: SchedulerArgs, now: datetime) -> None:
        self.namespace = args.namespace
        self.schedule_id = args.schedule_id
        self.schedule = unpack(args.schedule, Schedule)
        self.info = unpack(args.info, ScheduleInfo)
        if not self.info.HasField("create_time"):
            self.info.create_time.FromDatetime(now)
        self.conflict_token = args.conflict_token
        self.last_processed = parse_time(args.last_processed) if args.last_processed else now
        self.buffer = list(args.buffer)
        self.last_completion_result = unpack(args.last_completion_result, Payloads)
        self.continued_failure = unpack(args.continued_failure, Failure)
        self.spec = CompiledSpec(self.schedule.spec)
        if args.initial_patch:
            self.apply_patch(unpack(args.initial_patch, SchedulePatch), now)

    def to_args(self) -> SchedulerArgs:
        """The state for the next run (continue-as-new)."""
        return SchedulerArgs(
            namespace=self.namespace,
            schedule_id=self.schedule_id,
            schedule=pack(self.schedule),
            info=pack(self.info),
            conflict_token=self.conflict_token,
            last_processed=rfc3339(self.last_processed),
            buffer=self.buffer,
            last_completion_result=pack(self.last_completion_result)
            if self.last_completion_result.payloads
            else "",
            continued_failure=pack(self.continued_failure)
            if self.continued_failure.ByteSize()
            else "",
        )

    # --- inputs ---

    def apply_patch(self, patch: SchedulePatch, now: datetime) -> None:
        """Trigger, backfill, pause and unpause."""
        if patch.HasField("trigger_immediately"):
            at = rfc3339(now)
            policy = patch.trigger_immediately.overlap_policy
            self._enqueue(BufferedStart(at, at, policy, manual=True))
        for backfill in patch.backfill_request:
            start = backfill.start_time.ToDatetime(UTC)
            end = backfill.end_time.ToDatetime(UTC)
            # The backfill's start is inclusive (Temporal's InclusiveBackfillStartTime).
            for t in self.spec.times(start - timedelta(seconds=1), end, self.seed()):
                self._enqueue(
                    BufferedStart(
                        rfc3339(t.nominal), rfc3339(t.actual), backfill.overlap_policy, True
                    )
                )
        if patch.pause:
            self.schedule.state.paused = True
            self.schedule.state.notes = patch.pause
        if patch.unpause:
            self.schedule.state.paused = False
            self.schedule.state.notes = patch.unpause

    def apply_update(self, request: UpdateScheduleRequest, now: datetime) -> bool:
        """Replaces the schedule unless the conflict token is stale; says whether it did."""
        token = int.from_bytes(request.conflict_token, "big") if request.conflict_token else 0
        if token and token != self.conflict_token:
            return False
        self.schedule.CopyFrom(request.schedule)
        self.spec = CompiledSpec(self.schedule.spec)
        self.info.update_time.FromDatetime(now)
        self.conflict_token += 1
        return True

    def process_time_range(self, now: datetime) -> None:
        """Buffers the spec's actions in ``(last_processed, now]``."""
        catchup = self.catchup_window()
        for t in self.spec.times(self.last_processed, now, self.seed(), limit=MAX_BUFFER):
            if t.actual > now:
                break  # jitter puts it later: the next wake-up takes it
            self.last_processed = t.nominal
            if now - t.actual > catchup:
                self.info.missed_catchup_window += 1
                continue
            self._enqueue(BufferedStart(rfc3339(t.nominal), rfc3339(t.actual)))
        else:
            self.last_processed = max(self.last_processed, now)

    def _enqueue(self, start: BufferedStart) -> None:
        if len(self.buffer) >= MAX_BUFFER:
            self.info.buffer_dropped += 1
            return
        self.buffer.append(start)

    def can_take(self, start: BufferedStart, decrement: bool) -> bool:
        """Whether a start may run: manual ones always; scheduled ones per pause and limit."""
        if start.manual:
            return True
        state = self.schedule.state
        if state.paused:
            return False
        if state.limited_actions:
            if state.remaining_actions <= 0:
                return False
            if decrement:
                state.remaining_actions -= 1
        return True

    def plan(self) -> buffer.BufferPlan:
        """Applies the overlap policies to the buffer; the caller starts what the plan says."""
        runnable = [s for s in self.buffer if s.manual or self.can_take(s, decrement=False)]
        result = buffer.plan(
            runnable, bool(self.info.running_workflows), self.schedule.policies.overlap_policy
        )
        self.buffer = result.buffer
        self.info.overlap_skipped += result.skipped
        self.info.buffer_size = len(self.buffer)
        return result

    def start_request(self, start: BufferedStart, request_id: str) -> StartWorkflowExecutionRequest:
        """The StartWorkflowExecution of an action."""
        action = self.schedule.action.start_workflow
        allow_all = (
            buffer.resolve(start.overlap_policy, self.schedule.policies.overlap_policy)
            == ScheduleOverlapPolicy.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL
        )
        attributes = SearchAttributes()
        attributes.CopyFrom(action.search_attributes)
        converter = default_converter().payload_converter
        attributes.indexed_fields[names.SCHEDULED_START_TIME].CopyFrom(
            converter.to_payloads([start.nominal])[0]
        )
        attributes.indexed_fields[names.SCHEDULED_START_TIME].metadata["type"] = b"Datetime"
        attributes.indexed_fields[names.SCHEDULED_BY_ID].CopyFrom(
            converter.to_payloads([self.schedule_id])[0]
        )
        attributes.indexed_fields[names.SCHEDULED_BY_ID].metadata["type"] = b"Keyword"
        request = StartWorkflowExecutionRequest(
            namespace=self.namespace,
            workflow_id=f"{action.workflow_id}-{start.nominal}",
            workflow_type=action.workflow_type,
            task_queue=action.task_queue,
            input=action.input,
            workflow_execution_timeout=action.workflow_execution_timeout,
            workflow_run_timeout=action.workflow_run_timeout,
            workflow_task_timeout=action.workflow_task_timeout,
            identity=f"temporal-scheduler-{self.namespace}-{self.schedule_id}",
            request_id=request_id,
            # Scheduled starts reject duplicates, so a retried start never runs twice.
            workflow_id_reuse_policy=_REUSE.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
            if start.manual
            else _REUSE.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
            retry_policy=action.retry_policy,
            memo=action.memo,
            search_attributes=attributes,
            header=action.header,
            user_metadata=action.user_metadata,
        )
        if not allow_all:
            if self.last_completion_result.payloads:
                request.last_completion_result.CopyFrom(self.last_completion_result)
            if self.continued_failure.ByteSize():
                request.continued_failure.CopyFrom(self.continued_failure)
        if not action.HasField("retry_policy"):
            request.ClearField("retry_policy")
        return request

    def record_action(
        self, start: BufferedStart, execution: WorkflowExecution, started: datetime, tracked: bool
    ) -> None:
        """Counts a started workflow; tracked ones are watched for overlap and failures."""
        self.info.action_count += 1
        result = ScheduleActionResult(
            start_workflow_result=execution,
            start_workflow_status=_S.WORKFLOW_EXECUTION_STATUS_RUNNING,
        )
        result.schedule_time.FromDatetime(parse_time(start.actual))
        result.actual_time.FromDatetime(started)
        self.info.recent_actions.append(result)
        del self.info.recent_actions[:-RECENT_ACTIONS]
        if tracked:
            self.info.running_workflows.append(execution)

    def record_close(
        self,
        execution: WorkflowExecution,
        status: int,
        result: Payloads | None,
        failure: Failure | None,
    ) -> None:
        """A tracked workflow closed: its status, the last result or failure, pause on failure."""
        kept = [w for w in self.info.running_workflows if w.run_id != execution.run_id]
        del self.info.running_workflows[:]
        self.info.running_workflows.extend(kept)
        for action in self.info.recent_actions:
            if action.start_workflow_result.run_id == execution.run_id:
                action.start_workflow_status = status  # type: ignore[assignment]
        if status == _S.WORKFLOW_EXECUTION_STATUS_COMPLETED and result is not None:
            self.last_completion_result.CopyFrom(result)
            self.continued_failure.Clear()
        elif status in _FAILED and failure is not None:
            self.continued_failure.CopyFrom(failure)
        state = self.schedule.state
        if status in _FAILED and self.schedule.policies.pause_on_failure and not state.paused:
            state.paused = True
            if status == _S.WORKFLOW_EXECUTION_STATUS_FAILED:
                message = failure.message if failure is not None else ""
                state.notes = f"paused due to workflow failure: {execution.workflow_id}: {message}"
            else:
                state.notes = f"paused due to workflow timeout: {execution.workflow_id}"
            self.conflict_token += 1

    # --- outputs ---

    def seed(self) -> str:
        """The jitter seed: stable per schedule."""
        return f"{self.namespace}|{self.schedule_id}"

    def catchup_window(self) -> timedelta:
        """The schedule's catch-up window (at least 10 s; 365 days when unset)."""
        policies = self.schedule.policies
        if not policies.HasField("catchup_window"):
            return DEFAULT_CATCHUP
        return max(policies.catchup_window.ToTimedelta(), MIN_CATCHUP)

    def future_times(self, now: datetime, count: int) -> list[datetime]:
        """The next ``count`` action times (after jitter) within the action limit.

        A paused schedule still shows its times, as Temporal's Describe does.
        """
        state = self.schedule.state
        if state.limited_actions:
            count = min(count, max(state.remaining_actions, 0))
        out: list[datetime] = []
        t = max(now, self.last_processed)
        while len(out) < count:
            nxt = self.spec.next_time(t, self.seed())
            if nxt is None:
                break
            out.append(nxt.actual)
            t = nxt.nominal
        return out

    def next_wakeup(self, now: datetime) -> datetime | None:
        """When the next scheduled action is due; None when there is none or it is paused."""
        if self.schedule.state.paused:
            return None  # a signal (unpause, trigger, update) wakes the scheduler
        times = self.future_times(now, 1)
        return times[0] if times else None

    def describe(self, now: datetime) -> DescribeScheduleResponse:
        """The answer of the describe query (memo and search attributes come from the frontend)."""
        info = ScheduleInfo()
        info.CopyFrom(self.info)
        del info.future_action_times[:]
        for t in self.future_times(now, FUTURE_ACTIONS):
            info.future_action_times.add().FromDatetime(t)
        info.buffer_size = len(self.buffer)
        return DescribeScheduleResponse(
            schedule=self.schedule,
            info=info,
            conflict_token=self.conflict_token.to_bytes(8, "big"),
        )

    def list_info(self, now: datetime) -> ScheduleListInfo:
        """What ListSchedules shows, kept in the memo."""
        out = ScheduleListInfo(
            spec=self.schedule.spec,
            workflow_type=self.schedule.action.start_workflow.workflow_type,
            notes=self.schedule.state.notes,
            paused=self.schedule.state.paused,
            recent_actions=self.info.recent_actions[-RECENT_ACTIONS_FOR_LIST:],
        )
        for t in self.future_times(now, FUTURE_ACTIONS_FOR_LIST):
            out.future_action_times.add().FromDatetime(t)
        return out

    def matching_times(
        self, request: ListScheduleMatchingTimesRequest
    ) -> ListScheduleMatchingTimesResponse:
        """The spec's action times in ``[start, end]``."""
        return matching_times(self.spec, request, self.seed())


def matching_times(
    spec: CompiledSpec, request: ListScheduleMatchingTimesRequest, seed: str
) -> ListScheduleMatchingTimesResponse:
    """A spec's (jittered) action times from ``start_time`` (exclusive) to ``end_time``."""
    start = request.start_time.ToDatetime(UTC)
    end = request.end_time.ToDatetime(UTC)
    out = ListScheduleMatchingTimesResponse()
    for t in spec.times(start, end, seed, limit=MAX_MATCHING_TIMES):
        out.start_time.add().FromDatetime(t.actual)
    return out
