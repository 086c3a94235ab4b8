"""OperatorService's search attribute RPCs, GetSearchAttributes, and start-time checks."""

from __future__ import annotations

import grpc
from temporalio.api.common.v1 import Payload, SearchAttributes, WorkflowType
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListNexusEndpointsRequest,
    ListSearchAttributesRequest,
    RemoveSearchAttributesRequest,
)
from temporalio.api.operatorservice.v1.service_pb2_grpc import OperatorServiceStub
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    GetSearchAttributesRequest,
    SignalWithStartWorkflowExecutionRequest,
)

from schemas.namespaces import Namespace
from tests.unit.frontend.bad_requests import start
from tests.unit.frontend.conftest import Frontend
from tests.unit.frontend.helpers import failure

KEYWORD = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
INT = IndexedValueType.INDEXED_VALUE_TYPE_INT


def add(namespace: str = "default", **attributes: int) -> AddSearchAttributesRequest:
    return AddSearchAttributesRequest(namespace=namespace, search_attributes=attributes)


async def test_add_list_remove_round_trip(frontend: Frontend) -> None:
    operator = OperatorServiceStub(frontend.channel)
    await operator.AddSearchAttributes(add(CustomerId=KEYWORD, Amount=INT))
    # Adding again, even with another type, changes nothing (Temporal's rule).
    await operator.AddSearchAttributes(add(CustomerId=INT))

    listed = await operator.ListSearchAttributes(ListSearchAttributesRequest(namespace="default"))
    assert dict(listed.custom_attributes) == {"CustomerId": KEYWORD, "Amount": INT}
    assert listed.system_attributes["WorkflowId"] == KEYWORD
    assert listed.system_attributes["TemporalChangeVersion"] == (
        IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST
    )
    stored = frontend.namespaces.get("default")
    assert stored is not None and dict(stored.search_attributes) == {
        "CustomerId": "Keyword",
        "Amount": "Int",
    }

    await operator.RemoveSearchAttributes(
        RemoveSearchAttributesRequest(namespace="default", search_attributes=["Amount", "Nope"])
    )
    listed = await operator.ListSearchAttributes(ListSearchAttributesRequest(namespace="default"))
    assert dict(listed.custom_attributes) == {"CustomerId": KEYWORD}


async def test_custom_attributes_belong_to_their_namespace(frontend: Frontend) -> None:
    frontend.namespaces.register(Namespace(name="other", id="0b4a6c1e-0000-4000-8000-0000000000aa"))
    operator = OperatorServiceStub(frontend.channel)
    await operator.AddSearchAttributes(add("other", Region=KEYWORD))
    await operator.AddSearchAttributes(add("default", Region=INT))

    other = await operator.ListSearchAttributes(ListSearchAttributesRequest(namespace="other"))
    default = await operator.ListSearchAttributes(ListSearchAttributesRequest(namespace="default"))
    assert dict(other.custom_attributes) == {"Region": KEYWORD}
    assert dict(default.custom_attributes) == {"Region": INT}
    keys = (await frontend.stub.GetSearchAttributes(GetSearchAttributesRequest())).keys
    assert keys["Region"] == INT  # the first namespace by name wins a clash
    assert keys["WorkflowId"] == KEYWORD and keys["BuildIds"] == (
        IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST
    )


async def test_bad_requests_get_temporals_answers(frontend: Frontend) -> None:
    operator = OperatorServiceStub(frontend.channel)
    cases = [
        ("AddSearchAttributes", add(), "SearchAttributes are not set on request."),
        (
            "AddSearchAttributes",
            add(WorkflowId=KEYWORD),
            "Search attribute WorkflowId is reserved by system.",
        ),
        (
            "AddSearchAttributes",
            add(TemporalFoo=KEYWORD),
            "Search attribute TemporalFoo is reserved by system.",
        ),
        ("AddSearchAttributes", add(Memo=KEYWORD), "Search attribute Memo is reserved by system."),
        (
            "AddSearchAttributes",
            add(BuildIds=KEYWORD),
            "Search attribute BuildIds is reserved by system.",
        ),
        ("AddSearchAttributes", add(Bad=42), "Unknown search attribute type: 42."),
        (
            "AddSearchAttributes",
            add(Bad=0),
            "Unable to create search attributes: cannot have more than 0 search attribute of "
            "type Unspecified.",
        ),
        ("AddSearchAttributes", add("", X=KEYWORD), "Namespace is not set on request."),
        (
            "RemoveSearchAttributes",
            RemoveSearchAttributesRequest(namespace="default", search_attributes=["WorkflowId"]),
            "Unable to remove non-custom search attributes: WorkflowId.",
        ),
        (
            "RemoveSearchAttributes",
            RemoveSearchAttributesRequest(namespace="default"),
            "SearchAttributes are not set on request.",
        ),
        ("ListSearchAttributes", ListSearchAttributesRequest(), "Namespace is not set on request."),
    ]
    for rpc, request, message in cases:
        status = await failure(operator, rpc, request)  # type: ignore[arg-type]
        assert (status.code, status.message) == (grpc.StatusCode.INVALID_ARGUMENT, message), rpc
    missing = await failure(operator, "AddSearchAttributes", add("nope", X=KEYWORD))  # type: ignore[arg-type]
    assert (missing.code, missing.message) == (
        grpc.StatusCode.NOT_FOUND,
        "Namespace nope is not found.",
    )
    other = await failure(operator, "ListNexusEndpoints", ListNexusEndpointsRequest())  # type: ignore[arg-type]
    assert other.code == grpc.StatusCode.UNIMPLEMENTED
    assert "OperatorService.ListNexusEndpoints" in other.message


