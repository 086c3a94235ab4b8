"""Two Strom clusters replicating a global namespace: what the replication tests share."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.api.replication.v1 import ClusterReplicationConfig, NamespaceReplicationConfig
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from helpers import eventually_async
from strom.testing import StromEnvironment
from tests.workflows.signal_collector import SignalCollectorWorkflow

WAIT_S = 180.0  # generous: a loaded CI box runs two clusters and a replicator here


@dataclass
class Pair:
    """The two clusters, the replicator between them and the global namespace."""

    active: StromEnvironment
    standby: StromEnvironment
    namespace: str
    replicator_metrics: str
    replicator_log: Path
    back_log: Path
    active_kafka: str
    standby_kafka: str


async def client(env: StromEnvironment, namespace: str) -> Client:
    return await Client.connect(env.target, namespace=namespace)


async def completed_tasks(client: Client, workflow_id: str, count: int) -> WorkflowHistory | None:
    """The run's history once it holds ``count`` completed workflow tasks, else None."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    done = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]
    return history if len(done) >= count else None


async def register_global(one: StromEnvironment, other: StromEnvironment, name: str) -> None:
    """Registers global namespace ``name`` on ``one``, for both; returns once ``other`` has it."""
    await one.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=name,
            workflow_execution_retention_period={"seconds": 86400},  # type: ignore[arg-type]
            is_global_namespace=True,
            clusters=[
                ClusterReplicationConfig(cluster_name=one.services.topology.prefix),
                ClusterReplicationConfig(cluster_name=other.services.topology.prefix),
            ],
        )
    )
    await eventually_async(
        lambda: other.client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=name)
        ),
        WAIT_S,
        0.5,
        retry_on=(RPCError,),
    )


async def fail_over(env: StromEnvironment, namespace: str, to: StromEnvironment) -> int:
    """Makes ``to`` the active cluster of ``namespace`` through ``env``; the new version."""
    name = to.services.topology.prefix
    moved = await env.client.workflow_service.update_namespace(
        UpdateNamespaceRequest(
            namespace=namespace,
            replication_config=NamespaceReplicationConfig(active_cluster_name=name),
        )
    )
    assert moved.replication_config.active_cluster_name == name
    return int(moved.failover_version)


async def refuses_as_standby(client: Client) -> bool:
    """Whether the cluster's history refuses to decide for the client's namespace.

    The signal goes to a workflow id that never ran, so an active cluster changes nothing
    (NOT_FOUND) while a standby one refuses it as Temporal does.
    """
    try:
        await client.get_workflow_handle(f"absent-{uuid.uuid4().hex}").signal(
            SignalCollectorWorkflow.add, "no"
        )
    except RPCError as err:
        return err.status == RPCStatusCode.FAILED_PRECONDITION and "standby" in err.message
    return False


async def active_in(env: StromEnvironment, namespace: str, cluster: StromEnvironment) -> bool:
    described = await env.client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=namespace)
    )
    return described.replication_config.active_cluster_name == cluster.services.topology.prefix


async def same_history(client: Client, workflow_id: str, expected: WorkflowHistory) -> bool:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return list(history.events) == list(expected.events)


async def signal_when_active(client: Client, workflow_id: str, value: str) -> None:
    async def signalled() -> bool:
        await client.get_workflow_handle(workflow_id).signal(SignalCollectorWorkflow.add, value)
        return True

    # Each history process sees the failover as soon as it reads the namespace record.
    await eventually_async(signalled, WAIT_S, 0.5, retry_on=(RPCError,))
