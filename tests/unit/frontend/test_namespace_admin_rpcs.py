"""RegisterNamespace, UpdateNamespace, DeprecateNamespace, OperatorService.DeleteNamespace."""

from __future__ import annotations

from dataclasses import replace

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import WorkflowType
from temporalio.api.enums.v1 import (
    ArchivalState,
    NamespaceState,
    ResourceExhaustedCause,
    ResourceExhaustedScope,
)
from temporalio.api.errordetails.v1 import NamespaceInvalidStateFailure, ResourceExhaustedFailure
from temporalio.api.namespace.v1 import NamespaceConfig, NamespaceFilter, UpdateNamespaceInfo
from temporalio.api.operatorservice.v1 import DeleteNamespaceRequest
from temporalio.api.operatorservice.v1 import request_response_pb2 as operator_messages
from temporalio.api.operatorservice.v1.service_pb2_grpc import OperatorServiceStub
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DeprecateNamespaceRequest,
    DescribeNamespaceRequest,
    ListNamespacesRequest,
    RegisterNamespaceRequest,
    StartWorkflowExecutionRequest,
    UpdateNamespaceRequest,
)
from temporalio.api.workflowservice.v1 import request_response_pb2 as messages

from frontend.operator import HANDLERS as OPERATOR_HANDLERS
from frontend.ratelimit import NamespaceRateLimiter
from frontend.rpc import HANDLERS
from schemas.namespaces import namespace_id
from tests.unit.frontend.conftest import TEST_CONFIG, Frontend, StartFrontend
from tests.unit.frontend.helpers import failure

DAY = Duration(seconds=86400)


def register(name: str, **fields: object) -> RegisterNamespaceRequest:
    fields.setdefault("workflow_execution_retention_period", DAY)
    return RegisterNamespaceRequest(namespace=name, **fields)  # type: ignore[arg-type]


def start(namespace: str) -> StartWorkflowExecutionRequest:
    return StartWorkflowExecutionRequest(
        namespace=namespace,
        workflow_id="wf",
        workflow_type=WorkflowType(name="W"),
        task_queue=TaskQueue(name="q"),
        request_id="r1",
    )


async def test_register_then_describe(frontend: Frontend) -> None:
    await frontend.stub.RegisterNamespace(
        register(
            "payments",
            description="money",
            owner_email="ops@example.com",
            data={"team": "p"},
            workflow_execution_retention_period=Duration(seconds=7200),
            history_archival_state=ArchivalState.ARCHIVAL_STATE_ENABLED,
            history_archival_uri="file:///archive/h",
        )
    )

    described = await frontend.stub.DescribeNamespace(
        DescribeNamespaceRequest(namespace="payments")
    )
    info, config = described.namespace_info, described.config
    assert (info.name, info.description, info.owner_email) == (
        "payments",
        "money",
        "ops@example.com",
    )
    assert dict(info.data) == {"team": "p"}
    assert info.state == NamespaceState.NAMESPACE_STATE_REGISTERED
    assert info.id == namespace_id("strom", "payments")
    assert config.workflow_execution_retention_ttl.seconds == 7200
    assert config.history_archival_state == ArchivalState.ARCHIVAL_STATE_ENABLED
    assert config.history_archival_uri == "file:///archive/h"
    assert config.visibility_archival_state == ArchivalState.ARCHIVAL_STATE_DISABLED
    by_id = await frontend.stub.DescribeNamespace(DescribeNamespaceRequest(id=info.id))
    assert by_id == described


async def test_register_existing_name_is_already_exists(frontend: Frontend) -> None:
    status = await failure(frontend.stub, "RegisterNamespace", register("default"))

    assert status.code == grpc.StatusCode.ALREADY_EXISTS
    assert status.message == 'Namespace "default" already exists'
    assert status.detail_type == "temporal.api.errordetails.v1.NamespaceAlreadyExistsFailure"


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (register(""), "Namespace not set on request."),
        (register("x" * 1001), "Namespace length exceeds limit."),
        (
            RegisterNamespaceRequest(namespace="n"),
            "A valid retention period is not set on request.",
        ),
        (
            register("n", workflow_execution_retention_period=Duration(seconds=60)),
            "A valid retention period is not set on request.",
        ),
        (
            register("n", is_global_namespace=True),
            "Cannot register global namespace when not enabled",
        ),
        (register("n", active_cluster_name="other"), "Invalid local namespace active cluster"),
        (
            register("n", history_archival_state=ArchivalState.ARCHIVAL_STATE_ENABLED),
            "Archival URI is not set on request: Strom has no cluster default archival URI.",
        ),
        (
            register("n", data={"frontend.namespaceRPS": "fast"}),
            "Namespace data frontend.namespaceRPS must be a positive number of requests per "
            "second, got 'fast'.",
        ),
    ],
)
async def test_register_bad_requests(
    frontend: Frontend, request_: RegisterNamespaceRequest, message: str
) -> None:
    status = await failure(frontend.stub, "RegisterNamespace", request_)

    assert (status.code, status.message) == (grpc.StatusCode.INVALID_ARGUMENT, message)
    assert frontend.namespaces.get("n") is None


