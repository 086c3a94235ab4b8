"""Schedules through the official SDK's ScheduleHandle, on Strom and on the dev server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import ListScheduleMatchingTimesRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleBackfill,
    ScheduleCalendarSpec,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowExecutionStatus,
    WorkflowFailureError,
)
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.helpers import eventually_async
from tests.integration.workflows.conftest import Server
from tests.workflows.scheduled import ScheduledEcho, ScheduledWaiter

pytestmark = [pytest.mark.timeout(300)]  # the first test also waits for the session's servers

SCHEDULED_BY = SearchAttributeKey.for_keyword("TemporalScheduledById")
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
HOURLY_FAR = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(days=7))])
"""A spec whose next action is days away: the test's own triggers are the only actions."""


@pytest_asyncio.fixture
async def env(server: Server) -> AsyncIterator[tuple[Server, str]]:
    task_queue = server.task_queue()
    async with Worker(
        server.client, task_queue=task_queue, workflows=[ScheduledEcho, ScheduledWaiter]
    ):
        yield server, task_queue


def _sid() -> str:
    return f"sched-{uuid.uuid4().hex[:10]}"


async def _create(
    client: Client,
    task_queue: str,
    spec: ScheduleSpec = HOURLY_FAR,
    workflow: object = ScheduledEcho.run,
    arg: str = "x",
    **kwargs: object,
) -> tuple[ScheduleHandle, str, str]:
    sid = _sid()
    workflow_id = f"wf-{sid}"
    handle = await client.create_schedule(
        sid,
        Schedule(
            action=ScheduleActionStartWorkflow(
                workflow,  # type: ignore[arg-type]
                arg,
                id=workflow_id,
                task_queue=task_queue,
            ),
            spec=spec,
            **kwargs,  # type: ignore[arg-type]
        ),
    )
    return handle, sid, workflow_id


def _running(handle: ScheduleHandle) -> Callable[[], Awaitable[list[tuple[str, str]]]]:
    """The schedule's running actions, as (workflow id, first run id) pairs."""

    async def running() -> list[tuple[str, str]]:
        info = (await handle.describe()).info
        return [(a.workflow_id, a.first_execution_run_id) for a in info.running_actions]

    return running


async def _replacement(
    server: Server, handle: ScheduleHandle, sid: str, first: tuple[str, str]
) -> tuple[str, str]:
    """The run an overlap policy started in place of `first`, once the schedule lists it alone.

    The schedule's view is refreshed asynchronously: it may list both runs for a moment. In full
    CI runs (never alone, nor with this module alone) the dev server three times showed no
    replacement for 60 s or longer, with TERMINATE_OTHER and with CANCEL_OTHER; its variant then
    xfails with the scheduler's last events as the reason, and Strom's variant stays strict.
    """
    running = _running(handle)

    async def replaced() -> list[tuple[str, str]]:
        ids = await running()
        return ids if len(ids) == 1 and ids != [first] else []

    try:
        [after] = await eventually_async(replaced, timeout=60, interval=0.5)
    except AssertionError:
        if server.kind != "temporal":
            raise
        scheduler = server.client.get_workflow_handle(f"temporal-sys-scheduler:{sid}")
        events = [e async for e in scheduler.fetch_history_events()]
        tail = ", ".join(EventType.Name(e.event_type) for e in events[-12:])
        listed = await running()
        pytest.xfail(f"the dev server started no replacement in 60 s; lists {listed}; {tail}")
    return after


