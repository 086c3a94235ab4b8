"""The HTTP API in-process over the fake backends, spoken to with plain HTTP requests."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from google.protobuf import json_format
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from frontend.http import HttpApiServer, start_http_api
from frontend.ratelimit import NamespaceRateLimiter
from frontend.server import servicer
from tests.unit.frontend.conftest import Frontend, StartFrontend

NOT_FOUND_FAILURE = "type.googleapis.com/temporal.api.errordetails.v1.NotFoundFailure"


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _request(url: str, method: str, body: bytes | None, headers: dict[str, str]) -> Answer:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Answer(response.status, response.headers["Content-Type"], response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers["Content-Type"], error.read())


@dataclass
class Api:
    frontend: Frontend
    server: HttpApiServer

    async def call(self, method: str, path: str, body: str | None = None, **headers: str) -> Answer:
        url = f"http://127.0.0.1:{self.server.port}{path}"
        data = None if body is None else body.encode()
        return await asyncio.to_thread(_request, url, method, data, headers)


async def serve_http(frontend: Frontend) -> AsyncIterator[Api]:
    server = await start_http_api(servicer(frontend.server), "127.0.0.1", 0, 1.0)
    try:
        yield Api(frontend, server)
    finally:
        await server.stop()


@pytest.fixture
async def api(frontend: Frontend) -> AsyncIterator[Api]:
    async for served in serve_http(frontend):
        yield served


async def test_system_info_answers_what_the_grpc_api_answers(api: Api) -> None:
    answer = await api.call("GET", "/api/v1/system-info")

    over_grpc = await api.frontend.stub.GetSystemInfo(GetSystemInfoRequest())
    assert (answer.status, answer.content_type) == (200, "*")
    assert answer.json() == json_format.MessageToDict(over_grpc)


async def test_describe_namespace_by_path(api: Api) -> None:
    answer = await api.call("GET", "/api/v1/namespaces/default")

    assert answer.status == 200
    assert answer.json()["namespaceInfo"]["name"] == "default"
    assert answer.json()["namespaceInfo"]["state"] == "NAMESPACE_STATE_REGISTERED"


async def test_start_then_read_back_with_payloads_in_shorthand(api: Api) -> None:
    body = '{"workflowType":{"name":"Greet"},"taskQueue":{"name":"q"},"input":["hi",{"n":1}]}'

    started = await api.call("POST", "/api/v1/namespaces/default/workflows/wf-1", body)
    history = await api.call("GET", "/api/v1/namespaces/default/workflows/wf-1/history")

    assert started.status == 200
    run_id = started.json()["runId"]
    recorded = api.frontend.history.runs[("default", "wf-1")]
    assert recorded.run_id == run_id
    sent = next(c.request for c in api.frontend.history.sent if c.kind == "StartWorkflowExecution")
    assert [p.data for p in sent.input.payloads] == [b'"hi"', b'{"n":1}']  # type: ignore[attr-defined]
    assert sent.workflow_type.name == "Greet"  # type: ignore[attr-defined]
    assert history.status == 200
    assert history.json()["history"]["events"][0]["eventType"] == (
        "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    )


async def test_list_takes_its_query_from_the_url(api: Api) -> None:
    body = '{"workflowType":{"name":"T"},"taskQueue":{"name":"q"}}'
    await api.call("POST", "/api/v1/namespaces/default/workflows/wf-a", body)

    answer = await api.call(
        "GET", "/api/v1/namespaces/default/workflows?query=WorkflowId%3D%22wf-a%22&pageSize=7"
    )

    assert answer.status == 200
    assert api.frontend.visibility.calls[-1] == ("default", 'WorkflowId="wf-a"', 7, b"")
    assert [e["execution"]["workflowId"] for e in answer.json()["executions"]] == ["wf-a"]


async def test_unknown_workflow_is_404_with_grpc_gateways_body(api: Api) -> None:
    answer = await api.call("GET", "/api/v1/namespaces/default/workflows/missing")

    assert answer.status == 404
    assert answer.json() == {
        "code": 5,
        "message": "workflow not found for ID: missing",
        "details": [{"@type": NOT_FOUND_FAILURE}],
    }


async def test_unimplemented_rpc_is_501_naming_it(api: Api) -> None:
    answer = await api.call("POST", "/api/v1/namespaces/default/workflow-rules", "{}")

    assert answer.status == 501
    assert answer.json() == {
        "code": 12,
        "message": "Strom does not implement WorkflowService.CreateWorkflowRule yet",
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "message"),
    [
        ("POST", "/api/v1/namespaces/default/workflows/w", "{bad", 400, 3, "invalid JSON"),
        ("POST", "/api/v1/namespaces/default/workflows/w", '{"nope":1}', 400, 3, "nope"),
        ("GET", "/api/v1/namespaces/default/workflows?pageSize=x", None, 400, 3, "page_size"),
        ("GET", "/api/v1/no-such-thing", None, 404, 5, "Not Found"),
        ("DELETE", "/api/v1/system-info", None, 501, 12, "Method Not Allowed"),
        ("GET", "/api/v1/namespaces/nowhere", None, 404, 5, "Namespace nowhere is not found"),
        ("POST", "/api/v1/namespaces/default/workflows/w", "{}", 400, 3, "not set"),
    ],
)
async def test_bad_requests_get_status_bodies(
    api: Api, method: str, path: str, body: str | None, status: int, code: int, message: str
) -> None:
    answer = await api.call(method, path, body, **{"Content-Type": "application/json"})

    assert answer.status == status
    assert answer.json()["code"] == code
    assert message in answer.json()["message"]


async def test_pretty_and_long_form_flags_pick_the_flavour(api: Api) -> None:
    pretty = await api.call("GET", "/api/v1/system-info?pretty")
    long_form = await api.call(
        "GET", "/api/v1/namespaces/default/workflows/wf-missing?noPayloadShorthand&pretty"
    )

    assert pretty.content_type == "application/json+pretty"
    assert pretty.body.startswith(b'{\n  "serverVersion": ')
    assert long_form.content_type == "application/json+pretty+no-payload-shorthand"
    assert long_form.body.startswith(b'{\n  "code": 5,')


async def test_a_form_post_to_a_get_route_is_served_as_the_get(api: Api) -> None:
    answer = await api.call(
        "POST",
        "/api/v1/namespaces/default/workflows",
        "pageSize=5",
        **{"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert answer.status == 200
    assert api.frontend.visibility.calls[-1][2] == 5


async def test_a_bad_grpc_timeout_is_refused(api: Api) -> None:
    answer = await api.call("GET", "/api/v1/system-info", **{"Grpc-Timeout": "1x"})

    assert (answer.status, answer.json()["message"]) == (400, "invalid grpc-timeout: 1x")


async def test_rate_limited_namespace_is_429_with_temporals_details(
    start_frontend: StartFrontend,
) -> None:
    frontend = await start_frontend(limiter=NamespaceRateLimiter(rate=0.001, burst=1))
    async for api in serve_http(frontend):
        first = await api.call("GET", "/api/v1/namespaces/default")
        second = await api.call("GET", "/api/v1/namespaces/default")

        assert first.status == 200
        assert second.status == 429
        assert second.json()["code"] == 8
        detail = second.json()["details"][0]
        assert detail["@type"].endswith("temporal.api.errordetails.v1.ResourceExhaustedFailure")
        assert detail["cause"] == "RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT"
