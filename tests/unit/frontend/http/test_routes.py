"""Routes read from the google.api.http options of the descriptors temporalio ships."""

from __future__ import annotations

import pytest
from google.api import annotations_pb2
from temporalio.api.workflowservice.v1 import service_pb2

from frontend.http.routes import (
    MethodNotAllowedError,
    Route,
    RouteNotFoundError,
    RouteTable,
    http_rules,
    routes_of,
)
from frontend.http.template import parse

SERVICE = service_pb2.DESCRIPTOR.services_by_name["WorkflowService"]


def test_every_binding_of_every_annotated_method_becomes_a_route() -> None:
    routes = routes_of(SERVICE)

    # Counted from the raw options, independently of routes_of's own walk.
    expected = 0
    for method in SERVICE.methods:
        options = method.GetOptions()
        if options.HasExtension(annotations_pb2.http):
            expected += 1 + len(options.Extensions[annotations_pb2.http].additional_bindings)
    assert len(routes) == expected > 100
    assert {route.template.text for route in routes if route.rpc == "DescribeNamespace"} == {
        "/cluster/namespaces/{namespace}",
        "/api/v1/namespaces/{namespace}",
    }


def test_a_route_carries_its_method_and_body_rule() -> None:
    start = [r for r in routes_of(SERVICE) if r.rpc == "StartWorkflowExecution"]

    api_v1 = next(r for r in start if r.template.text.startswith("/api/v1/"))
    assert (api_v1.http_method, api_v1.body) == ("POST", "*")
    assert api_v1.template.text == "/api/v1/namespaces/{namespace}/workflows/{workflow_id}"
    assert api_v1.method.input_type.full_name.endswith("StartWorkflowExecutionRequest")


def test_methods_without_http_options_have_no_routes() -> None:
    poll = SERVICE.methods_by_name["PollWorkflowTaskQueue"]

    assert http_rules(poll) == []
    assert not [r for r in routes_of(SERVICE) if r.rpc == "PollWorkflowTaskQueue"]


def test_the_table_finds_a_route_and_its_captures() -> None:
    table = RouteTable(routes_of(SERVICE))

    route, params = table.resolve("GET", "/api/v1/namespaces/ns/workflows/wf-1/history")

    assert route.rpc == "GetWorkflowExecutionHistory"
    assert params == {"namespace": "ns", "execution.workflow_id": "wf-1"}


def test_unknown_paths_and_wrong_methods_are_told_apart() -> None:
    table = RouteTable(routes_of(SERVICE))

    with pytest.raises(RouteNotFoundError):
        table.resolve("GET", "/api/v1/nothing-here")
    with pytest.raises(MethodNotAllowedError):
        table.resolve("DELETE", "/api/v1/system-info")


def test_a_form_post_falls_back_to_the_get_route_only_when_allowed() -> None:
    table = RouteTable(routes_of(SERVICE))

    route, _ = table.resolve("POST", "/api/v1/namespaces/ns/workflows", get_fallback=True)
    assert (route.rpc, route.http_method) == ("ListWorkflowExecutions", "GET")
    with pytest.raises(MethodNotAllowedError):
        table.resolve("POST", "/api/v1/namespaces/ns/workflows")


def route(rpc: str, path: str, http_method: str = "GET") -> Route:
    return Route(SERVICE.methods_by_name[rpc], http_method, parse(path), "", "")


def test_a_later_route_wins_over_an_earlier_one_matching_the_same_path() -> None:
    table = RouteTable(
        [route("GetSystemInfo", "/x/{namespace}"), route("GetClusterInfo", "/x/{name}")]
    )

    assert table.resolve("GET", "/x/a")[0].rpc == "GetClusterInfo"


def test_a_verb_route_matches_only_with_its_verb() -> None:
    table = RouteTable([route("GetSystemInfo", "/ops/{name}:cancel", "POST")])

    assert table.resolve("POST", "/ops/o1:cancel")[1] == {"name": "o1"}
    with pytest.raises(RouteNotFoundError):
        table.resolve("POST", "/ops/o1")
