"""Calling the frontend with the raw stub and reading statuses the way SDKs do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message
from temporalio.api.common.v1 import GrpcStatus
from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceStub

from frontend.errors import STATUS_DETAILS_KEY


@dataclass(frozen=True)
class Status:
    """The outcome of a failed call."""

    code: grpc.StatusCode
    message: str
    details: GrpcStatus | None
    initial_metadata: dict[str, Any]

    @property
    def detail_type(self) -> str:
        """Full proto name of the first error detail, empty when none."""
        if self.details is None or not self.details.details:
            return ""
        return self.details.details[0].type_url.rsplit("/", 1)[-1]


async def failure(
    stub: WorkflowServiceStub, rpc: str, request: Message, timeout: float | None = 10.0
) -> Status:
    """Calls ``rpc`` and returns its error status; fails the test if the call succeeded."""
    call = getattr(stub, rpc)(request, timeout=timeout)
    try:
        response = await call
    except grpc.aio.AioRpcError as err:
        details = None
        for key, value in err.trailing_metadata() or ():
            if key == STATUS_DETAILS_KEY:
                details = GrpcStatus.FromString(value)
        initial = {key: value for key, value in (err.initial_metadata() or ())}
        return Status(err.code(), err.details() or "", details, initial)
    raise AssertionError(f"{rpc} succeeded: {response}")
