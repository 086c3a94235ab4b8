"""Markers, local activities, eager start, memo and search attributes, driven by the official
SDK on Strom and on the Temporal dev server."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.command.v1 import Command
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import CommandType, EventType, IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
    RemoveSearchAttributesRequest,
)
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    RespondWorkflowTaskCompletedRequest,
)
from temporalio.client import WorkflowHandle
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from helpers import eventually_async
from tests.golden.marker_cases import (
    HEARTBEAT_ACTIVITY_SECONDS,
    HEARTBEAT_TASK_TIMEOUT,
    ensure_custom_attributes,
)
from tests.integration.workflows.conftest import Server
from tests.workflows.activities import greet, greet_after
from tests.workflows.markers import (
    INT,
    KEYWORD,
    MARKER_WORKFLOWS,
    PATCH_ID,
    DeprecatedPatchWorkflow,
    HelloWorkflow,
    LocalActivitiesWorkflow,
    PatchedWorkflow,
    UpsertWorkflow,
)

pytestmark = [pytest.mark.timeout(120)]

_INLINE_REQUEST_ID = "request-from-RespondWorkflowTaskCompleted"


@pytest.fixture
async def worker_queue(server: Server) -> AsyncIterator[str]:
    """A task queue served by a worker of the marker workflows."""
    tq = server.task_queue()
    async with Worker(
        server.client, task_queue=tq, workflows=MARKER_WORKFLOWS, activities=[greet, greet_after]
    ):
        yield tq


async def _events(handle: WorkflowHandle[Any, Any]) -> list[Any]:
    return list((await handle.fetch_history()).events)


def _types(events: list[Any]) -> list[str]:
    return [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in events]


async def _ids(server: Server, query: str) -> set[str]:
    return {wf.id async for wf in server.client.list_workflows(query)}


async def test_patched_records_a_marker_and_temporal_change_version(
    server: Server, worker_queue: str
) -> None:
    handle = await server.client.start_workflow(
        PatchedWorkflow.run, "S", id=f"patched-{uuid.uuid4()}", task_queue=worker_queue
    )
    assert await handle.result() == "new S"
    events = await _events(handle)
    assert _types(events) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "MARKER_RECORDED",
        "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    marker = events[4].marker_recorded_event_attributes
    assert marker.marker_name == "core_patch"
    assert json.loads(marker.details["patch-data"].payloads[0].data)["id"] == PATCH_ID
    description = await handle.describe()
    assert description.search_attributes["TemporalChangeVersion"] == [PATCH_ID]
    query = f"TemporalChangeVersion = '{PATCH_ID}' AND WorkflowId = '{handle.id}'"

    async def indexed() -> bool:
        return await _ids(server, query) == {handle.id}

    await eventually_async(indexed, timeout=30)


async def test_deprecated_patch_keeps_its_marker(server: Server, worker_queue: str) -> None:
    handle = await server.client.start_workflow(
        DeprecatedPatchWorkflow.run, "S", id=f"deprecated-{uuid.uuid4()}", task_queue=worker_queue
    )
    assert await handle.result() == "deprecated S"
    events = await _events(handle)
    patch = json.loads(
        events[4].marker_recorded_event_attributes.details["patch-data"].payloads[0].data
    )
    assert patch == {"id": PATCH_ID, "deprecated": True}


async def test_a_side_effect_marker_as_the_go_and_java_sdks_record_it(server: Server) -> None:
    # The Python SDK has no side effects; Go's and Java's record them as "SideEffect" markers.
    tq = server.task_queue()
    service = server.client.workflow_service
    handle = await server.client.start_workflow(
        "SideEffectWorkflow", id=f"side-effect-{uuid.uuid4()}", task_queue=tq
    )
    poll = await service.poll_workflow_task_queue(
        PollWorkflowTaskQueueRequest(
            namespace=server.client.namespace, task_queue=TaskQueue(name=tq), identity="raw"
        )
    )
    marker = Command(command_type=CommandType.COMMAND_TYPE_RECORD_MARKER)
    marker.record_marker_command_attributes.marker_name = "SideEffect"
    details = marker.record_marker_command_attributes.details
    details["side-effect-id"].CopyFrom(Payloads(payloads=[_json(1)]))
    details["data"].CopyFrom(Payloads(payloads=[_json("random 42")]))
    complete = Command(command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION)
    complete.complete_workflow_execution_command_attributes.result.payloads.append(_json("done"))
    await service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(
            namespace=server.client.namespace,
            task_token=poll.task_token,
            commands=[marker, complete],
            identity="raw",
        )
    )
    assert await handle.result() == "done"
    events = await _events(handle)
    assert _types(events)[-2:] == ["MARKER_RECORDED", "WORKFLOW_EXECUTION_COMPLETED"]
    recorded = events[-2].marker_recorded_event_attributes
    assert recorded.marker_name == "SideEffect"
    assert recorded.details["data"].payloads[0].data == b'"random 42"'
    assert recorded.workflow_task_completed_event_id == events[-3].event_id


def _json(value: Any) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


async def test_local_activities_record_markers(server: Server, worker_queue: str) -> None:
    handle = await server.client.start_workflow(
        LocalActivitiesWorkflow.run,
        args=["S", 0.1],
        id=f"la-{uuid.uuid4()}",
        task_queue=worker_queue,
    )
    assert await handle.result() == ["Hello, S!", "Hello, S!"]
    events = await _events(handle)
    assert _types(events)[3:] == [
        "WORKFLOW_TASK_COMPLETED",
        "MARKER_RECORDED",
        "MARKER_RECORDED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    assert {e.marker_recorded_event_attributes.marker_name for e in events[4:6]} == {
        "core_local_activity"
    }


async def test_a_local_activity_longer_than_the_task_timeout_heartbeats_the_task(
    server: Server, worker_queue: str
) -> None:
    handle = await server.client.start_workflow(
        LocalActivitiesWorkflow.run,
        args=["S", HEARTBEAT_ACTIVITY_SECONDS],
        id=f"la-long-{uuid.uuid4()}",
        task_queue=worker_queue,
        task_timeout=HEARTBEAT_TASK_TIMEOUT,
    )
    assert await handle.result() == ["Hello, S!", "Hello, S!"]
    events = await _events(handle)
    types = _types(events)
    assert "WORKFLOW_TASK_TIMED_OUT" not in types and "WORKFLOW_TASK_FAILED" not in types
    # The worker kept its task alive: a task completed while the activity ran was followed at
    # once by a new one, started inside the completion.
    inline = [
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
        and e.workflow_task_started_event_attributes.request_id == _INLINE_REQUEST_ID
    ]
    assert inline, types
    assert types.count("MARKER_RECORDED") == 2
    assert types[-1] == "WORKFLOW_EXECUTION_COMPLETED"


async def test_eager_start_hands_the_first_task_to_the_starting_worker(
    server: Server, worker_queue: str
) -> None:
    handle = await server.client.start_workflow(
        HelloWorkflow.run,
        "S",
        id=f"eager-{uuid.uuid4()}",
        task_queue=worker_queue,
        request_eager_start=True,
        task_timeout=timedelta(minutes=2),  # a task lost on the way would hang the test
    )
    assert getattr(handle, "__temporal_eagerly_started") is True
    assert await handle.result() == "Hello, S!"
    events = await _events(handle)
    assert _types(events) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    assert events[0].workflow_execution_started_event_attributes.eager_execution_accepted


async def test_memo_and_search_attributes_on_start_and_upsert(
    server: Server, worker_queue: str
) -> None:
    await ensure_custom_attributes(server.client)
    workflow_id = f"upsert-{uuid.uuid4()}"
    handle = await server.client.start_workflow(
        UpsertWorkflow.run,
        workflow_id,
        id=workflow_id,
        task_queue=worker_queue,
        memo={"kept": "from the start", "removed": "soon"},
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(KEYWORD, "initial"), SearchAttributePair(INT, 1)]
        ),
    )
    expected_memo = {"kept": "from the start", "note": f"upserted by {workflow_id}"}
    assert await handle.result() == expected_memo
    description = await handle.describe()
    assert await description.memo() == expected_memo
    typed = description.typed_search_attributes
    assert (typed.get(KEYWORD), typed.get(INT)) == (workflow_id, 7)
    # Both servers record which worker build ran the workflow.
    assert "unversioned" in description.search_attributes["BuildIds"]

    query = f"StromTestKeyword = '{workflow_id}' AND StromTestInt >= 7"

    async def indexed() -> bool:
        return await _ids(server, query) == {workflow_id}

    await eventually_async(indexed, timeout=30)
    assert (await server.client.count_workflows(query)).count == 1
    assert (
        await _ids(server, f"StromTestKeyword = 'initial' AND WorkflowId = '{workflow_id}'")
        == set()
    )
    (listed,) = [wf async for wf in server.client.list_workflows(query)]
    assert await listed.memo() == expected_memo
    assert listed.typed_search_attributes.get(INT) == 7


async def test_attributes_given_at_start_are_listable_at_once(server: Server) -> None:
    await ensure_custom_attributes(server.client)
    workflow_id = f"start-sa-{uuid.uuid4()}"
    # No worker polls this queue: only the start is visible.
    await server.client.start_workflow(
        HelloWorkflow.run,
        "S",
        id=workflow_id,
        task_queue=server.task_queue(),
        memo={"given": "at start"},
        search_attributes={"StromTestKeyword": [workflow_id], "StromTestInt": [3]},  # legacy API
    )
    query = f"StromTestKeyword = '{workflow_id}' AND StromTestInt = 3"

    async def indexed() -> bool:
        return await _ids(server, query) == {workflow_id}

    await eventually_async(indexed, timeout=30)
    (listed,) = [wf async for wf in server.client.list_workflows(query)]
    assert await listed.memo() == {"given": "at start"}
    assert listed.typed_search_attributes.get(INT) == 3


async def test_start_with_bad_search_attributes_gets_temporals_error(server: Server) -> None:
    await ensure_custom_attributes(server.client)
    cases = [
        (
            TypedSearchAttributes(
                [SearchAttributePair(SearchAttributeKey.for_keyword("NotThere"), "v")]
            ),
            "Namespace default has no mapping defined for search attribute NotThere",
        ),
        (
            TypedSearchAttributes([SearchAttributePair(KEYWORD, "x" * 3000)]),
            "search attribute StromTestKeyword value size 3002 exceeds size limit 2048",
        ),
    ]
    for attributes, message in cases:
        with pytest.raises(RPCError) as err:
            await server.client.start_workflow(
                HelloWorkflow.run,
                "S",
                id=f"bad-sa-{uuid.uuid4()}",
                task_queue=server.task_queue(),
                search_attributes=attributes,
            )
        assert (err.value.status, err.value.message) == (RPCStatusCode.INVALID_ARGUMENT, message)


async def test_operator_service_adds_lists_and_removes_custom_attributes(server: Server) -> None:
    operator = server.client.operator_service
    namespace = server.client.namespace
    name = "StromTestRemovable"
    await operator.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST},
        )
    )
    listed = await operator.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    assert listed.custom_attributes[name] == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST
    assert (
        listed.system_attributes["ExecutionStatus"] == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    )
    with pytest.raises(RPCError) as err:
        await operator.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace,
                search_attributes={"TemporalMine": IndexedValueType.INDEXED_VALUE_TYPE_INT},
            )
        )
    assert err.value.message == "Search attribute TemporalMine is reserved by system."
    await operator.remove_search_attributes(
        RemoveSearchAttributesRequest(namespace=namespace, search_attributes=[name])
    )
    listed = await operator.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    assert name not in listed.custom_attributes


@pytest.mark.skipif(shutil.which("temporal") is None, reason="needs the temporal CLI")
async def test_the_temporal_cli_manages_search_attributes(server: Server) -> None:
    name = "StromTestCliDouble"

    async def cli(*args: str) -> str:
        command = ["temporal", "operator", "search-attribute", *args, "--address", server.target]
        done = await asyncio.to_thread(
            subprocess.run, command, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    await cli("create", "--name", name, "--type", "Double")
    listed = json.loads(await cli("list", "-o", "json"))
    assert listed["customAttributes"][name] == "INDEXED_VALUE_TYPE_DOUBLE"
    await cli("remove", "--name", name, "--yes")
    listed = json.loads(await cli("list", "-o", "json"))
    assert name not in listed.get("customAttributes", {})
