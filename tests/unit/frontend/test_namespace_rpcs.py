"""GetSystemInfo, GetClusterInfo, DescribeNamespace, ListNamespaces."""

from __future__ import annotations

import grpc
from temporalio.api.enums.v1 import NamespaceState
from temporalio.api.namespace.v1 import NamespaceFilter
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    GetClusterInfoRequest,
    GetSystemInfoRequest,
    ListNamespacesRequest,
)

from schemas.namespaces import default_namespace
from tests.unit.frontend.conftest import Frontend


async def test_system_info_advertises_only_what_strom_supports(frontend: Frontend) -> None:
    info = await frontend.stub.GetSystemInfo(GetSystemInfoRequest())

    caps = info.capabilities
    assert info.server_version == "1.32.0"
    assert caps.signal_and_query_header and caps.internal_error_differentiation
    assert caps.activity_failure_include_heartbeat and caps.encoded_failure_attributes
    assert caps.sdk_metadata
    assert caps.eager_workflow_start and caps.upsert_memo
    assert not caps.supports_schedules
    assert caps.build_id_based_versioning  # as the dev server: workers stamp their build id
    assert not caps.nexus


async def test_cluster_info_is_stable(frontend: Frontend) -> None:
    first = await frontend.stub.GetClusterInfo(GetClusterInfoRequest())
    second = await frontend.stub.GetClusterInfo(GetClusterInfoRequest())

    assert first.cluster_name == "strom"
    assert first.cluster_id == second.cluster_id != ""
    assert first.supported_clients["temporal-cli"] == "<2.0.0"


async def test_describe_default_namespace(frontend: Frontend) -> None:
    by_name = await frontend.stub.DescribeNamespace(DescribeNamespaceRequest(namespace="default"))
    by_id = await frontend.stub.DescribeNamespace(
        DescribeNamespaceRequest(id=by_name.namespace_info.id)
    )

    assert by_name == by_id
    assert by_name.namespace_info.id == default_namespace("strom").id
    assert by_name.namespace_info.state == NamespaceState.NAMESPACE_STATE_REGISTERED
    assert by_name.config.workflow_execution_retention_ttl.seconds == 86400
    assert by_name.replication_config.active_cluster_name == "strom"
    assert by_name.namespace_info.capabilities.eager_workflow_start


async def test_describe_deleted_namespace_shows_its_state(frontend: Frontend) -> None:
    response = await frontend.stub.DescribeNamespace(DescribeNamespaceRequest(namespace="gone"))

    assert response.namespace_info.state == NamespaceState.NAMESPACE_STATE_DELETED


async def test_list_namespaces_pages_and_hides_deleted(frontend: Frontend) -> None:
    first = await frontend.stub.ListNamespaces(ListNamespacesRequest(page_size=1))
    second = await frontend.stub.ListNamespaces(
        ListNamespacesRequest(page_size=1, next_page_token=first.next_page_token)
    )
    everything = await frontend.stub.ListNamespaces(
        ListNamespacesRequest(namespace_filter=NamespaceFilter(include_deleted=True))
    )

    assert [ns.namespace_info.name for ns in first.namespaces] == ["default"]
    assert [ns.namespace_info.name for ns in second.namespaces] == ["old"]
    assert second.next_page_token == b""
    assert [ns.namespace_info.name for ns in everything.namespaces] == ["default", "gone", "old"]


async def test_bad_list_namespaces_token(frontend: Frontend) -> None:
    try:
        await frontend.stub.ListNamespaces(ListNamespacesRequest(next_page_token=b"\xff"))
    except grpc.aio.AioRpcError as err:
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    else:
        raise AssertionError("accepted an undecodable page token")
