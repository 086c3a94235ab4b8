"""One HTTP call as the servicer sees it: a servicer context, its deadline, its outcome.

Strom's ``StromWorkflowService`` methods take ``(request, context)`` and use three things of a
``grpc.aio.ServicerContext``: ``time_remaining()``, ``send_initial_metadata()`` and
``abort()``. ``HttpServicerContext`` provides those, like Temporal's in-process client
connection does for its HTTP API, so every call runs the same validation, rate limiting and
error mapping as a gRPC call.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import NoReturn

import grpc
from temporalio.api.common.v1 import GrpcStatus

from frontend.errors import STATUS_DETAILS_KEY

_TIMEOUT = re.compile(r"^([0-9]{1,8})([HMSmun])$")
_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}

HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}
"""grpc-gateway's HTTPStatusFromCode."""

_CODES_BY_VALUE = {code.value[0]: code for code in grpc.StatusCode}


def call_status(code: int) -> grpc.StatusCode:
    """The gRPC status code of a code number (UNKNOWN for one gRPC does not define)."""
    return _CODES_BY_VALUE.get(code, grpc.StatusCode.UNKNOWN)


def http_status(code: int) -> int:
    """The HTTP status grpc-gateway answers for a gRPC status code number."""
    return HTTP_STATUS.get(call_status(code), 500)


def status(code: grpc.StatusCode, message: str) -> GrpcStatus:
    """A google.rpc.Status without details."""
    return GrpcStatus(code=code.value[0], message=message)


class RpcAbortedError(Exception):
    """The servicer aborted the call; ``status`` is what the client gets."""

    def __init__(self, rpc_status: GrpcStatus) -> None:
        super().__init__(rpc_status.message)
        self.status = rpc_status


def decode_timeout(header: str) -> float:
    """Seconds in a ``Grpc-Timeout`` header value ("100m", "5S").

    Raises:
        ValueError: Not a gRPC timeout (up to 8 digits and a unit of H M S m u n).
    """
    match = _TIMEOUT.match(header)
    if match is None:
        raise ValueError(f"invalid grpc-timeout: {header}")
    return int(match.group(1)) * _TIMEOUT_UNITS[match.group(2)]


class HttpServicerContext:
    """What ``StromWorkflowService`` uses of a gRPC servicer context, for one HTTP call.

    Args:
        timeout: Seconds the client allows (its ``Grpc-Timeout``), None for no deadline.
        metadata: Request headers that stand for gRPC metadata (``authorization``).
    """

    def __init__(
        self, timeout: float | None = None, metadata: Sequence[tuple[str, str]] = ()
    ) -> None:
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._metadata = tuple(metadata)
        self.initial_metadata: tuple[tuple[str, str | bytes], ...] = ()

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        """The request's metadata, as a gRPC context has it."""
        return self._metadata

    def time_remaining(self) -> float | None:
        """Seconds left until the deadline, None without one."""
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    async def send_initial_metadata(self, metadata: Sequence[tuple[str, str | bytes]]) -> None:
        """Keeps the headers the servicer sends (e.g. Temporal's resource-exhausted cause)."""
        self.initial_metadata = tuple(metadata)

    async def abort(
        self,
        code: grpc.StatusCode,
        details: str = "",
        trailing_metadata: Sequence[tuple[str, str | bytes]] = (),
    ) -> NoReturn:
        """Ends the call with a status; its details come from ``grpc-status-details-bin``."""
        for key, value in trailing_metadata:
            if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
                raise RpcAbortedError(GrpcStatus.FromString(value))
        raise RpcAbortedError(status(code, details))
