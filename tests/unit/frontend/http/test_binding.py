"""Query parameters and path captures into request fields, with grpc-gateway's rules."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import HistoryEventFilterType
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    ListWorkflowExecutionsRequest,
)

from frontend.http.binding import BindingError, bind_path, bind_query, parse_query, unescape
from frontend.http.scalars import duration

_CLOSE = HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT


def test_query_strings_decode_like_go() -> None:
    assert parse_query("a=1&b=x+y%21&a=2&&c") == {"a": ["1", "2"], "b": ["x y!"], "c": [""]}
    with pytest.raises(BindingError, match='invalid URL escape "%zz"'):
        parse_query("a=%zz")
    with pytest.raises(BindingError, match="semicolon"):
        parse_query("a=1;b=2")
    assert unescape("/a%2Fb/%C3%BC") == "/a/b/ü"


def test_typed_fields_parse_by_proto_or_json_name() -> None:
    request = GetWorkflowExecutionHistoryRequest()

    bind_query(
        request,
        {
            "maximum_page_size": ["5"],
            "waitNewEvent": ["true"],
            "historyEventFilterType": ["HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT"],
            "nextPageToken": ["AAE="],
            "execution.runId": ["r1"],
            "unknown": ["ignored"],
        },
    )

    assert (request.maximum_page_size, request.wait_new_event) == (5, True)
    assert request.history_event_filter_type == _CLOSE
    assert (request.next_page_token, request.execution.run_id) == (b"\x00\x01", "r1")


def test_enum_numbers_are_accepted_when_they_name_a_value() -> None:
    request = GetWorkflowExecutionHistoryRequest()
    bind_query(request, {"historyEventFilterType": ["2"]})
    assert request.history_event_filter_type == _CLOSE


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"pageSize": ["x"]}, 'parsing field "page_size": strconv.ParseInt: parsing "x": invalid'),
        ({"pageSize": ["1", "2"]}, 'too many values for field "page_size": 1, 2'),
        ({"pageSize": ["9999999999"]}, "value out of range"),
        ({"query": ["a"], "pageSize": ["1.5"]}, "invalid syntax"),
    ],
)
def test_bad_list_parameters_are_refused_with_grpc_gateways_words(
    query: dict[str, list[str]], message: str
) -> None:
    with pytest.raises(BindingError, match=message):
        bind_query(ListWorkflowExecutionsRequest(), query)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"waitNewEvent": ["yes"]}, 'strconv.ParseBool: parsing "yes": invalid syntax'),
        ({"historyEventFilterType": ["CloseEvent"]}, '"CloseEvent" is not a valid value'),
        ({"historyEventFilterType": ["7"]}, '"7" is not a valid value'),
        ({"execution": ["x"]}, 'unsupported message type: "temporal.api.common.v1.Workflow'),
        ({"namespace.x": ["x"]}, 'invalid path: "namespace" is not a message'),
    ],
)
def test_bad_history_parameters_are_refused(query: dict[str, list[str]], message: str) -> None:
    with pytest.raises(BindingError, match=message):
        bind_query(GetWorkflowExecutionHistoryRequest(), query)


def test_query_keys_under_a_path_capture_are_skipped_whatever_the_name_form() -> None:
    request = DescribeWorkflowExecutionRequest()
    captures = {"namespace": "ns", "execution.workflow_id": "from-path"}

    bind_query(
        request,
        {"execution.workflowId": ["from-query"], "execution.runId": ["r"], "namespace": ["x"]},
        captures,
    )
    bind_path(request, captures)

    assert (request.namespace, request.execution.workflow_id) == ("ns", "from-path")
    assert request.execution.run_id == "r"


def test_go_durations_parse() -> None:
    assert duration("1h30m").ToSeconds() == 5400
    assert duration("1.5s").ToMilliseconds() == 1500
    assert duration("-250ms").ToMilliseconds() == -250
    with pytest.raises(ValueError, match='invalid duration "5"'):
        duration("5")