async def test_create_describe_trigger_list_delete(env: tuple[Server, str]) -> None:
    server, task_queue = env
    client = server.client
    spec = ScheduleSpec(
        intervals=[ScheduleIntervalSpec(every=timedelta(days=7))],
        cron_expressions=["30 9 * * mon-fri"],
    )
    handle, sid, workflow_id = await _create(client, task_queue, spec)
    described = await handle.describe()
    # Cron strings come back as Temporal's canonical calendars.
    assert described.schedule.spec.cron_expressions == []
    [cal] = described.schedule.spec.calendars
    assert cal.minute == (ScheduleRange(30, 30, 1),)
    assert cal.hour == (ScheduleRange(9, 9, 1),)
    assert cal.day_of_week == (ScheduleRange(1, 5, 1),)
    assert cal.second == (ScheduleRange(0, 0, 1),)
    assert len(described.info.next_action_times) == 10
    assert described.info.num_actions == 0

    await handle.trigger()

    async def one_action() -> bool:
        info = (await handle.describe()).info
        return info.num_actions == 1 and len(info.recent_actions) == 1

    await eventually_async(one_action, timeout=30)
    action = (await handle.describe()).info.recent_actions[0].action
    assert action.workflow_id.startswith(f"{workflow_id}-")  # type: ignore[attr-defined]
    nominal = action.workflow_id.removeprefix(f"{workflow_id}-")  # type: ignore[attr-defined]
    assert datetime.strptime(nominal, "%Y-%m-%dT%H:%M:%SZ")
    started = client.get_workflow_handle(action.workflow_id)  # type: ignore[attr-defined]
    assert await started.result() == "echo x"
    attributes = (await started.describe()).typed_search_attributes
    assert attributes.get(SCHEDULED_BY) == sid
    assert attributes.get(SCHEDULED_START) == datetime.strptime(
        nominal, "%Y-%m-%dT%H:%M:%SZ"
    ).replace(tzinfo=UTC)

    async def listed() -> bool:
        return any([s.id == sid async for s in await client.list_schedules()])

    await eventually_async(listed, timeout=30)
    # The scheduler workflow is a system workflow: a user's list never shows it.
    user_list = [
        w.id
        async for w in client.list_workflows(
            f"WorkflowId STARTS_WITH 'temporal-sys-scheduler:{sid}'"
        )
    ]
    assert user_list == []

    await handle.delete()
    with pytest.raises(RPCError) as err:
        await handle.describe()
    assert err.value.status == RPCStatusCode.NOT_FOUND
    with pytest.raises(RPCError) as err:
        await handle.delete()
    assert err.value.status == RPCStatusCode.NOT_FOUND


async def test_create_twice_is_already_exists(env: tuple[Server, str]) -> None:
    server, task_queue = env
    handle, sid, _workflow_id = await _create(server.client, task_queue)
    try:
        from temporalio.client import ScheduleAlreadyRunningError

        with pytest.raises(ScheduleAlreadyRunningError):
            await server.client.create_schedule(sid, (await handle.describe()).schedule)
    finally:
        await handle.delete()


async def test_interval_takes_actions_on_its_own(env: tuple[Server, str]) -> None:
    server, task_queue = env
    spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=2))])
    handle, _, workflow_id = await _create(server.client, task_queue, spec)
    try:

        async def two_actions() -> bool:
            return (await handle.describe()).info.num_actions >= 2

        await eventually_async(two_actions, timeout=40, interval=0.5)
        info = (await handle.describe()).info
        for result in info.recent_actions:
            wid = result.action.workflow_id  # type: ignore[attr-defined]
            nominal = datetime.strptime(wid.removeprefix(f"{workflow_id}-"), "%Y-%m-%dT%H:%M:%SZ")
            assert nominal.second % 2 == 0
            assert result.scheduled_at.replace(tzinfo=None) == nominal
    finally:
        await handle.delete()


async def test_skip_overlap_drops_an_action_while_one_runs(env: tuple[Server, str]) -> None:
    server, task_queue = env
    handle, _, _ = await _create(server.client, task_queue, workflow=ScheduledWaiter.run)
    try:
        await handle.trigger()

        async def running() -> list[str]:
            info = (await handle.describe()).info
            return [a.workflow_id for a in info.running_actions]

        [first] = await eventually_async(running, timeout=30)
        await handle.trigger()  # the default policy, SKIP

        async def skipped() -> bool:
            return (await handle.describe()).info.num_actions_skipped_overlap == 1

        await eventually_async(skipped, timeout=30)
        info = (await handle.describe()).info
        assert info.num_actions == 1
        await server.client.get_workflow_handle(first).signal(ScheduledWaiter.release)
        assert await server.client.get_workflow_handle(first).result() == "x"

        async def closed() -> bool:
            info = (await handle.describe()).info
            return not info.running_actions

        await eventually_async(closed, timeout=60, interval=0.5)
        recent = (await handle.describe()).raw_description.info.recent_actions
        assert recent[-1].start_workflow_status == WorkflowExecutionStatus.COMPLETED
    finally:
        await handle.delete()


