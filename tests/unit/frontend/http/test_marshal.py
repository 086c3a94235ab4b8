"""Messages to JSON as Temporal's HTTP API writes them (checked byte for byte against
`temporal server start-dev` in tests/integration/frontend/test_http_json_parity.py)."""

from __future__ import annotations

import json

import pytest
from google.protobuf import any_pb2, struct_pb2, wrappers_pb2
from temporalio.api.common.v1 import GrpcStatus, Memo, Payload, Payloads
from temporalio.api.enums.v1 import TaskQueueKind
from temporalio.api.errordetails.v1 import NotFoundFailure
from temporalio.api.history.v1 import HistoryEvent, WorkflowExecutionStartedEventAttributes
from temporalio.api.taskqueue.v1 import TaskQueue

from frontend.http import gojson
from frontend.http.marshal import MarshalError, marshal


def plain(data: bytes) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (-0.0, "-0"),
        (0.1, "0.1"),
        (2e30, "2e+30"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (1.5e-10, "1.5e-10"),
        (123456789012345678901.0, "123456789012345680000"),
    ],
)
def test_floats_take_gos_shortest_form(value: float, text: str) -> None:
    assert gojson.go_float(value) == text


def test_float32_fields_use_the_shortest_form_of_the_single() -> None:
    assert gojson.go_float(0.1, bits=32) == "0.1"  # not 0.10000000149011612
    assert gojson.go_float(16777217.0, bits=32) == "16777216"


def test_fields_come_in_declaration_order_not_number_order() -> None:
    attributes = WorkflowExecutionStartedEventAttributes(
        workflow_id="wf",  # field 28, declared 28th
        parent_workflow_namespace_id="ns-id",  # field 27, declared third
        parent_workflow_namespace="ns",  # field 2
    )

    keys = list(json.loads(marshal(attributes)))

    assert keys == ["parentWorkflowNamespace", "parentWorkflowNamespaceId", "workflowId"]


def test_scalars_enums_and_int64_render_canonically() -> None:
    event = HistoryEvent(event_id=5, task_id=0, worker_may_ignore=True)
    queue = TaskQueue(name="q", kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY)
    unknown = TaskQueue(name="q", kind=99)  # type: ignore[arg-type]

    assert marshal(event) == b'{"eventId":"5","workerMayIgnore":true}'
    assert marshal(queue) == b'{"name":"q","kind":"TASK_QUEUE_KIND_STICKY"}'
    assert marshal(unknown) == b'{"name":"q","kind":99}'


def test_json_payloads_render_as_their_values_sorted_and_as_float64() -> None:
    payloads = Payloads(
        payloads=[
            plain(b'"hi"'),
            plain(b'{"b":[1,2e30,0.000001,1e-7],"a":1.0,"c":[],"d":{}}'),
            plain(b"12345678901234567"),
        ]
    )

    assert marshal(payloads) == (
        b'["hi",{"a":1,"b":[1,2e+30,0.000001,1e-7],"c":null,"d":{}},12345678901234568]'
    )


def test_payloads_keep_the_long_form_unless_every_payload_has_a_shorthand() -> None:
    binary = Payload(metadata={"encoding": b"binary/plain"}, data=b"\x00\x01\x02")
    payloads = Payloads(payloads=[plain(b'"hi"'), binary])

    assert marshal(payloads) == (
        b'{"payloads":["hi",{"metadata":{"encoding":"YmluYXJ5L3BsYWlu"},"data":"AAEC"}]}'
    )


def test_null_payloads_and_proto_json_payloads_have_their_own_shorthand() -> None:
    null = Payload(metadata={"encoding": b"binary/null", "extra": b"x"})
    json_null = plain(b"null")
    proto = Payload(
        metadata={"encoding": b"json/protobuf", "messageType": b"foo.Bar"}, data=b'{"b":2}'
    )

    binary_null = b'{"metadata":{"encoding":"YmluYXJ5L251bGw="}}'
    assert marshal(null) == binary_null
    assert marshal(json_null) == binary_null
    assert marshal(proto) == b'{"_protoMessageType":"foo.Bar","b":2}'


def test_a_json_payload_with_more_metadata_keeps_the_long_form() -> None:
    payload = Payload(metadata={"encoding": b"json/plain", "k": b"v"}, data=b"1")

    assert json.loads(marshal(payload)) == {
        "metadata": {"encoding": "anNvbi9wbGFpbg==", "k": "dg=="},
        "data": "MQ==",
    }


def test_shorthand_can_be_turned_off() -> None:
    assert marshal(plain(b"1"), shorthand=False) == (
        b'{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"MQ=="}'
    )


def test_map_keys_are_sorted() -> None:
    memo = Memo(fields={"z": plain(b"1"), "a": plain(b"2")})

    assert marshal(memo) == b'{"fields":{"a":2,"z":1}}'


def test_strings_escape_like_go_protojson() -> None:
    text = 'ü<>&\u2028\x7f\x01/\t"\\'

    assert marshal(TaskQueue(name=text)) == ('{"name":"ü<>&\u2028\x7f\\u0001/\\t\\"\\\\"}').encode()


def test_status_details_are_any_with_type_url_first() -> None:
    detail = any_pb2.Any()
    detail.Pack(NotFoundFailure(current_cluster="a"))
    status = GrpcStatus(code=5, message="gone", details=[detail])

    assert marshal(status) == (
        b'{"code":5,"message":"gone","details":[{"@type":'
        b'"type.googleapis.com/temporal.api.errordetails.v1.NotFoundFailure",'
        b'"currentCluster":"a"}]}'
    )


def test_an_any_of_a_well_known_type_nests_its_value() -> None:
    detail = any_pb2.Any()
    detail.Pack(wrappers_pb2.Int64Value(value=7))

    assert marshal(detail) == (
        b'{"@type":"type.googleapis.com/google.protobuf.Int64Value","value":"7"}'
    )


def test_an_any_of_an_unknown_type_cannot_be_rendered() -> None:
    with pytest.raises(MarshalError, match="unable to resolve"):
        marshal(any_pb2.Any(type_url="type.googleapis.com/no.Such", value=b""))


def test_pretty_output_indents_two_spaces() -> None:
    value = struct_pb2.Struct()
    value.update({"b": [1, "x"], "a": {}})

    assert marshal(value, indent="  ") == (b'{\n  "a": {},\n  "b": [\n    1,\n    "x"\n  ]\n}')
