"""The JWT authorizer: tokens signed here, sent by the official SDK's client and over HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from grpc_health.v1 import health_pb2, health_pb2_grpc
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    GetClusterInfoRequest,
    GetSystemInfoRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from frontend.__main__ import authorizer_from_args, build_parser
from frontend.auth import Authorizer, JwksKeys, JwtClaimMapper, Role
from frontend.auth.access import required
from frontend.auth.claims import permissions_to_claims
from frontend.http import start_http_api
from frontend.server import servicer
from tests.unit.frontend.conftest import TEST_CONFIG, Frontend, StartFrontend
from tests.unit.frontend.http.test_server import Api

PERMISSION_DENIED_FAILURE = (
    "type.googleapis.com/temporal.api.errordetails.v1.PermissionDeniedFailure"
)


@dataclasses.dataclass
class Issuer:
    """Signs tokens with keys published in a JWKS file."""

    rsa_key: rsa.RSAPrivateKey
    ec_key: ec.EllipticCurvePrivateKey
    jwks: Path

    def token(
        self, permissions: Any, *, alg: str = "RS256", kid: str | None = None, **claims: Any
    ) -> str:
        key = self.rsa_key if alg == "RS256" else self.ec_key
        body = {"sub": "alice", "permissions": permissions, "exp": time.time() + 600, **claims}
        headers = {"kid": kid or alg.lower()}
        return jwt.encode(body, key, algorithm=alg, headers=headers)


def _jwks(*keys: tuple[str, Any]) -> str:
    entries = []
    for kid, key in keys:
        algorithm = (
            jwt.algorithms.RSAAlgorithm if kid.startswith("rs") else jwt.algorithms.ECAlgorithm
        )
        entry = json.loads(algorithm.to_jwk(key.public_key()))
        entries.append({**entry, "kid": kid})
    return json.dumps({"keys": entries})


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    jwks = tmp_path_factory.mktemp("jwks") / "keys.json"
    jwks.write_text(_jwks(("rs256", rsa_key), ("es256", ec_key)))
    return Issuer(rsa_key, ec_key, jwks)


def _authorizer(issuer: Issuer, **options: Any) -> Authorizer:
    keys = JwksKeys([str(issuer.jwks)], refresh_s=options.pop("refresh_s", 0))
    keys.load()
    return Authorizer(JwtClaimMapper(keys, **options))


@pytest.fixture
async def secured(start_frontend: StartFrontend, issuer: Issuer) -> Frontend:
    return await start_frontend(dataclasses.replace(TEST_CONFIG, authorizer=_authorizer(issuer)))


async def _client(frontend: Frontend, token: str | None, namespace: str = "default") -> Client:
    metadata = {"authorization": f"Bearer {token}"} if token else {}
    return await Client.connect(frontend.address, namespace=namespace, rpc_metadata=metadata)


async def _denied(call: Any) -> None:
    with pytest.raises(RPCError) as caught:
        await call
    assert caught.value.status == RPCStatusCode.PERMISSION_DENIED
    assert caught.value.message == "Request unauthorized."
    assert [d.type_url for d in caught.value.grpc_status.details] == [PERMISSION_DENIED_FAILURE]


async def test_without_a_token_only_the_health_checks_answer(secured: Frontend) -> None:
    client = await _client(secured, None)  # connect asks GetSystemInfo: always allowed

    await _denied(client.start_workflow("Greet", id="wf", task_queue="tq"))
    await _denied(
        client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="default"))
    )
    assert secured.history.sent == []


async def test_roles_of_the_permissions_claim_gate_each_rpc(
    secured: Frontend, issuer: Issuer
) -> None:
    reader = await _client(secured, issuer.token(["default:read"]))
    described = await reader.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace="default")
    )
    assert described.namespace_info.name == "default"
    await _denied(reader.start_workflow("Greet", id="wf-r", task_queue="tq"))

    writer = await _client(secured, issuer.token(["default:write", "other:read"]))
    handle = await writer.start_workflow("Greet", id="wf-w", task_queue="tq")
    assert ("default", "wf-w") in secured.history.runs and handle.result_run_id
    # Namespace roles grant nothing cluster-wide, nor in another namespace.
    await _denied(writer.workflow_service.get_cluster_info(GetClusterInfoRequest()))
    elsewhere = await _client(secured, issuer.token(["default:write"]), namespace="old")
    await _denied(elsewhere.start_workflow("Greet", id="wf-o", task_queue="tq"))

    # A worker-only role is below read (Temporal compares the role bitmask as a number).
    worker = await _client(secured, issuer.token(["default:worker"]))
    await _denied(worker.start_workflow("Greet", id="wf-k", task_queue="tq"))


async def test_system_roles_apply_everywhere(secured: Frontend, issuer: Issuer) -> None:
    admin = await _client(secured, issuer.token(["temporal-system:admin"], alg="ES256"))
    info = await admin.workflow_service.get_cluster_info(GetClusterInfoRequest())
    assert info.cluster_name
    await admin.start_workflow("Greet", id="wf-a", task_queue="tq")
    await admin.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace="default",
            search_attributes={"Color": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD},
        )
    )
    writer = await _client(secured, issuer.token(["default:write"]))
    await _denied(
        writer.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace="default",
                search_attributes={"Size": IndexedValueType.INDEXED_VALUE_TYPE_INT},
            )
        )
    )


@pytest.mark.parametrize(
    "case",
    ["expired", "not yet valid", "unknown kid", "no kid", "other key", "hs256", "no sub", "basic"],
)
async def test_a_token_that_does_not_verify_is_refused(
    secured: Frontend, issuer: Issuer, case: str
) -> None:
    admin = ["temporal-system:admin"]
    header = f"Bearer {issuer.token(admin)}"
    if case == "expired":
        header = f"Bearer {issuer.token(admin, exp=time.time() - 10)}"
    elif case == "not yet valid":
        header = f"Bearer {issuer.token(admin, nbf=time.time() + 600)}"
    elif case == "unknown kid":
        header = f"Bearer {issuer.token(admin, kid='nope')}"
    elif case == "no kid":
        header = "Bearer " + jwt.encode({"sub": "a", "permissions": admin}, issuer.rsa_key, "RS256")
    elif case == "other key":
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        body = {"sub": "a", "permissions": admin}
        header = "Bearer " + jwt.encode(body, stranger, "RS256", headers={"kid": "rs256"})
    elif case == "hs256":
        body = {"sub": "a", "permissions": admin}
        header = "Bearer " + jwt.encode(body, "secret" * 8, "HS256", headers={"kid": "rs256"})
    elif case == "no sub":
        header = f"Bearer {issuer.token(admin, sub=7)}"
    elif case == "basic":
        header = "Basic YWxpY2U6c2VjcmV0"
    client = await Client.connect(secured.address, rpc_metadata={"authorization": header})
    await _denied(client.workflow_service.get_cluster_info(GetClusterInfoRequest()))


async def test_the_audience_is_checked_when_configured(
    start_frontend: StartFrontend, issuer: Issuer
) -> None:
    config = dataclasses.replace(TEST_CONFIG, authorizer=_authorizer(issuer, audience="strom"))
    frontend = await start_frontend(config)
    admin = ["temporal-system:admin"]
    right = await _client(frontend, issuer.token(admin, aud="strom"))
    assert (await right.workflow_service.get_cluster_info(GetClusterInfoRequest())).cluster_name
    wrong = await _client(frontend, issuer.token(admin, aud="someone-else"))
    await _denied(wrong.workflow_service.get_cluster_info(GetClusterInfoRequest()))


async def test_keys_are_reread_after_the_refresh_interval(
    start_frontend: StartFrontend, issuer: Issuer, tmp_path: Path
) -> None:
    jwks = tmp_path / "rotating.json"
    jwks.write_text(_jwks(("rs256", issuer.rsa_key)))
    keys = JwksKeys([jwks.as_uri()], refresh_s=0.2)
    keys.load()
    config = dataclasses.replace(TEST_CONFIG, authorizer=Authorizer(JwtClaimMapper(keys)))
    frontend = await start_frontend(config)
    token = issuer.token(["temporal-system:read"], alg="ES256")
    client = await _client(frontend, token)
    await _denied(client.workflow_service.get_cluster_info(GetClusterInfoRequest()))

    jwks.write_text(_jwks(("rs256", issuer.rsa_key), ("es256", issuer.ec_key)))
    await asyncio.sleep(0.3)
    assert (await client.workflow_service.get_cluster_info(GetClusterInfoRequest())).cluster_name


@pytest.fixture
async def secured_api(secured: Frontend) -> AsyncIterator[Api]:
    server = await start_http_api(servicer(secured.server), "127.0.0.1", 0, 1.0)
    try:
        yield Api(secured, server)
    finally:
        await server.stop()


async def test_the_http_api_checks_the_authorization_header(
    secured_api: Api, issuer: Issuer
) -> None:
    assert (await secured_api.call("GET", "/api/v1/system-info")).status == 200
    refused = await secured_api.call("GET", "/api/v1/namespaces/default")
    assert refused.status == 403
    assert refused.json()["message"] == "Request unauthorized."

    token = issuer.token(["default:read"])
    described = await secured_api.call(
        "GET", "/api/v1/namespaces/default", Authorization=f"Bearer {token}"
    )
    assert described.status == 200
    assert described.json()["namespaceInfo"]["name"] == "default"
    started = await secured_api.call(
        "POST",
        "/api/v1/namespaces/default/workflows/wf-h",
        json.dumps({"workflowType": {"name": "Greet"}, "taskQueue": {"name": "tq"}}),
        Authorization=f"Bearer {token}",
    )
    assert started.status == 403


def test_permission_strings_map_to_roles() -> None:
    claims = permissions_to_claims(
        "bob",
        ["default:read", "default:WRITE", "temporal-system:worker", "Temporal-system:admin",
         "nocolon", 42, "ns:unknown", "a:b:admin"],
    )  # fmt: skip
    assert claims.system == Role.WORKER
    assert claims.namespaces == {
        "default": Role.READER | Role.WRITER,
        "Temporal-system": Role.ADMIN,
        "ns": Role.NONE,
        "a": Role.NONE,
    }
    assert claims.role_in("default") == Role.READER | Role.WRITER | Role.WORKER
    assert permissions_to_claims("bob", "default:admin").namespaces == {}


def test_every_rpc_has_temporals_required_role() -> None:
    ws = "/temporal.api.workflowservice.v1.WorkflowService/"
    assert required(ws + "PollWorkflowTaskQueue") == (required(ws + "SignalWorkflowExecution"))
    assert required(ws + "QueryWorkflow")[1] is Role.READER  # type: ignore[index]
    assert required(ws + "RegisterNamespace")[1] is Role.ADMIN  # type: ignore[index]
    assert required(ws + "ListNamespaces")[0].value == "cluster"  # type: ignore[index]
    assert required(ws + "NoSuchRpc") is None
    assert required("/other.Service/Call") is None


def test_authorization_flags(issuer: Issuer, tmp_path: Path) -> None:
    base = ["--bootstrap", "b:1", "--es-url", "http://e"]
    assert authorizer_from_args(build_parser().parse_args(base)) is None
    on = authorizer_from_args(build_parser().parse_args([*base, "--auth-jwks", str(issuer.jwks)]))
    assert on is not None
    with pytest.raises(SystemExit, match="cannot read the JWKS"):
        authorizer_from_args(build_parser().parse_args([*base, "--auth-jwks", str(tmp_path / "x")]))
    (tmp_path / "bad.json").write_text("[1]")
    with pytest.raises(SystemExit, match="not a JWKS document"):
        authorizer_from_args(
            build_parser().parse_args([*base, "--auth-jwks", str(tmp_path / "bad.json")])
        )


async def test_system_info_needs_no_token(secured: Frontend) -> None:
    assert (await secured.stub.GetSystemInfo(GetSystemInfoRequest())).server_version


async def test_health_check_is_open_and_watch_needs_a_role(secured: Frontend) -> None:
    health = health_pb2_grpc.HealthStub(secured.channel)
    service = ""  # the server as a whole
    checked = await health.Check(health_pb2.HealthCheckRequest(service=service))
    assert checked.status == health_pb2.HealthCheckResponse.SERVING
    watch = health.Watch(health_pb2.HealthCheckRequest(service=service))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await watch.read()
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert caught.value.details() == "Request unauthorized."