async def test_buffer_one_starts_the_next_when_the_first_closes(env: tuple[Server, str]) -> None:
    server, task_queue = env
    handle, _, _ = await _create(
        server.client,
        task_queue,
        workflow=ScheduledWaiter.run,
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.BUFFER_ONE),
    )
    try:
        await handle.trigger()

        async def running() -> list[tuple[str, str]]:
            # Two triggers in one second share a workflow id: runs tell them apart.
            info = (await handle.describe()).info
            return [(a.workflow_id, a.first_execution_run_id) for a in info.running_actions]

        [first] = await eventually_async(running, timeout=30)
        # The buffered action's id names its second: in another second than the first's, it
        # is not a start of the id the first run closes just before (Temporal may refuse a
        # start of the same id within a second of the last one).
        await asyncio.sleep(1.1)
        await handle.trigger()
        await handle.trigger()

        async def buffered() -> bool:
            info = (await handle.describe()).info
            return info.num_actions_skipped_overlap == 1

        await eventually_async(buffered, timeout=30)
        await server.client.get_workflow_handle(first[0], run_id=first[1]).signal(
            ScheduledWaiter.release
        )

        async def second() -> list[tuple[str, str]]:
            ids = await running()
            return ids if ids and ids != [first] else []

        [after] = await eventually_async(second, timeout=60, interval=0.5)
        assert after != first
        assert (await handle.describe()).info.num_actions == 2
        await server.client.get_workflow_handle(after[0], run_id=after[1]).signal(
            ScheduledWaiter.release
        )
    finally:
        await handle.delete()


async def test_pause_unpause_and_update(env: tuple[Server, str]) -> None:
    server, task_queue = env
    handle, _, _ = await _create(server.client, task_queue)
    try:
        await handle.pause(note="maintenance")

        async def paused() -> bool:
            state = (await handle.describe()).schedule.state
            return state.paused and state.note == "maintenance"

        await eventually_async(paused, timeout=30)
        # Temporal still shows the times a paused schedule would take.
        assert len((await handle.describe()).info.next_action_times) == 10
        await handle.unpause(note="back")

        async def unpaused() -> bool:
            state = (await handle.describe()).schedule.state
            return not state.paused and state.note == "back"

        await eventually_async(unpaused, timeout=30)

        def change(update: ScheduleUpdateInput) -> ScheduleUpdate:
            schedule = update.description.schedule
            schedule.spec = ScheduleSpec(
                calendars=[
                    ScheduleCalendarSpec(hour=[ScheduleRange(3)], minute=[ScheduleRange(15)])
                ]
            )
            return ScheduleUpdate(schedule=schedule)

        await handle.update(change)

        async def updated() -> bool:
            described = await handle.describe()
            return bool(described.schedule.spec.calendars) and not described.schedule.spec.intervals

        await eventually_async(updated, timeout=30)
        times = (await handle.describe()).info.next_action_times
        assert times and all((t.hour, t.minute, t.second) == (3, 15, 0) for t in times)
    finally:
        await handle.delete()


