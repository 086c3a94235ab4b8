"""ResetWorkflowExecution and DeleteWorkflowExecution through the SDK's client and the
`temporal` CLI, on Strom and on the dev server; and a deleted run after a RocksDB rebuild."""

from __future__ import annotations

import asyncio
import shutil
import signal
import uuid

import pytest
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import (
    DeleteWorkflowExecutionRequest,
    ResetWorkflowExecutionRequest,
)
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from helpers import eventually_async
from strom.testing import StromEnvironment
from tests.integration.workflows.conftest import Server
from tests.workflows.runs import SignalChainWorkflow
from tests.workflows.signal_collector import SignalCollectorWorkflow

pytestmark = [pytest.mark.timeout(180)]

_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
_needs_cli = pytest.mark.skipif(shutil.which("temporal") is None, reason="needs the temporal CLI")


async def _history(handle: WorkflowHandle) -> list[HistoryEvent]:
    return list((await handle.fetch_history()).events)


async def _tasks_completed(handle: WorkflowHandle, count: int) -> None:
    async def check() -> bool:
        done = [e for e in await _history(handle) if e.event_type == _COMPLETED]
        return len(done) >= count

    await eventually_async(check, timeout=30)


async def _reset(client: Client, workflow_id: str, run_id: str, finish: int, reason: str) -> str:
    request = ResetWorkflowExecutionRequest(
        namespace=client.namespace,
        reason=reason,
        workflow_task_finish_event_id=finish,
        request_id=str(uuid.uuid4()),
    )
    request.workflow_execution.workflow_id = workflow_id
    request.workflow_execution.run_id = run_id
    return (await client.workflow_service.reset_workflow_execution(request)).run_id


async def _delete(client: Client, workflow_id: str) -> None:
    request = DeleteWorkflowExecutionRequest(namespace=client.namespace)
    request.workflow_execution.workflow_id = workflow_id
    await client.workflow_service.delete_workflow_execution(request)


async def _cli(server: Server, *args: str) -> str:
    """Runs the CLI against the server, answering yes to its confirmation prompt."""
    process = await asyncio.create_subprocess_exec(
        "temporal", *args, "--address", server.target, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(b"y\n"), 60)
    assert process.returncode == 0, out.decode()
    return out.decode()