async def test_update_changes_what_is_set_and_bumps_the_version(frontend: Frontend) -> None:
    await frontend.stub.RegisterNamespace(register("ns", description="a", data={"k": "1"}))
    before = frontend.namespaces.get("ns")
    assert before is not None

    response = await frontend.stub.UpdateNamespace(
        UpdateNamespaceRequest(
            namespace="ns",
            update_info=UpdateNamespaceInfo(owner_email="me@example.com", data={"k2": "2"}),
            config=NamespaceConfig(
                workflow_execution_retention_ttl=Duration(seconds=3 * 86400),
                visibility_archival_state=ArchivalState.ARCHIVAL_STATE_ENABLED,
                visibility_archival_uri="s3://bucket/vis",
            ),
        )
    )

    info, config = response.namespace_info, response.config
    assert (info.description, info.owner_email) == ("a", "me@example.com")
    assert dict(info.data) == {"k": "1", "k2": "2"}
    assert config.workflow_execution_retention_ttl.seconds == 3 * 86400
    assert config.visibility_archival_state == ArchivalState.ARCHIVAL_STATE_ENABLED
    assert config.visibility_archival_uri == "s3://bucket/vis"
    after = frontend.namespaces.get("ns")
    assert after is not None and after.version == before.version + 1
    described = await frontend.stub.DescribeNamespace(DescribeNamespaceRequest(namespace="ns"))
    assert described.namespace_info == info and described.config == config

    unchanged = await frontend.stub.UpdateNamespace(UpdateNamespaceRequest(namespace="ns"))
    assert unchanged.namespace_info == info
    assert frontend.namespaces.get("ns") == after  # nothing changed, nothing written


async def test_update_keeps_an_archival_uri_once_set(frontend: Frontend) -> None:
    await frontend.stub.RegisterNamespace(
        register("ns", history_archival_state=1, history_archival_uri="file:///a")
    )
    disabled = await frontend.stub.UpdateNamespace(
        UpdateNamespaceRequest(namespace="ns", config=NamespaceConfig(history_archival_state=1))
    )
    assert disabled.config.history_archival_state == ArchivalState.ARCHIVAL_STATE_DISABLED
    assert disabled.config.history_archival_uri == "file:///a"

    status = await failure(
        frontend.stub,
        "UpdateNamespace",
        UpdateNamespaceRequest(
            namespace="ns", config=NamespaceConfig(history_archival_uri="file:///b")
        ),
    )

    assert (status.code, status.message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "Cannot update existing archival URI",
    )


async def test_update_unknown_namespace_and_bad_state_change(frontend: Frontend) -> None:
    missing = await failure(
        frontend.stub, "UpdateNamespace", UpdateNamespaceRequest(namespace="nope")
    )
    back = await failure(
        frontend.stub,
        "UpdateNamespace",
        UpdateNamespaceRequest(
            namespace="old",
            update_info=UpdateNamespaceInfo(state=NamespaceState.NAMESPACE_STATE_REGISTERED),
        ),
    )

    assert (missing.code, missing.detail_type) == (
        grpc.StatusCode.NOT_FOUND,
        "temporal.api.errordetails.v1.NamespaceNotFoundFailure",
    )
    assert (back.code, back.message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "Invalid namespace state update.",
    )


async def test_deprecated_namespace_refuses_starts(frontend: Frontend) -> None:
    await frontend.stub.RegisterNamespace(register("ns"))
    await frontend.stub.StartWorkflowExecution(start("ns"))

    await frontend.stub.DeprecateNamespace(DeprecateNamespaceRequest(namespace="ns"))
    status = await failure(frontend.stub, "StartWorkflowExecution", start("ns"))

    assert status.code == grpc.StatusCode.FAILED_PRECONDITION
    assert status.message == "Namespace has invalid state: Deprecated. Must be Registered."
    assert status.details is not None
    detail = NamespaceInvalidStateFailure()
    assert status.details.details[0].Unpack(detail)
    assert (detail.namespace, detail.state) == ("ns", NamespaceState.NAMESPACE_STATE_DEPRECATED)
    missing = await failure(
        frontend.stub, "DeprecateNamespace", DeprecateNamespaceRequest(namespace="nope")
    )
    assert missing.code == grpc.StatusCode.NOT_FOUND


