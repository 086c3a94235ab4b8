"""Request bodies to messages: canonical JSON plus Temporal's shorthand forms."""

from __future__ import annotations

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import TaskQueueKind, WorkflowIdReusePolicy
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest

from frontend.http.unmarshal import BodyError, unmarshal


def start(body: str, shorthand: bool = True) -> StartWorkflowExecutionRequest:
    return unmarshal(body.encode(), StartWorkflowExecutionRequest, shorthand)


def plain(data: bytes) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def test_canonical_fields_parse_by_json_or_proto_name() -> None:
    request = start('{"workflowId":"w","task_queue":{"name":"q"},"workflowRunTimeout":"1.5s"}')

    assert (request.workflow_id, request.task_queue.name) == ("w", "q")
    assert request.workflow_run_timeout.ToMilliseconds() == 1500


def test_an_array_is_payloads_and_values_become_json_payloads_as_go_writes_them() -> None:
    request = start('{"input":["a<b", 1.0, 1e2, 12345678901234567, 1.5, [], {"z":[], "a":null}]}')

    assert list(request.input.payloads) == [
        plain(b'"a\\u003cb"'),  # Go's encoding/json escapes HTML characters
        plain(b"1"),
        plain(b"100"),
        plain(b"12345678901234567"),  # integral and within int64: kept exact
        plain(b"1.5"),
        plain(b"null"),  # Go reads an empty array as nil
        plain(b'{"a":null,"z":null}'),
    ]


def test_null_long_form_and_proto_json_payloads_are_recognized() -> None:
    request = start(
        '{"input":{"payloads":[null,'
        '{"metadata":{"encoding":"YmluYXJ5L3BsYWlu"},"data":"AAEC"},'
        '{"metadata":{"encoding":"YmluYXJ5L251bGw="}},'
        '{"_protoMessageType":"foo.Bar","b":2}]}}'
    )

    assert list(request.input.payloads) == [
        Payload(metadata={"encoding": b"binary/null"}),
        Payload(metadata={"encoding": b"binary/plain"}, data=b"\x00\x01\x02"),
        Payload(metadata={"encoding": b"binary/null"}),
        Payload(
            metadata={"encoding": b"json/protobuf", "messageType": b"foo.Bar"}, data=b'{"b":2}'
        ),
    ]


def test_an_object_that_only_looks_like_a_long_form_payload_is_a_value() -> None:
    request = start('{"input":[{"metadata":{"encoding":"YmluYXJ5L3BsYWlu"},"data":"!!"}]}')

    assert request.input.payloads[0].metadata["encoding"] == b"json/plain"


def test_payload_maps_take_shorthand_values() -> None:
    request = start('{"memo":{"fields":{"k":{"x":1}}},"header":{"fields":{"h":"v"}}}')

    assert request.memo.fields["k"] == plain(b'{"x":1}')
    assert request.header.fields["h"] == plain(b'"v"')


def test_a_single_payload_field_and_other_payloads_fields_take_shorthand() -> None:
    request = start('{"userMetadata":{"summary":"nightly run"},"lastCompletionResult":["r"]}')

    assert request.user_metadata.summary == plain(b'"nightly run"')
    assert list(request.last_completion_result.payloads) == [plain(b'"r"')]


def test_enums_accept_the_canonical_and_the_short_form() -> None:
    request = start(
        '{"taskQueue":{"kind":"Normal"},'
        '"workflowIdReusePolicy":"WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY"}'
    )

    assert request.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    assert request.workflow_id_reuse_policy == (
        WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
    )
    short = start('{"workflowIdReusePolicy":"AllowDuplicateFailedOnly"}')
    assert short.workflow_id_reuse_policy == request.workflow_id_reuse_policy


def test_without_shorthand_payloads_must_be_canonical() -> None:
    with pytest.raises(BodyError):
        start('{"input":["a"]}', shorthand=False)
    request = start('{"input":{"payloads":[{"data":"MQ=="}]}}', shorthand=False)
    assert request.input.payloads[0].data == b"1"


def test_an_empty_body_is_an_empty_request() -> None:
    assert start("") == StartWorkflowExecutionRequest()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{bad", "invalid JSON"),
        ("[]", "must be a JSON object, not an array"),
        ('{"foo":1}', "foo"),
        ('{"workflowId":5}', "workflowId"),
        ('{"input":[NaN]}', "invalid JSON"),
        ('{"input":[{"_protoMessageType":1}]}', "_protoMessageType"),
    ],
)
def test_bad_bodies_are_refused_with_a_message(body: str, message: str) -> None:
    with pytest.raises(BodyError, match=message):
        start(body)


def test_a_body_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(BodyError, match="UTF-8"):
        unmarshal(b'{"workflowId":"\xff"}', StartWorkflowExecutionRequest)
