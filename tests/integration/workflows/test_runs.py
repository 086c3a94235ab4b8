"""Workflow ids with several runs, on Strom and on the dev server: continue-as-new, workflow
retries, cron, id conflict and reuse policies, and reads of older runs by run id."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import RetryPolicy, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.worker import Worker

from helpers import eventually_async
from tests.integration.workflows.conftest import Server
from tests.workflows.cancellation import WaitForCancelWorkflow
from tests.workflows.runs import (
    RUN_WORKFLOWS,
    ContinueAsNewWorkflow,
    CronRunWorkflow,
    FailFirstAttemptWorkflow,
)

pytestmark = [pytest.mark.timeout(120)]


def _worker(server: Server, task_queue: str) -> Worker:
    return Worker(
        server.client, task_queue=task_queue, workflows=[*RUN_WORKFLOWS, WaitForCancelWorkflow]
    )


async def test_continue_as_new_chain_and_its_older_runs(server: Server) -> None:
    tq = server.task_queue()
    workflow_id = f"can-{uuid.uuid4()}"
    async with _worker(server, tq):
        handle = await server.client.start_workflow(
            ContinueAsNewWorkflow.run, 2, id=workflow_id, task_queue=tq, memo={"owner": "strom"}
        )
        # The result follows the chain to the last run.
        assert await handle.result() == "done after True"
    first = handle.first_execution_run_id or handle.result_run_id
    assert first is not None
    runs = [first]
    for _ in range(2):
        older = server.client.get_workflow_handle(workflow_id, run_id=runs[-1])
        events = (await older.fetch_history()).events
        close = events[-1]
        assert close.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        described = await older.describe()
        assert described.status == WorkflowExecutionStatus.CONTINUED_AS_NEW
        assert described.run_id == runs[-1]
        runs.append(close.workflow_execution_continued_as_new_event_attributes.new_execution_run_id)
    last = server.client.get_workflow_handle(workflow_id)
    described = await last.describe()
    assert described.run_id == runs[-1] and described.status == WorkflowExecutionStatus.COMPLETED
    assert described.raw_description.workflow_execution_info.first_run_id == first
    assert await described.memo() == {"owner": "strom"}  # carried from run to run
    started = (await last.fetch_history()).events[0].workflow_execution_started_event_attributes
    assert started.continued_execution_run_id == runs[1]
    assert started.first_execution_run_id == first
    # The first workflow task of a continued run waits out the minimal interval between runs.
    assert started.first_workflow_task_backoff.ToMilliseconds() > 0

    async def listed() -> list[str]:
        found = server.client.list_workflows(f"WorkflowId = '{workflow_id}'")
        statuses = sorted([str(wf.status.name) async for wf in found if wf.status is not None])
        assert statuses == ["COMPLETED", "CONTINUED_AS_NEW", "CONTINUED_AS_NEW"]
        return statuses

    await eventually_async(listed, timeout=30)


async def test_a_failed_run_is_retried_by_its_retry_policy(server: Server) -> None:
    tq = server.task_queue()
    workflow_id = f"retry-{uuid.uuid4()}"
    async with _worker(server, tq):
        handle = await server.client.start_workflow(
            FailFirstAttemptWorkflow.run,
            "w",
            id=workflow_id,
            task_queue=tq,
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
        )
        assert await handle.result() == "w succeeded on attempt 2"
    first = server.client.get_workflow_handle(workflow_id, run_id=handle.result_run_id)
    assert (await first.describe()).status == WorkflowExecutionStatus.FAILED
    failed = (await first.fetch_history()).events[-1].workflow_execution_failed_event_attributes
    assert failed.retry_state == RetryState.RETRY_STATE_IN_PROGRESS
    retry = server.client.get_workflow_handle(workflow_id, run_id=failed.new_execution_run_id)
    started = (await retry.fetch_history()).events[0].workflow_execution_started_event_attributes
    assert started.attempt == 2 and started.continued_failure.message == "attempt 1 of w fails"
    assert started.first_workflow_task_backoff.ToMilliseconds() == 1_000


async def test_terminate_existing_and_the_reuse_policies(server: Server) -> None:
    tq = server.task_queue()
    workflow_id = f"ids-{uuid.uuid4()}"
    client = server.client
    async with _worker(server, tq):
        first = await client.start_workflow(
            WaitForCancelWorkflow.run, "a", id=workflow_id, task_queue=tq
        )
        second = await client.start_workflow(
            WaitForCancelWorkflow.run,
            "b",
            id=workflow_id,
            task_queue=tq,
            id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
        )
        assert second.result_run_id != first.result_run_id
        old = client.get_workflow_handle(workflow_id, run_id=first.result_run_id)
        assert (await old.describe()).status == WorkflowExecutionStatus.TERMINATED
        terminated = (await old.fetch_history()).events[-1]
        attrs = terminated.workflow_execution_terminated_event_attributes
        assert attrs.reason == "TerminateIfRunning WorkflowIdReusePolicy"
        assert attrs.identity == "history-service"
        assert (await second.describe()).status == WorkflowExecutionStatus.RUNNING
        await second.terminate("done")
        # Closed runs: REJECT_DUPLICATE refuses, ALLOW_DUPLICATE_FAILED_ONLY accepts a
        # terminated run.
        with pytest.raises(WorkflowAlreadyStartedError) as raised:
            await client.start_workflow(
                WaitForCancelWorkflow.run,
                "c",
                id=workflow_id,
                task_queue=tq,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        assert raised.value.run_id == second.result_run_id

        async def third_starts() -> str | None:
            third = await client.start_workflow(
                WaitForCancelWorkflow.run,
                "d",
                id=workflow_id,
                task_queue=tq,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            )
            return third.result_run_id

        third_run = await eventually_async(third_starts, timeout=10, retry_on=(Exception,))
        assert third_run not in (first.result_run_id, second.result_run_id)
        await client.get_workflow_handle(workflow_id).terminate("done")


async def test_a_cron_workflow_waits_for_its_schedule(server: Server) -> None:
    tq = server.task_queue()
    workflow_id = f"cron-{uuid.uuid4()}"
    handle = await server.client.start_workflow(
        CronRunWorkflow.run, "c", id=workflow_id, task_queue=tq, cron_schedule="* * * * *"
    )
    events = (await handle.fetch_history()).events
    started = events[0].workflow_execution_started_event_attributes
    assert started.cron_schedule == "* * * * *"
    backoff = started.first_workflow_task_backoff.ToMilliseconds()
    assert 0 < backoff <= 60_000 and backoff % 1_000 == 0  # whole seconds, to the next minute
    assert [e.event_type for e in events] == [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED]
    await handle.terminate("done")