async def test_backfill_starts_each_time_in_the_range(env: tuple[Server, str]) -> None:
    server, task_queue = env
    spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=1))])
    handle, _, workflow_id = await _create(
        server.client, task_queue, spec, state=ScheduleState(paused=True)
    )
    try:
        start = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
        await handle.backfill(
            ScheduleBackfill(
                start_at=start,
                end_at=start + timedelta(minutes=2),
                overlap=ScheduleOverlapPolicy.ALLOW_ALL,
            )
        )
        expected = {f"{workflow_id}-2026-01-01T10:0{m}:00Z" for m in range(3)}

        async def started() -> set[str]:
            found = {
                w.id
                async for w in server.client.list_workflows(
                    f"WorkflowId STARTS_WITH '{workflow_id}-'"
                )
            }
            return found if found >= expected else set()

        assert await eventually_async(started, timeout=40, interval=0.5) == expected
    finally:
        await handle.delete()


async def test_list_matching_times(env: tuple[Server, str]) -> None:
    server, task_queue = env
    spec = ScheduleSpec(
        cron_expressions=["CRON_TZ=America/New_York 0 9 * * *"],
        intervals=[],
    )
    handle, sid, _ = await _create(server.client, task_queue, spec)
    try:
        request = ListScheduleMatchingTimesRequest(namespace="default", schedule_id=sid)
        request.start_time.FromDatetime(datetime(2026, 3, 6, 12))
        request.end_time.FromDatetime(datetime(2026, 3, 10, 12))
        response = await server.client.workflow_service.list_schedule_matching_times(request)
        got = [t.ToDatetime() for t in response.start_time]
        assert got == [
            datetime(2026, 3, 6, 14),
            datetime(2026, 3, 7, 14),
            datetime(2026, 3, 8, 13),
            datetime(2026, 3, 9, 13),
        ]
    finally:
        await handle.delete()


async def test_pause_on_failure(env: tuple[Server, str]) -> None:
    server, task_queue = env
    handle, _, _ = await _create(
        server.client, task_queue, arg="fail", policy=SchedulePolicy(pause_on_failure=True)
    )
    try:
        await handle.trigger()

        async def failed() -> str:
            actions = (await handle.describe()).info.recent_actions
            return actions[0].action.workflow_id if actions else ""  # type: ignore[attr-defined]

        workflow_id = await eventually_async(failed, timeout=30)
        with pytest.raises(WorkflowFailureError):
            await server.client.get_workflow_handle(workflow_id).result()
        # Temporal notices a closed run when it next looks (here: the next action), so a
        # second action is what makes both servers pause.
        await handle.trigger()

        async def paused() -> str:
            state = (await handle.describe()).schedule.state
            return state.note or "" if state.paused else ""

        note = await eventually_async(paused, timeout=60, interval=0.5)
        assert note == f"paused due to workflow failure: {workflow_id}: asked to fail"
    finally:
        await handle.delete()


async def test_terminate_other_replaces_the_running_workflow(env: tuple[Server, str]) -> None:
    server, task_queue = env
    handle, sid, _ = await _create(
        server.client,
        task_queue,
        workflow=ScheduledWaiter.run,
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.TERMINATE_OTHER),
    )
    try:
        await handle.trigger()

        [first] = await eventually_async(_running(handle), timeout=30)
        await handle.trigger()

        after = await _replacement(server, handle, sid, first)
        old = server.client.get_workflow_handle(first[0], run_id=first[1])
        assert (await old.describe()).status == WorkflowExecutionStatus.TERMINATED
        await server.client.get_workflow_handle(after[0], run_id=after[1]).signal(
            ScheduledWaiter.release
        )
    finally:
        await handle.delete()


