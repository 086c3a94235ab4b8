"""Activity cancellation and activities completed by id, driven by the official SDK on Strom and
on the Temporal dev server: same results, same histories."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import AsyncActivityCancelledError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from tests.integration.workflows.conftest import Server
from tests.workflows.activity_cancellation import AsyncCompletionWorkflow, CancelActivityWorkflow
from tests.workflows.cancellable import CANCELLABLE_ACTIVITIES, INFOS, SAW_CANCEL, started

pytestmark = [pytest.mark.timeout(120)]

WORKFLOWS = [CancelActivityWorkflow, AsyncCompletionWorkflow]

# The first workflow task schedules both activities; the second one completes and wakes it.
_UNTIL_CANCEL = [
    "WORKFLOW_EXECUTION_STARTED",
    "WORKFLOW_TASK_SCHEDULED",
    "WORKFLOW_TASK_STARTED",
    "WORKFLOW_TASK_COMPLETED",
    "ACTIVITY_TASK_SCHEDULED",
    "ACTIVITY_TASK_SCHEDULED",
    "ACTIVITY_TASK_STARTED",
    "ACTIVITY_TASK_COMPLETED",
    "WORKFLOW_TASK_SCHEDULED",
    "WORKFLOW_TASK_STARTED",
    "WORKFLOW_TASK_COMPLETED",
]
_NEXT_TASK_AND_CLOSE = [
    "WORKFLOW_TASK_SCHEDULED",
    "WORKFLOW_TASK_STARTED",
    "WORKFLOW_TASK_COMPLETED",
    "WORKFLOW_EXECUTION_COMPLETED",
]
# (cancellation type, whether the activity runs) -> the rest of the history, as the dev server
# writes it: TRY_CANCEL goes on at once, so its run closes before any ActivityTaskCanceled;
# ABANDON sends no command at all.
EXPECTED = {
    ("TRY_CANCEL", False): ["ACTIVITY_TASK_CANCEL_REQUESTED", "WORKFLOW_EXECUTION_COMPLETED"],
    ("TRY_CANCEL", True): ["ACTIVITY_TASK_CANCEL_REQUESTED", "WORKFLOW_EXECUTION_COMPLETED"],
    ("WAIT_CANCELLATION_COMPLETED", False): [
        "ACTIVITY_TASK_CANCEL_REQUESTED",
        "ACTIVITY_TASK_CANCELED",
        *_NEXT_TASK_AND_CLOSE,
    ],
    ("WAIT_CANCELLATION_COMPLETED", True): [
        "ACTIVITY_TASK_CANCEL_REQUESTED",
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_CANCELED",
        *_NEXT_TASK_AND_CLOSE,
    ],
    ("ABANDON", False): ["WORKFLOW_EXECUTION_COMPLETED"],
    ("ABANDON", True): ["WORKFLOW_EXECUTION_COMPLETED"],
}


def _worker(server: Server, task_queue: str, **kw: object) -> Worker:
    return Worker(
        server.client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=CANCELLABLE_ACTIVITIES,
        **kw,  # type: ignore[arg-type]
    )


async def _types(handle: WorkflowHandle) -> list[str]:
    history = await handle.fetch_history()
    return [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events]


@pytest.mark.parametrize(("mode", "running"), sorted(EXPECTED))
async def test_cancellation_types(server: Server, mode: str, running: bool) -> None:
    tq = server.task_queue()
    workflow_id = f"cancel-{mode}-{running}-{uuid.uuid4()}"
    async with _worker(server, tq):
        handle = await server.client.start_workflow(
            CancelActivityWorkflow.run, args=[mode, running], id=workflow_id, task_queue=tq
        )
        assert await handle.result() == "CancelledError"
        events = await _types(handle)
    assert events == _UNTIL_CANCEL + EXPECTED[(mode, running)]
    # Only WAIT_CANCELLATION_COMPLETED waits until the activity learned it through a heartbeat.
    if (mode, running) == ("WAIT_CANCELLATION_COMPLETED", True):
        assert workflow_id in SAW_CANCEL
        history = await handle.fetch_history()
        (canceled,) = [
            e for e in history.events if e.HasField("activity_task_canceled_event_attributes")
        ]
        (requested,) = [
            e
            for e in history.events
            if e.HasField("activity_task_cancel_requested_event_attributes")
        ]
        attrs = canceled.activity_task_canceled_event_attributes
        assert attrs.latest_cancel_requested_event_id == requested.event_id
        assert attrs.started_event_id == canceled.event_id - 1


async def _async_activity(server: Server, handle: WorkflowHandle, with_run_id: bool) -> object:
    await asyncio.wait_for(started(handle.id).wait(), 30)
    info = INFOS[handle.id]
    return server.client.get_async_activity_handle(
        workflow_id=info.workflow_id,
        run_id=info.workflow_run_id if with_run_id else None,
        activity_id=info.activity_id,
    )


@pytest.mark.parametrize("with_run_id", [True, False])
async def test_async_activity_heartbeated_and_completed_by_id(
    server: Server, with_run_id: bool
) -> None:
    tq = server.task_queue()
    async with _worker(server, tq):
        handle = await server.client.start_workflow(
            AsyncCompletionWorkflow.run, False, id=f"async-{uuid.uuid4()}", task_queue=tq
        )
        activity = await _async_activity(server, handle, with_run_id)
        await activity.heartbeat("halfway")  # type: ignore[attr-defined]
        (pending,) = (await handle.describe()).raw_description.pending_activities
        assert pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        assert (pending.activity_id, pending.activity_type.name) == ("1", "complete_by_id_later")
        assert pending.attempt == 1 and pending.heartbeat_details.payloads[0].data == b'"halfway"'
        assert pending.activity_options.task_queue.name == tq
        await activity.complete("by id")  # type: ignore[attr-defined]
        assert await handle.result() == "completed: by id"
        history = await handle.fetch_history()
    (completed,) = [
        e for e in history.events if e.HasField("activity_task_completed_event_attributes")
    ]
    assert completed.activity_task_completed_event_attributes.identity == server.client.identity


async def test_async_activity_failed_by_id(server: Server) -> None:
    tq = server.task_queue()
    async with _worker(server, tq):
        handle = await server.client.start_workflow(
            AsyncCompletionWorkflow.run, False, id=f"async-fail-{uuid.uuid4()}", task_queue=tq
        )
        activity = await _async_activity(server, handle, True)
        await activity.fail(ApplicationError("no way", type="Refused", non_retryable=True))  # type: ignore[attr-defined]
        assert await handle.result() == "ApplicationError"
        events = await _types(handle)
    assert "ACTIVITY_TASK_FAILED" in events


async def test_async_activity_cancellation_reported_by_id(server: Server) -> None:
    tq = server.task_queue()
    async with _worker(server, tq):
        handle = await server.client.start_workflow(
            AsyncCompletionWorkflow.run, True, id=f"async-cancel-{uuid.uuid4()}", task_queue=tq
        )
        activity = await _async_activity(server, handle, False)
        for _ in range(300):  # the workflow asks to cancel once its other activity returned
            try:
                await activity.heartbeat()  # type: ignore[attr-defined]
            except AsyncActivityCancelledError:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the heartbeat never reported the cancel request")
        (pending,) = (await handle.describe()).raw_description.pending_activities
        assert pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
        await activity.report_cancellation("stopped")  # type: ignore[attr-defined]
        assert await handle.result() == "CancelledError"
        history = await handle.fetch_history()
    (canceled,) = [
        e for e in history.events if e.HasField("activity_task_canceled_event_attributes")
    ]
    assert canceled.activity_task_canceled_event_attributes.details.payloads[0].data == b'"stopped"'
