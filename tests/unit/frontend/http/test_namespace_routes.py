"""Namespace RPCs through Temporal's HTTP API (routes from the API's own annotations)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.unit.frontend.conftest import Frontend
from tests.unit.frontend.http.test_server import Api, serve_http


@pytest.fixture
async def api(frontend: Frontend) -> AsyncIterator[Api]:
    async for served in serve_http(frontend):
        yield served


async def test_register_update_describe_list_over_http(api: Api) -> None:
    body = '{"namespace": "web", "workflowExecutionRetentionPeriod": "7200s", "description": "a"}'
    registered = await api.call("POST", "/api/v1/namespaces", body)
    again = await api.call("POST", "/api/v1/namespaces", body)
    updated = await api.call(
        "POST", "/api/v1/namespaces/web/update", '{"updateInfo": {"description": "b"}}'
    )
    described = await api.call("GET", "/api/v1/namespaces/web")
    listed = await api.call("GET", "/api/v1/namespaces?pageSize=10")

    assert registered.status == 200
    assert again.status == 409  # ALREADY_EXISTS, as grpc-gateway maps it
    assert again.json()["message"] == 'Namespace "web" already exists'
    assert updated.status == 200
    assert updated.json()["namespaceInfo"]["description"] == "b"
    assert described.json()["config"]["workflowExecutionRetentionTtl"] == "7200s"
    assert "web" in [ns["namespaceInfo"]["name"] for ns in listed.json()["namespaces"]]
