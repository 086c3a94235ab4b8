"""Statuses carry Temporal's error details in grpc-status-details-bin."""

from __future__ import annotations

import grpc
from temporalio.api.common.v1 import GrpcStatus
from temporalio.api.errordetails.v1 import NotFoundFailure, WorkflowExecutionAlreadyStartedFailure

from frontend import errors


def test_from_reply_packs_the_detail_by_type_name() -> None:
    detail = WorkflowExecutionAlreadyStartedFailure(start_request_id="r", run_id="run")

    error = errors.from_reply(6, "already", detail.SerializeToString(), detail.DESCRIPTOR.full_name)

    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    ((key, value),) = error.trailing_metadata()
    assert key == "grpc-status-details-bin"
    assert isinstance(value, bytes)
    status = GrpcStatus.FromString(value)
    assert (status.code, status.message) == (6, "already")
    unpacked = WorkflowExecutionAlreadyStartedFailure()
    assert status.details[0].Unpack(unpacked)
    assert unpacked == detail


def test_an_empty_detail_still_counts() -> None:
    error = errors.from_reply(5, "gone", b"", NotFoundFailure.DESCRIPTOR.full_name)

    assert error.status().details[0].Is(NotFoundFailure.DESCRIPTOR)


def test_no_detail_no_trailer() -> None:
    error = errors.from_reply(3, "bad", b"", "")

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.trailing_metadata() == ()


def test_unknown_code_is_unknown() -> None:
    assert errors.code_of(99) == grpc.StatusCode.UNKNOWN


def test_go_enum_names() -> None:
    assert errors.go_enum_name(
        "RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT", "RESOURCE_EXHAUSTED_CAUSE_"
    ) == ("RpsLimit")
    assert errors.go_enum_name("NAMESPACE_STATE_REGISTERED", "NAMESPACE_STATE_") == "Registered"
