"""HTTP API calls counted in the frontend's Prometheus metrics as gRPC calls are: per RPC and
status, scraped from the real endpoint."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from collections.abc import AsyncIterator, Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams import metrics
from tests.unit.frontend.conftest import Frontend
from tests.unit.frontend.http.test_server import Api, serve_http

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def metrics_url() -> Iterator[str]:
    port = _free_port()
    server = metrics.serve(port, service="frontend")
    assert server is not None
    try:
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        server.close()


@pytest.fixture
async def api(frontend: Frontend) -> AsyncIterator[Api]:
    async for served in serve_http(frontend):
        yield served


def _scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=10) as answer:
        text = answer.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_http_calls_count_per_rpc_and_status(api: Api, metrics_url: str) -> None:
    before = await asyncio.to_thread(_scrape, metrics_url)

    assert (await api.call("GET", "/api/v1/system-info")).status == 200
    assert (await api.call("GET", "/api/v1/system-info")).status == 200
    missing = await api.call("GET", "/api/v1/namespaces/default/workflows/missing")
    assert missing.status == 404
    unimplemented = await api.call("POST", "/api/v1/namespaces/default/workflow-rules", "{}")
    assert unimplemented.status == 501
    # No route: Temporal's gateway refuses it before any RPC, so nothing is counted for it.
    assert (await api.call("GET", "/api/v1/no-such-thing")).status == 404

    after = await asyncio.to_thread(_scrape, metrics_url)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    ok = {"operation": "GetSystemInfo", "status_code": "OK"}
    assert delta("service_requests_total", **ok) == 2
    assert delta("service_latency_count", **ok) == 2
    not_found = {"operation": "DescribeWorkflowExecution", "status_code": "NOT_FOUND"}
    assert delta("service_requests_total", **not_found) == 1
    assert (
        delta("service_errors_entity_not_found_total", operation="DescribeWorkflowExecution") == 1
    )
    unimpl = {"operation": "CreateWorkflowRule", "status_code": "UNIMPLEMENTED"}
    assert delta("service_requests_total", **unimpl) == 1
    counted = sum(
        v - _value(before, n, **dict(lbls))
        for (n, lbls), v in after.items()
        if n == "service_requests_total"
    )
    assert counted == 4  # the unrouted request is not among them