async def test_delete_renames_and_frees_the_name(frontend: Frontend) -> None:
    operator = OperatorServiceStub(frontend.channel)
    await frontend.stub.RegisterNamespace(register("ns"))
    ns_id = namespace_id("strom", "ns")

    response = await operator.DeleteNamespace(DeleteNamespaceRequest(namespace="ns"))

    assert response.deleted_namespace == f"ns-deleted-{ns_id[:5]}"
    gone = await failure(frontend.stub, "StartWorkflowExecution", start("ns"))
    assert (gone.code, gone.message) == (grpc.StatusCode.NOT_FOUND, "Namespace ns is not found.")
    renamed = await frontend.stub.DescribeNamespace(DescribeNamespaceRequest(id=ns_id))
    assert renamed.namespace_info.name == response.deleted_namespace
    assert renamed.namespace_info.state == NamespaceState.NAMESPACE_STATE_DELETED
    refused = await failure(
        frontend.stub, "StartWorkflowExecution", start(response.deleted_namespace)
    )
    assert refused.code == grpc.StatusCode.FAILED_PRECONDITION
    listed = await frontend.stub.ListNamespaces(ListNamespacesRequest())
    assert "ns" not in [n.namespace_info.name for n in listed.namespaces]
    everything = await frontend.stub.ListNamespaces(
        ListNamespacesRequest(namespace_filter=NamespaceFilter(include_deleted=True))
    )
    assert response.deleted_namespace in [n.namespace_info.name for n in everything.namespaces]

    # The name can be registered again; the new namespace gets an id of its own.
    await frontend.stub.RegisterNamespace(register("ns"))
    again = await frontend.stub.DescribeNamespace(DescribeNamespaceRequest(namespace="ns"))
    assert again.namespace_info.id != ns_id
    still = await frontend.stub.DescribeNamespace(DescribeNamespaceRequest(id=ns_id))
    assert still.namespace_info.name == response.deleted_namespace


async def test_delete_unknown_namespace(frontend: Frontend) -> None:
    operator = OperatorServiceStub(frontend.channel)
    for request in (
        DeleteNamespaceRequest(namespace="nope"),
        DeleteNamespaceRequest(namespace_id="x"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await operator.DeleteNamespace(request)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await operator.DeleteNamespace(DeleteNamespaceRequest())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_namespace_rps_from_its_data(start_frontend: StartFrontend) -> None:
    clock = FakeClock()
    frontend = await start_frontend(limiter=NamespaceRateLimiter(100, 200, clock=clock))
    await frontend.stub.RegisterNamespace(register("slow", data={"frontend.namespaceRPS": "1"}))
    describe = DescribeNamespaceRequest(namespace="slow")

    # Burst in the cluster's ratio (2x): two calls pass, the third is refused.
    await frontend.stub.DescribeNamespace(describe)
    await frontend.stub.DescribeNamespace(describe)
    status = await failure(frontend.stub, "DescribeNamespace", describe)
    assert (status.code, status.message) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "namespace rate limit exceeded",
    )
    for _ in range(20):  # other namespaces keep the cluster default
        await frontend.stub.DescribeNamespace(DescribeNamespaceRequest(namespace="default"))

    clock.now += 1.0
    await frontend.stub.DescribeNamespace(describe)


async def test_every_rpc_naming_an_unknown_namespace_is_not_found(frontend: Frontend) -> None:

    operator = OperatorServiceStub(frontend.channel)
    checked = []
    for stub, module, names in (
        (frontend.stub, messages, HANDLERS),
        (operator, operator_messages, OPERATOR_HANDLERS),
    ):
        for rpc in sorted(names):
            request_type = getattr(module, f"{rpc}Request")
            if "namespace" not in request_type.DESCRIPTOR.fields_by_name:
                continue
            if rpc == "RegisterNamespace":
                continue
            # Temporal checks the namespace before anything else in the request.
            status = await failure(stub, rpc, request_type(namespace="nope"))  # type: ignore[arg-type]
            assert (status.code, status.message) == (
                grpc.StatusCode.NOT_FOUND,
                "Namespace nope is not found.",
            ), rpc
            checked.append(rpc)
    assert {"UpdateNamespace", "DeprecateNamespace", "DeleteNamespace"} <= set(checked)
    assert len(checked) > 25


async def test_frontend_produce_limit_answers_persistence_limit(
    start_frontend: StartFrontend,
) -> None:

    frontend = await start_frontend(replace(TEST_CONFIG, persistence_max_qps=1.0))
    await frontend.stub.StartWorkflowExecution(start("default"))

    request = start("default")
    request.workflow_id = "wf-2"
    status = await failure(frontend.stub, "StartWorkflowExecution", request)

    assert (status.code, status.message) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "System Persistence Max QPS Reached.",
    )
    assert status.details is not None
    detail = ResourceExhaustedFailure()
    assert status.details.details[0].Unpack(detail)
    assert detail.cause == ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_PERSISTENCE_LIMIT
    assert detail.scope == ResourceExhaustedScope.RESOURCE_EXHAUSTED_SCOPE_SYSTEM
    # Reads that put nothing on the inbox are not limited by it.
    await frontend.stub.DescribeNamespace(DescribeNamespaceRequest(namespace="default"))