def json_payload(data: bytes) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


async def test_start_checks_search_attributes_against_the_namespace(frontend: Frontend) -> None:
    operator = OperatorServiceStub(frontend.channel)
    await operator.AddSearchAttributes(add(CustInt=INT))
    cases = [
        (
            {"Unknown1": json_payload(b'"v"')},
            "Namespace default has no mapping defined for search attribute Unknown1",
        ),
        (
            {"CustInt": json_payload(b'["notanint"]')},
            "invalid value for search attribute CustInt of type Int: [notanint]",
        ),
        (
            {"WorkflowId": json_payload(b'["x"]')},
            "WorkflowId attribute can't be set in SearchAttributes",
        ),
        (
            {"CustInt": json_payload(b"7" + b" " * 3000)},
            "search attribute CustInt value size 3001 exceeds size limit 2048",
        ),
    ]
    for fields, message in cases:
        request = start(search_attributes=SearchAttributes(indexed_fields=fields))
        status = await failure(frontend.stub, "StartWorkflowExecution", request)
        assert (status.code, status.message) == (grpc.StatusCode.INVALID_ARGUMENT, message)
    assert frontend.history.sent == []
    ok = start(search_attributes=SearchAttributes(indexed_fields={"CustInt": json_payload(b"7")}))
    await frontend.stub.StartWorkflowExecution(ok)
    assert len(frontend.history.sent) == 1
    # Forwarded with the registered type written in (the SDK's legacy API leaves it out).
    forwarded = frontend.history.sent[0].request.search_attributes  # type: ignore[attr-defined]
    assert forwarded.indexed_fields["CustInt"].metadata["type"] == b"Int"


async def test_signal_with_start_checks_each_type_of_value(frontend: Frontend) -> None:
    operator = OperatorServiceStub(frontend.channel)
    types = {
        "CKeyword": KEYWORD,
        "CInt": INT,
        "CDouble": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
        "CBool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
        "CDatetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
        "CKeywordList": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
        "CText": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    }
    await operator.AddSearchAttributes(add(**types))
    refused = [
        ("CKeyword", b"5", "Keyword", "5"),
        ("CInt", b'"seven"', "Int", "seven"),
        ("CInt", b"1.5", "Int", "1.5"),
        ("CDouble", b"true", "Double", "true"),
        ("CBool", b"1", "Bool", "1"),
        ("CDatetime", b'"yesterday"', "Datetime", "yesterday"),
        ("CKeywordList", b"[1, 2]", "KeywordList", "[1 2]"),
        ("CText", b"{}", "Text", "map[]"),
        ("CustomStringField", b"[]", None, None),  # unset is fine; unknown name is not
    ]
    for name, data, type_name, shown in refused:
        fields = {name: json_payload(data)}
        request = SignalWithStartWorkflowExecutionRequest(
            namespace="default",
            workflow_id="sws",
            workflow_type=WorkflowType(name="W"),
            task_queue=TaskQueue(name="tq"),
            signal_name="s",
            search_attributes=SearchAttributes(indexed_fields=fields),
        )
        status = await failure(frontend.stub, "SignalWithStartWorkflowExecution", request)
        expected = (
            f"invalid value for search attribute {name} of type {type_name}: {shown}"
            if type_name
            else f"Namespace default has no mapping defined for search attribute {name}"
        )
        assert (status.code, status.message) == (grpc.StatusCode.INVALID_ARGUMENT, expected)
    assert frontend.history.sent == []
    good = {
        "CKeyword": b'"k"', "CInt": b"7", "CDouble": b"1.5", "CBool": b"true",
        "CDatetime": b'"2026-12-01T10:00:00Z"', "CKeywordList": b'["a", "b"]', "CText": b'"t"',
    }  # fmt: skip
    request = SignalWithStartWorkflowExecutionRequest(
        namespace="default",
        workflow_id="sws",
        workflow_type=WorkflowType(name="W"),
        task_queue=TaskQueue(name="tq"),
        signal_name="s",
        search_attributes=SearchAttributes(
            indexed_fields={name: json_payload(data) for name, data in good.items()}
        ),
    )
    # Valid values pass the frontend (the fake history knows no signal-with-start).
    await failure(frontend.stub, "SignalWithStartWorkflowExecution", request)
    assert [sent.kind for sent in frontend.history.sent] == ["SignalWithStartWorkflowExecution"]
    forwarded = frontend.history.sent[0].request.search_attributes  # type: ignore[attr-defined]
    assert forwarded.indexed_fields["CDatetime"].metadata["type"] == b"Datetime"