async def test_scheduler_continues_as_new_and_keeps_its_state(env: tuple[Server, str]) -> None:
    server, task_queue = env
    handle, sid, _ = await _create(server.client, task_queue)
    try:
        await handle.trigger()

        async def one_action() -> bool:
            return (await handle.describe()).info.num_actions == 1

        await eventually_async(one_action, timeout=30)
        scheduler = server.client.get_workflow_handle(f"temporal-sys-scheduler:{sid}")
        first_run = (await scheduler.describe()).run_id
        await scheduler.signal("force-continue-as-new")

        async def new_run() -> bool:
            return (await scheduler.describe()).run_id != first_run

        await eventually_async(new_run, timeout=30, interval=0.5)
        assert (await handle.describe()).info.num_actions == 1
        await handle.trigger()

        async def two_actions() -> bool:
            return (await handle.describe()).info.num_actions == 2

        await eventually_async(two_actions, timeout=30)

        async def listed() -> bool:
            return any([s.id == sid async for s in await server.client.list_schedules()])

        await eventually_async(listed, timeout=30, interval=0.5)
    finally:
        await handle.delete()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ScheduleSpec(cron_expressions=["* * *"]), "CronString does not have 5-7 fields"),
        (ScheduleSpec(cron_expressions=["99 * * * *"]), "Minute is not in range [0-59]"),
    ],
)
async def test_bad_spec_is_invalid_argument(
    env: tuple[Server, str], spec: ScheduleSpec, message: str
) -> None:
    server, task_queue = env
    with pytest.raises(RPCError) as err:
        await _create(server.client, task_queue, spec)
    assert err.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert message in err.value.message


async def test_cancel_other_cancels_the_running_workflow(env: tuple[Server, str]) -> None:
    server, task_queue = env
    handle, sid, _ = await _create(
        server.client,
        task_queue,
        workflow=ScheduledWaiter.run,
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.CANCEL_OTHER),
    )
    try:
        await handle.trigger()

        [first] = await eventually_async(_running(handle), timeout=30)
        await handle.trigger()

        after = await _replacement(server, handle, sid, first)
        old = server.client.get_workflow_handle(first[0], run_id=first[1])

        async def old_status() -> WorkflowExecutionStatus | None:
            status = (await old.describe()).status
            return status if status != WorkflowExecutionStatus.RUNNING else None

        assert await eventually_async(old_status, timeout=30) == WorkflowExecutionStatus.CANCELED
        await server.client.get_workflow_handle(after[0], run_id=after[1]).signal(
            ScheduledWaiter.release
        )
    finally:
        await handle.delete()


async def test_calendar_zone_jitter_and_bounds_round_trip(env: tuple[Server, str]) -> None:
    server, task_queue = env
    start_at = datetime(2030, 1, 1, tzinfo=UTC)
    spec = ScheduleSpec(
        calendars=[
            ScheduleCalendarSpec(
                hour=[ScheduleRange(9)],
                minute=[ScheduleRange(30)],
                day_of_week=[ScheduleRange(1, 5)],
                comment="weekday mornings",
            )
        ],
        time_zone_name="Europe/Berlin",
        jitter=timedelta(seconds=30),
        start_at=start_at,
        end_at=start_at + timedelta(days=30),
    )
    handle, _, _ = await _create(server.client, task_queue, spec)
    try:
        described = (await handle.describe()).schedule.spec
        assert described.time_zone_name == "Europe/Berlin"
        assert described.jitter == timedelta(seconds=30)
        assert (described.start_at, described.end_at) == (spec.start_at, spec.end_at)
        assert described.calendars[0].comment == "weekday mornings"
        times = (await handle.describe()).info.next_action_times
        assert len(times) == 10
        for t in times:
            # 09:30 in Berlin is 08:30 UTC in January; jitter adds less than 30 s.
            nominal = t.replace(hour=8, minute=30, second=0, microsecond=0)
            assert timedelta(0) <= t - nominal < timedelta(seconds=30)
            assert t.weekday() < 5
        assert times[0].date() == datetime(2030, 1, 1).date()  # a Tuesday
    finally:
        await handle.delete()


async def test_remaining_actions_limit(env: tuple[Server, str]) -> None:
    server, task_queue = env
    spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=1))])
    handle, _, _ = await _create(
        server.client,
        task_queue,
        spec,
        state=ScheduleState(limited_actions=True, remaining_actions=2),
    )
    try:

        async def used_up() -> bool:
            described = await handle.describe()
            return described.schedule.state.remaining_actions == 0

        await eventually_async(used_up, timeout=40, interval=0.5)
        described = await handle.describe()
        assert described.info.num_actions == 2
        assert described.info.next_action_times == []
    finally:
        await handle.delete()
