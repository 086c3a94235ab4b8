"""The servicer context of an HTTP call: deadlines, aborts, and the HTTP status of a code."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import any_pb2
from temporalio.api.errordetails.v1 import NotFoundFailure

from frontend.__main__ import build_parser
from frontend.errors import not_found
from frontend.http.call import (
    HTTP_STATUS,
    HttpServicerContext,
    RpcAbortedError,
    decode_timeout,
    http_status,
)


@pytest.mark.parametrize(
    ("code", "http"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 400),
        (grpc.StatusCode.FAILED_PRECONDITION, 400),
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.ALREADY_EXISTS, 409),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
        (grpc.StatusCode.UNIMPLEMENTED, 501),
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
        (grpc.StatusCode.INTERNAL, 500),
        (grpc.StatusCode.CANCELLED, 499),
    ],
)
def test_codes_map_to_grpc_gateways_http_statuses(code: grpc.StatusCode, http: int) -> None:
    assert http_status(code.value[0]) == http


def test_every_grpc_code_has_an_http_status_and_unknown_numbers_are_500() -> None:
    assert set(HTTP_STATUS) == set(grpc.StatusCode)
    assert http_status(99) == 500


@pytest.mark.parametrize(("header", "seconds"), [("5S", 5.0), ("100m", 0.1), ("2M", 120.0)])
def test_grpc_timeouts_decode(header: str, seconds: float) -> None:
    assert decode_timeout(header) == pytest.approx(seconds)


@pytest.mark.parametrize("header", ["1x", "S", "123456789S", "-1S"])
def test_bad_grpc_timeouts_are_refused(header: str) -> None:
    with pytest.raises(ValueError, match="invalid grpc-timeout"):
        decode_timeout(header)


def test_the_deadline_counts_down_and_is_absent_without_a_timeout() -> None:
    remaining = HttpServicerContext(30.0).time_remaining()

    assert remaining is not None and 29.0 < remaining <= 30.0
    assert HttpServicerContext().time_remaining() is None


async def test_abort_carries_the_details_of_the_status_trailer() -> None:
    error = not_found("gone")

    with pytest.raises(RpcAbortedError) as raised:
        await HttpServicerContext().abort(error.code, error.message, error.trailing_metadata())

    status = raised.value.status
    assert (status.code, status.message) == (5, "gone")
    expected = any_pb2.Any()
    expected.Pack(NotFoundFailure())
    assert list(status.details) == [expected]


async def test_abort_without_details_keeps_code_and_message() -> None:
    with pytest.raises(RpcAbortedError) as raised:
        await HttpServicerContext().abort(grpc.StatusCode.UNAVAILABLE, "later")

    assert (raised.value.status.code, raised.value.status.message) == (14, "later")
    assert not raised.value.status.details


def test_the_frontend_serves_http_on_temporals_port_unless_told_not_to() -> None:
    required = ["--bootstrap", "k:9092", "--es-url", "http://es:9200"]
    assert build_parser().parse_args(required).http_port == 7243
    assert build_parser().parse_args([*required, "--http-port", "0"]).http_port == 0
    assert build_parser().parse_args([*required, "--no-http"]).no_http