async def test_reset_of_a_running_run_reapplies_its_signals(server: Server) -> None:
    tq, workflow_id = server.task_queue(), f"reset-{uuid.uuid4()}"
    async with Worker(server.client, task_queue=tq, workflows=[SignalCollectorWorkflow]):
        handle = await server.client.start_workflow(
            SignalCollectorWorkflow.run, 2, id=workflow_id, task_queue=tq
        )
        base_run = handle.result_run_id
        assert base_run is not None
        await _tasks_completed(handle, 1)
        await handle.signal(SignalCollectorWorkflow.add, "a")
        await _tasks_completed(handle, 2)
        new_run = await _reset(server.client, workflow_id, base_run, 4, "try again")
        assert new_run != base_run
        # The workflow id's current run is the new one; it got "a" back and wants one more.
        current = server.client.get_workflow_handle(workflow_id)
        await current.signal(SignalCollectorWorkflow.add, "b")
        assert await current.result() == ["a", "b"]
    described = await current.describe()
    assert described.run_id == new_run
    assert described.raw_description.workflow_execution_info.first_run_id == base_run
    old = server.client.get_workflow_handle(workflow_id, run_id=base_run)
    old_described = await old.describe()
    assert old_described.status == WorkflowExecutionStatus.TERMINATED
    assert old_described.raw_description.workflow_extended_info.reset_run_id == new_run
    terminated = (await _history(old))[-1].workflow_execution_terminated_event_attributes
    assert (terminated.reason, terminated.identity) == ("try again", "history-resetter")
    events = await _history(server.client.get_workflow_handle(workflow_id, run_id=new_run))
    failed = events[3].workflow_task_failed_event_attributes
    assert failed.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
    assert (failed.base_run_id, failed.new_run_id) == (base_run, new_run)
    assert failed.failure.message == "try again"
    signals = [
        e.workflow_execution_signaled_event_attributes.input
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert len(signals) == 2  # "a" reapplied, "b" sent after the reset


async def test_reset_to_a_bad_point_is_invalid(server: Server) -> None:
    tq, workflow_id = server.task_queue(), f"reset-bad-{uuid.uuid4()}"
    async with Worker(server.client, task_queue=tq, workflows=[SignalCollectorWorkflow]):
        handle = await server.client.start_workflow(
            SignalCollectorWorkflow.run, 1, id=workflow_id, task_queue=tq
        )
        await _tasks_completed(handle, 1)
        assert handle.result_run_id is not None
        with pytest.raises(RPCError) as raised:
            await _reset(server.client, workflow_id, handle.result_run_id, 99, "no")
        assert raised.value.status == RPCStatusCode.INVALID_ARGUMENT
        await handle.terminate("done")
    with pytest.raises(RPCError) as raised:
        await _reset(server.client, f"never-{uuid.uuid4()}", "", 4, "no")
    assert raised.value.status == RPCStatusCode.NOT_FOUND


@_needs_cli
@pytest.mark.parametrize("point", [["--event-id", "4"], ["--type", "FirstWorkflowTask"]])
async def test_cli_resets_a_completed_run(server: Server, point: list[str]) -> None:
    tq, workflow_id = server.task_queue(), f"reset-cli-{uuid.uuid4()}"
    async with Worker(server.client, task_queue=tq, workflows=[SignalCollectorWorkflow]):
        handle = await server.client.start_workflow(
            SignalCollectorWorkflow.run, 1, id=workflow_id, task_queue=tq
        )
        await _tasks_completed(handle, 1)
        await handle.signal(SignalCollectorWorkflow.add, "a")
        assert await handle.result() == ["a"]
        await _cli(server, "workflow", "reset", "-w", workflow_id, *point, "--reason", "cli")
        current = server.client.get_workflow_handle(workflow_id)

        async def reset_run_completed() -> bool:
            described = await current.describe()
            assert described.run_id != handle.result_run_id
            return described.status == WorkflowExecutionStatus.COMPLETED

        await eventually_async(reset_run_completed, timeout=30)
        assert await current.result() == ["a"]  # the signal came back with the reset
        base = await server.client.get_workflow_handle(
            workflow_id, run_id=handle.result_run_id
        ).describe()
        reset_run = (await current.describe()).run_id
        assert base.raw_description.workflow_extended_info.reset_run_id == reset_run


@_needs_cli
async def test_cli_resets_to_the_last_workflow_task(server: Server) -> None:
    tq, workflow_id = server.task_queue(), f"reset-last-{uuid.uuid4()}"
    async with Worker(server.client, task_queue=tq, workflows=[SignalCollectorWorkflow]):
        handle = await server.client.start_workflow(
            SignalCollectorWorkflow.run, 3, id=workflow_id, task_queue=tq
        )
        await _tasks_completed(handle, 1)
        await handle.signal(SignalCollectorWorkflow.add, "a")
        await _tasks_completed(handle, 2)
        await _cli(
            server, "workflow", "reset", "-w", workflow_id, "--type", "LastWorkflowTask",
            "--reason", "last",
        )  # fmt: skip
        current = server.client.get_workflow_handle(workflow_id)
        described = await current.describe()
        assert described.run_id != handle.result_run_id
        events = await _history(current)
        # Reset to the last completed task (8): the signal at 5 is history, not reapplied.
        assert [e.event_id for e in events if e.HasField("workflow_task_failed_event_attributes")]
        await current.signal(SignalCollectorWorkflow.add, "b")
        await current.signal(SignalCollectorWorkflow.add, "c")
        assert await current.result() == ["a", "b", "c"]


async def _gone(server: Server, handle: WorkflowHandle) -> None:
    async def not_found() -> bool:
        # The dev server deletes a closed run in a background task that took ~35 s here;
        # Strom deletes in the request's own transaction.
        for read in (handle.describe, handle.fetch_history):
            try:
                await read()
                return False
            except RPCError as err:
                assert err.status == RPCStatusCode.NOT_FOUND, err
        return True

    await eventually_async(not_found, timeout=90, interval=0.5)


async def test_delete_of_a_running_workflow(server: Server) -> None:
    tq, workflow_id = server.task_queue(), f"delete-{uuid.uuid4()}"
    async with Worker(server.client, task_queue=tq, workflows=[SignalCollectorWorkflow]):
        handle = await server.client.start_workflow(
            SignalCollectorWorkflow.run, 5, id=workflow_id, task_queue=tq
        )
        await _tasks_completed(handle, 1)

        async def listed() -> bool:
            found = [w async for w in server.client.list_workflows(f"WorkflowId='{workflow_id}'")]
            return len(found) == 1

        await eventually_async(listed, timeout=30)
        await _delete(server.client, workflow_id)
        await _gone(server, handle)
        with pytest.raises(RPCError) as raised:
            await _delete(server.client, workflow_id)
        assert raised.value.status == RPCStatusCode.NOT_FOUND

        async def unlisted() -> bool:
            found = [w async for w in server.client.list_workflows(f"WorkflowId='{workflow_id}'")]
            return found == []

        await eventually_async(unlisted, timeout=30)
        # The id is free again.
        again = await server.client.start_workflow(
            SignalCollectorWorkflow.run, 0, id=workflow_id, task_queue=tq
        )
        assert again.result_run_id != handle.result_run_id
        assert await again.result() == []


@_needs_cli
async def test_cli_deletes_a_completed_workflow(server: Server) -> None:
    tq, workflow_id = server.task_queue(), f"delete-cli-{uuid.uuid4()}"
    async with Worker(server.client, task_queue=tq, workflows=[SignalCollectorWorkflow]):
        handle = await server.client.start_workflow(
            SignalCollectorWorkflow.run, 0, id=workflow_id, task_queue=tq
        )
        assert await handle.result() == []
    await _cli(server, "workflow", "delete", "-w", workflow_id)
    await _gone(server, server.client.get_workflow_handle(workflow_id))


async def test_a_deleted_run_stays_deleted_after_a_rebuild(strom_env: StromEnvironment) -> None:
    """Strom only: history's RocksDB is rebuilt from the events topic (not compacted yet,
    so the deleted run's batches are still there, followed by its delete marker)."""
    client = strom_env.client
    tq, workflow_id = f"rebuild-{uuid.uuid4().hex[:8]}", f"deleted-{uuid.uuid4()}"
    async with Worker(client, task_queue=tq, workflows=[SignalCollectorWorkflow]):
        handle = await client.start_workflow(
            SignalCollectorWorkflow.run, 5, id=workflow_id, task_queue=tq
        )
        await _tasks_completed(handle, 1)
        kept = await client.start_workflow(
            SignalCollectorWorkflow.run, 1, id=f"kept-{uuid.uuid4()}", task_queue=tq
        )
        await _delete(client, workflow_id)
        await _gone(Server("strom", client, strom_env.target), handle)
        process = strom_env.services.processes["history"]
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        shutil.rmtree(strom_env.services.history_state_dir)
        strom_env.services.respawn("history")
        await _gone(Server("strom", client, strom_env.target), handle)
        # The shard is rebuilt and serves the run that was not deleted.
        await kept.signal(SignalCollectorWorkflow.add, "x")
        assert await kept.result() == ["x"]


async def _current_run_after(client: Client, workflow_id: str, known: set[str]) -> str:
    """Waits until the workflow id's current run is none of `known`; returns its run id."""

    async def newer() -> str:
        described = await client.get_workflow_handle(workflow_id).describe()
        return "" if described.run_id in known else described.run_id

    return await eventually_async(newer, timeout=60, interval=0.2)


def _id_and_type(event: HistoryEvent) -> tuple[int, int]:
    return event.event_id, event.event_type


def _signal_values(events: list[HistoryEvent]) -> list[bytes]:
    return [
        e.workflow_execution_signaled_event_attributes.input.payloads[0].data
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]


async def test_reset_of_an_older_run_of_a_continue_as_new_chain(server: Server) -> None:
    client = server.client
    tq, workflow_id = server.task_queue(), f"reset-chain-{uuid.uuid4()}"
    async with Worker(client, task_queue=tq, workflows=[SignalChainWorkflow]):
        handle = await client.start_workflow(
            SignalChainWorkflow.run, args=[3, []], id=workflow_id, task_queue=tq
        )
        first = handle.result_run_id
        assert first is not None
        await _tasks_completed(handle, 1)
        await handle.signal(SignalChainWorkflow.add, "a")
        second = await _current_run_after(client, workflow_id, {first})
        current = client.get_workflow_handle(workflow_id)
        await _tasks_completed(client.get_workflow_handle(workflow_id, run_id=second), 1)
        await current.signal(SignalChainWorkflow.add, "b")
        third = await _current_run_after(client, workflow_id, {first, second})
        await _tasks_completed(client.get_workflow_handle(workflow_id, run_id=third), 1)
        # The chain's third run waits; reset its first run to its first workflow task.
        reset = await _reset(client, workflow_id, first, 4, "from the top")
        assert reset not in (first, second, third)
        # The reset run got both signals back (its base run's and the next run's), and
        # continues as new with them; the run after it completes with one more.
        fifth = await _current_run_after(client, workflow_id, {first, second, third, reset})
        await _tasks_completed(client.get_workflow_handle(workflow_id, run_id=fifth), 1)
        await current.signal(SignalChainWorkflow.add, "c")
        assert await current.result() == ["a", "b", "c"]

    runs = {run: client.get_workflow_handle(workflow_id, run_id=run) for run in (first, third)}
    described = await runs[third].describe()
    assert described.status == WorkflowExecutionStatus.TERMINATED
    terminated = (await _history(runs[third]))[-1].workflow_execution_terminated_event_attributes
    assert (terminated.reason, terminated.identity) == ("from the top", "history-resetter")
    assert (await runs[first].describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW

    base = await _history(runs[first])
    events = await _history(client.get_workflow_handle(workflow_id, run_id=reset))
    # The reset run's first events are its base run's (Temporal forks the base's history).
    assert [_id_and_type(e) for e in events[:3]] == [_id_and_type(e) for e in base[:3]]
    start = events[0].workflow_execution_started_event_attributes
    assert start == base[0].workflow_execution_started_event_attributes
    assert start.first_execution_run_id == first and not start.continued_execution_run_id
    failed = events[3].workflow_task_failed_event_attributes
    assert failed.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
    assert (failed.base_run_id, failed.new_run_id) == (first, reset)
    assert _signal_values(events) == [b'"a"', b'"b"']
    assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    closing = events[-1].workflow_execution_continued_as_new_event_attributes
    assert closing.new_execution_run_id == fifth
    later = await _history(client.get_workflow_handle(workflow_id, run_id=fifth))
    chained = later[0].workflow_execution_started_event_attributes
    assert (chained.continued_execution_run_id, chained.first_execution_run_id) == (reset, first)
