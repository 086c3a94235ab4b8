"""The scheduler workflow (Temporal's ``temporal-sys-scheduler-workflow``), run on the SDK.

One run per schedule, started by the frontend's CreateSchedule. It sleeps until the next
action, a signal (``patch``: trigger, backfill, pause, unpause; ``update``: a new schedule;
``refresh``) or the close of a workflow it watches; then takes the due actions with local
activities. Describe and ListScheduleMatchingTimes are queries; the memo keeps the list info.
It continues as new every ``ITERATIONS_PER_RUN`` wake-ups, or when the server suggests it.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.api.common.v1 import Payloads, SearchAttributes, WorkflowExecution
from temporalio.api.failure.v1 import Failure
from temporalio.api.schedule.v1 import SchedulePatch
from temporalio.api.workflowservice.v1 import (
    DescribeScheduleResponse,
    ListScheduleMatchingTimesRequest,
    ListScheduleMatchingTimesResponse,
    UpdateScheduleRequest,
)
from temporalio.common import SearchAttributeUpdate
from temporalio.converter import decode_typed_search_attributes

from schemas.schedules import names
from schemas.schedules.args import BufferedStart, SchedulerArgs, unpack
from worker_service.scheduler.activities import Closed, SchedulerActivities, Started
from worker_service.scheduler.core import Scheduler

_SYSTEM = frozenset({"BinaryChecksums", "BuildIds"})
ITERATIONS_PER_RUN = 100
"""Wake-ups per run before continue-as-new keeps the history short."""
_LOCAL = timedelta(seconds=60)
_RUNNING = 1


# Not sandboxed: the module is Strom's own, deterministic code (time and ids come from
# ``workflow``), and re-importing it for every run would only cost time.
@workflow.defn(name=names.WORKFLOW_TYPE, sandboxed=False)
class SchedulerWorkflow:
    """Runs one schedule."""

    def __init__(self) -> None:
        self._patches: list[SchedulePatch] = []
        self._updates: list[UpdateScheduleRequest] = []
        self._wake = False
        self._force_can = False
        self._s: Scheduler | None = None
        self._watch: asyncio.Task[Closed] | None = None
        self._watching: WorkflowExecution | None = None

    @workflow.run
    async def run(self, args: SchedulerArgs) -> None:
        """Loops until deleted (terminated) or until it continues as new."""
        self._s = s = Scheduler(args, workflow.now())
        for iteration in range(ITERATIONS_PER_RUN):
            now = workflow.now()
            while self._patches or self._updates:
                if self._updates:
                    update = self._updates.pop(0)
                    if s.apply_update(update, now) and update.HasField("search_attributes"):
                        _replace_search_attributes(update.search_attributes)
                if self._patches:
                    s.apply_patch(self._patches.pop(0), now)
            s.process_time_range(now)
            await self._process_buffer()
            self._upsert_memo()
            if (
                self._force_can
                or iteration == ITERATIONS_PER_RUN - 1
                or workflow.info().is_continue_as_new_suggested()
            ):
                break
            self._ensure_watcher()
            wakeup = s.next_wakeup(workflow.now())
            timeout = None
            if wakeup is not None:
                timeout = max((wakeup - workflow.now()).total_seconds(), 0.001)
            self._wake = False
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._wake or bool(self._patches or self._updates), timeout=timeout
                )
            await self._collect_watcher()
        if self._watch is not None:
            self._watch.cancel()
        # Memo and search attributes go on explicitly: the list info and the namespace
        # division must survive, or the schedule would leave ListSchedules.
        workflow.continue_as_new(
            s.to_args(),
            memo=dict(workflow.memo()),
            search_attributes=workflow.info().typed_search_attributes,
        )

    async def _process_buffer(self) -> None:
        s = self._scheduler()
        terminated = False
        while s.buffer:
            if s.info.running_workflows:
                await self._refresh()
            plan = s.plan()
            started_any = False
            for start in plan.overlapping:
                if s.can_take(start, decrement=True):
                    await self._start(start, tracked=False)
            if plan.start is not None and s.can_take(plan.start, decrement=True):
                started_any = await self._start(plan.start, tracked=True)
            for execution in list(s.info.running_workflows):
                if plan.cancel or plan.terminate:
                    name = "terminate_workflow" if plan.terminate else "cancel_workflow"
                    await workflow.execute_local_activity_method(
                        getattr(SchedulerActivities, name),
                        args=[s.namespace, execution],
                        start_to_close_timeout=_LOCAL,
                    )
            if plan.terminate and not terminated:
                terminated = True
                continue  # terminated at once: the buffered start may go now
            if not started_any:
                break

    async def _start(self, start: BufferedStart, tracked: bool) -> bool:
        s = self._scheduler()
        request = s.start_request(start, str(workflow.uuid4()))
        started: Started = await workflow.execute_local_activity_method(
            SchedulerActivities.start_workflow,
            request,
            start_to_close_timeout=_LOCAL,
        )
        if started.already_started:
            return False
        execution = WorkflowExecution(workflow_id=request.workflow_id, run_id=started.run_id)
        s.record_action(start, execution, workflow.now(), tracked)
        return tracked

    async def _refresh(self) -> None:
        """Drops running workflows that closed meanwhile (needed before an overlap decision)."""
        s = self._scheduler()
        for execution in list(s.info.running_workflows):
            closed: Closed = await workflow.execute_local_activity_method(
                SchedulerActivities.watch_workflow,
                args=[s.namespace, execution, False],
                start_to_close_timeout=_LOCAL,
            )
            self._record_close(execution, closed)

    def _record_close(self, execution: WorkflowExecution, closed: Closed) -> None:
        if closed.status == _RUNNING:
            return
        self._scheduler().record_close(
            execution,
            closed.status,
            unpack(closed.result, Payloads) if closed.result else None,
            unpack(closed.failure, Failure) if closed.failure else None,
        )

    def _ensure_watcher(self) -> None:
        """Watches the oldest running workflow, for overlap waits and pause on failure."""
        s = self._scheduler()
        if self._watch is not None or not s.info.running_workflows:
            return
        execution = WorkflowExecution()
        execution.CopyFrom(s.info.running_workflows[0])
        self._watching = execution

        async def watch() -> Closed:
            closed: Closed = await workflow.execute_activity_method(
                SchedulerActivities.watch_workflow,
                args=[s.namespace, execution, True],
                start_to_close_timeout=timedelta(minutes=2),
                task_queue=names.TASK_QUEUE,
            )
            self._wake = True
            return closed

        self._watch = asyncio.create_task(watch())

    async def _collect_watcher(self) -> None:
        if self._watch is None or not self._watch.done():
            return
        task, execution = self._watch, self._watching
        self._watch, self._watching = None, None
        try:
            closed = task.result()
        except Exception:
            workflow.logger.warning("schedule watcher failed", exc_info=True)
            return
        if execution is not None:
            self._record_close(execution, closed)

    def _upsert_memo(self) -> None:
        s = self._scheduler()
        info = s.list_info(workflow.now()).SerializeToString()
        current = workflow.memo_value(names.MEMO_INFO, None, type_hint=bytes)
        if current != info:
            workflow.upsert_memo({names.MEMO_INFO: info})

    def _scheduler(self) -> Scheduler:
        assert self._s is not None, "the run has not started"
        return self._s

    @workflow.signal(name=names.SIGNAL_PATCH)
    def patch(self, patch: SchedulePatch) -> None:
        """Trigger, backfill, pause or unpause."""
        self._patches.append(patch)

    @workflow.signal(name=names.SIGNAL_UPDATE)
    def update(self, request: UpdateScheduleRequest) -> None:
        """A new schedule (its spec already canonical)."""
        self._updates.append(request)

    @workflow.signal(name=names.SIGNAL_REFRESH)
    def refresh(self) -> None:
        """Wakes the loop."""
        self._wake = True

    @workflow.signal(name=names.SIGNAL_FORCE_CAN)
    def force_continue_as_new(self) -> None:
        """Continues as new at the next wake-up (Temporal's operator signal)."""
        self._force_can = True
        self._wake = True

    @workflow.query(name=names.QUERY_DESCRIBE)
    def describe(self) -> DescribeScheduleResponse:
        """The schedule, its info and conflict token."""
        return self._scheduler().describe(workflow.now())

    @workflow.query(name=names.QUERY_MATCHING_TIMES)
    def matching_times(
        self, request: ListScheduleMatchingTimesRequest
    ) -> ListScheduleMatchingTimesResponse:
        """The spec's action times in a range."""
        return self._scheduler().matching_times(request)


def _replace_search_attributes(wanted: SearchAttributes) -> None:
    """Makes the schedule's own search attributes those of an update (Temporal's rule: the
    server's own ``Temporal*`` attributes stay, others not named are removed)."""
    new = decode_typed_search_attributes(wanted)
    updates: list[SearchAttributeUpdate[Any]] = [
        pair.key.value_set(pair.value) for pair in new.search_attributes
    ]
    names_wanted = {pair.key.name for pair in new.search_attributes}
    for pair in workflow.info().typed_search_attributes.search_attributes:
        name = pair.key.name
        if name not in names_wanted and not name.startswith("Temporal") and name not in _SYSTEM:
            updates.append(pair.key.value_unset())
    if updates:
        workflow.upsert_search_attributes(updates)
