"""gRPC errors of the frontend, encoded the way Temporal servers encode them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from temporalio.api.common.v1 import GrpcStatus
from temporalio.api.enums.v1 import NamespaceState, ResourceExhaustedCause, ResourceExhaustedScope
from temporalio.api.errordetails.v1 import (
    NamespaceAlreadyExistsFailure,
    NamespaceInvalidStateFailure,
    NamespaceNotFoundFailure,
    NotFoundFailure,
    ResourceExhaustedFailure,
)

STATUS_DETAILS_KEY = "grpc-status-details-bin"
"""Trailer holding a serialized google.rpc.Status; the SDKs unpack error details from it."""

_TYPE_URL_PREFIX = "type.googleapis.com/"
_CODES_BY_INT = {code.value[0]: code for code in grpc.StatusCode}


class ServiceError(Exception):
    """A request failed with a gRPC status, optionally carrying Temporal error details.

    Handlers raise it; the servicer turns it into the call's status. Only statuses with
    details get the ``grpc-status-details-bin`` trailer, like grpc-go does for Temporal.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        details: Sequence[any_pb2.Any] = (),
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = tuple(details)
        self.headers = tuple(headers)

    def status(self) -> GrpcStatus:
        """The google.rpc.Status of this error (wire-identical to Temporal's GrpcStatus)."""
        return GrpcStatus(code=self.code.value[0], message=self.message, details=self.details)

    def trailing_metadata(self) -> tuple[tuple[str, str | bytes], ...]:
        """Trailers to send with the status: the status details when there are any."""
        if not self.details:
            return ()
        return ((STATUS_DETAILS_KEY, self.status().SerializeToString()),)


def go_enum_name(full_name: str, prefix: str) -> str:
    """Temporal's Go ``String()`` of a proto enum value: "..._RPS_LIMIT" -> "RpsLimit"."""
    words = full_name.removeprefix(prefix).split("_")
    return "".join(word.capitalize() for word in words)


def pack(detail: Message) -> any_pb2.Any:
    """Wraps an error-detail message in an Any with Google's type URL prefix."""
    packed = any_pb2.Any()
    packed.Pack(detail)
    return packed


def code_of(value: int) -> grpc.StatusCode:
    """The gRPC status code of an integer; unknown integers map to UNKNOWN."""
    return _CODES_BY_INT.get(value, grpc.StatusCode.UNKNOWN)


def from_reply(status_code: int, message: str, details: bytes, details_type: str) -> ServiceError:
    """The error a non-OK history reply stands for.

    An empty ``details`` with a ``details_type`` is a valid detail (e.g. an empty
    NotFoundFailure serializes to no bytes), so the type alone decides.
    """
    packed: list[any_pb2.Any] = []
    if details_type:
        packed.append(any_pb2.Any(type_url=_TYPE_URL_PREFIX + details_type, value=details))
    return ServiceError(code_of(status_code), message, packed)


def invalid_argument(message: str) -> ServiceError:
    """INVALID_ARGUMENT without details (Temporal's serviceerror.InvalidArgument)."""
    return ServiceError(grpc.StatusCode.INVALID_ARGUMENT, message)


def failed_precondition(message: str) -> ServiceError:
    """FAILED_PRECONDITION without details."""
    return ServiceError(grpc.StatusCode.FAILED_PRECONDITION, message)


def not_found(message: str) -> ServiceError:
    """NOT_FOUND with an empty NotFoundFailure (Temporal's serviceerror.NotFound)."""
    return ServiceError(grpc.StatusCode.NOT_FOUND, message, [pack(NotFoundFailure())])


def namespace_not_found(namespace: str) -> ServiceError:
    """NOT_FOUND with NamespaceNotFoundFailure; ``namespace`` is a name or an id."""
    return ServiceError(
        grpc.StatusCode.NOT_FOUND,
        f"Namespace {namespace} is not found.",
        [pack(NamespaceNotFoundFailure(namespace=namespace))],
    )


def namespace_invalid_state(
    namespace: str, state: NamespaceState.ValueType, allowed: Iterable[NamespaceState.ValueType]
) -> ServiceError:
    """FAILED_PRECONDITION with NamespaceInvalidStateFailure, Temporal's wording."""
    allowed = list(allowed)
    names = " or ".join(_state_name(s) for s in allowed)
    return ServiceError(
        grpc.StatusCode.FAILED_PRECONDITION,
        f"Namespace has invalid state: {_state_name(state)}. Must be {names}.",
        [
            pack(
                NamespaceInvalidStateFailure(
                    namespace=namespace, state=state, allowed_states=allowed
                )
            )
        ],
    )


def resource_exhausted(
    message: str,
    cause: ResourceExhaustedCause.ValueType,
    scope: ResourceExhaustedScope.ValueType,
) -> ServiceError:
    """RESOURCE_EXHAUSTED with Temporal's failure detail and its cause and scope headers."""
    return ServiceError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        message,
        [pack(ResourceExhaustedFailure(cause=cause, scope=scope))],
        headers=[
            (
                "x-resource-exhausted-cause",
                go_enum_name(ResourceExhaustedCause.Name(cause), "RESOURCE_EXHAUSTED_CAUSE_"),
            ),
            (
                "x-resource-exhausted-scope",
                go_enum_name(ResourceExhaustedScope.Name(scope), "RESOURCE_EXHAUSTED_SCOPE_"),
            ),
        ],
    )


def namespace_rate_limited() -> ServiceError:
    """RESOURCE_EXHAUSTED of the per-namespace rate limiter, with Temporal's cause headers."""
    return resource_exhausted(
        "namespace rate limit exceeded",
        ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT,
        ResourceExhaustedScope.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
    )


def _state_name(state: NamespaceState.ValueType) -> str:
    return go_enum_name(NamespaceState.Name(state), "NAMESPACE_STATE_")


def unimplemented(method: str) -> ServiceError:
    """UNIMPLEMENTED for an RPC Strom does not serve yet."""
    return ServiceError(
        grpc.StatusCode.UNIMPLEMENTED, f"Strom does not implement WorkflowService.{method} yet"
    )


def unavailable(message: str) -> ServiceError:
    """UNAVAILABLE: a retryable failure of a backend."""
    return ServiceError(grpc.StatusCode.UNAVAILABLE, message)


def internal(message: str) -> ServiceError:
    """INTERNAL: a bug; SDKs do not retry it (internal_error_differentiation)."""
    return ServiceError(grpc.StatusCode.INTERNAL, message)


def namespace_already_exists(namespace: str) -> ServiceError:
    """ALREADY_EXISTS with NamespaceAlreadyExistsFailure, Temporal's wording."""
    return ServiceError(
        grpc.StatusCode.ALREADY_EXISTS,
        f'Namespace "{namespace}" already exists',
        [pack(NamespaceAlreadyExistsFailure())],
    )


def persistence_rate_limited() -> ServiceError:
    """RESOURCE_EXHAUSTED of the frontend's produce-rate limit, Temporal's persistence error."""
    return ServiceError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "System Persistence Max QPS Reached.",
        [
            pack(
                ResourceExhaustedFailure(
                    cause=ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_PERSISTENCE_LIMIT,
                    scope=ResourceExhaustedScope.RESOURCE_EXHAUSTED_SCOPE_SYSTEM,
                )
            )
        ],
    )
