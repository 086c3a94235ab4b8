"""The golden cases of markers, memo and search attributes, and how to start each one.

Shared by `record_golden.py` (on the dev server) and the Strom side of the comparison
(tests/integration/workflows/test_marker_goldens.py), so both run exactly the same starts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from tests.workflows.markers import (
    CUSTOM_ATTRIBUTES,
    INT,
    KEYWORD,
    DeprecatedPatchWorkflow,
    HelloWorkflow,
    LocalActivitiesWorkflow,
    PatchedWorkflow,
    UpsertWorkflow,
)

# Task timeout and local activity length of the heartbeat case: the worker heartbeats its
# workflow task at 80 % of the timeout (1.6 s) and the activity ends 0.8 s before the next.
HEARTBEAT_TASK_TIMEOUT = timedelta(seconds=2)
HEARTBEAT_ACTIVITY_SECONDS = 2.4

Starter = Callable[[Client, str, str], Awaitable[WorkflowHandle[Any, Any]]]


async def ensure_custom_attributes(
    client: Client, keys: tuple[SearchAttributeKey[Any], ...] = CUSTOM_ATTRIBUTES
) -> None:
    """Registers the tests' custom search attributes in the client's namespace if missing."""
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = {
        key.name: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{key.indexed_value_type.name}")
        for key in keys
        if key.name not in listed.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )


async def _patched(client: Client, workflow_id: str, task_queue: str) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        PatchedWorkflow.run, "Strom", id=workflow_id, task_queue=task_queue
    )


async def _deprecated_patch(
    client: Client, workflow_id: str, task_queue: str
) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        DeprecatedPatchWorkflow.run, "Strom", id=workflow_id, task_queue=task_queue
    )


async def _local_activities(
    client: Client, workflow_id: str, task_queue: str
) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        LocalActivitiesWorkflow.run, args=["Strom", 0.1], id=workflow_id, task_queue=task_queue
    )


async def _local_activity_heartbeat(
    client: Client, workflow_id: str, task_queue: str
) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        LocalActivitiesWorkflow.run,
        args=["Strom", HEARTBEAT_ACTIVITY_SECONDS],
        id=workflow_id,
        task_queue=task_queue,
        task_timeout=HEARTBEAT_TASK_TIMEOUT,
    )


async def _upsert(client: Client, workflow_id: str, task_queue: str) -> WorkflowHandle[Any, Any]:
    await ensure_custom_attributes(client)
    return await client.start_workflow(
        UpsertWorkflow.run,
        "Strom",
        id=workflow_id,
        task_queue=task_queue,
        memo={"kept": "from the start", "removed": "soon"},
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(KEYWORD, "initial"), SearchAttributePair(INT, 1)]
        ),
    )


async def _eager_start(
    client: Client, workflow_id: str, task_queue: str
) -> WorkflowHandle[Any, Any]:
    handle = await client.start_workflow(
        HelloWorkflow.run,
        "Strom",
        id=workflow_id,
        task_queue=task_queue,
        request_eager_start=True,
        # A task that missed the worker would wait this long: the test would time out.
        task_timeout=timedelta(minutes=2),
    )
    if not getattr(handle, "__temporal_eagerly_started", False):
        raise AssertionError("the server did not start the workflow eagerly")
    return handle


MARKER_CASES: dict[str, Starter] = {
    "patched": _patched,
    "deprecated_patch": _deprecated_patch,
    "local_activities": _local_activities,
    "local_activity_heartbeat": _local_activity_heartbeat,
    "upsert": _upsert,
    "eager_start": _eager_start,
}
"""Golden name -> how to start the case; every case completes successfully."""
