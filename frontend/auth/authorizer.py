"""Temporal's default authorizer, in front of every gRPC method and every HTTP API call."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
from temporalio.api.errordetails.v1 import PermissionDeniedFailure

from frontend import errors
from frontend.auth.access import ALWAYS_ALLOWED, WORKFLOW_SERVICE, Scope, required
from frontend.auth.claims import Claims, InvalidTokenError, JwtClaimMapper
from frontend.errors import ServiceError

logger = logging.getLogger(__name__)

REQUEST_UNAUTHORIZED = "Request unauthorized."
"""Temporal's one message for every refusal: it discloses nothing about why."""

AUTHORIZATION_HEADER = "authorization"


def unauthorized() -> ServiceError:
    """Temporal's PERMISSION_DENIED ("Request unauthorized.", an empty PermissionDeniedFailure)."""
    return ServiceError(
        grpc.StatusCode.PERMISSION_DENIED,
        REQUEST_UNAUTHORIZED,
        [errors.pack(PermissionDeniedFailure())],
    )


class Authorizer:
    """Allows a call when the caller's token grants the role its RPC needs.

    Health checks (and GetSystemInfo) are allowed to anyone. Otherwise a call without a
    token, with a token that does not verify, or whose roles in the request's namespace
    (plus the system roles) are below what the RPC needs gets PERMISSION_DENIED; cluster-wide
    RPCs count only the system roles.

    Args:
        mapper: Turns the ``authorization`` header into claims.
    """

    def __init__(self, mapper: JwtClaimMapper) -> None:
        self.mapper = mapper

    async def check(self, method: str, header: str | None, namespace: str) -> Claims | None:
        """Returns the caller's claims when the call may go ahead.

        Args:
            method: Full gRPC method name, ``/package.Service/Rpc``.
            header: The ``authorization`` metadata, None when absent.
            namespace: The request's namespace ("" for requests without one).

        Raises:
            ServiceError: PERMISSION_DENIED.
        """
        if method in ALWAYS_ALLOWED:
            return None
        if not header:
            raise unauthorized()
        try:
            claims = await self.mapper.claims(header)
        except InvalidTokenError as exc:
            logger.info("authorization error on %s: %s", method, exc)
            raise unauthorized() from None
        need = required(method)
        if need is None:
            raise unauthorized()
        scope, role = need
        held = claims.system if scope is Scope.CLUSTER else claims.role_in(namespace)
        # Temporal compares the role bitmask as a number.
        if held < role:
            raise unauthorized()
        return claims


def _header(metadata: Sequence[tuple[str, Any]] | None) -> str | None:
    for key, value in metadata or ():
        if key.lower() == AUTHORIZATION_HEADER:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return None


async def _abort(context: grpc.aio.ServicerContext, error: ServiceError) -> None:
    await context.abort(error.code, error.message, error.trailing_metadata())


class AuthorizingInterceptor(grpc.aio.ServerInterceptor):
    """Runs the authorizer before every gRPC method of the server.

    Unary methods are checked with their request's namespace; streaming ones (the health
    service's Watch) are checked without one, as Temporal's stream interceptor does.
    """

    def __init__(self, authorizer: Authorizer) -> None:
        self.authorizer = authorizer

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """Wraps the method's handler in the check."""
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        header = _header(handler_call_details.invocation_metadata)
        if handler.unary_unary is not None:
            return self._unary(handler, method, header)
        try:
            await self.authorizer.check(method, header, "")
        except ServiceError as error:
            return _refusing(handler, error)
        return handler

    def _unary(
        self, handler: grpc.RpcMethodHandler, method: str, header: str | None
    ) -> grpc.RpcMethodHandler:
        behavior = handler.unary_unary
        authorizer = self.authorizer

        async def checked(request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                await authorizer.check(method, header, getattr(request, "namespace", "") or "")
            except ServiceError as error:
                await _abort(context, error)
            return await behavior(request, context)

        return grpc.unary_unary_rpc_method_handler(
            checked,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _refusing(handler: grpc.RpcMethodHandler, error: ServiceError) -> grpc.RpcMethodHandler:
    async def refuse(request: Any, context: grpc.aio.ServicerContext) -> None:
        await _abort(context, error)

    make = (
        grpc.unary_stream_rpc_method_handler
        if handler.unary_stream is not None
        else grpc.stream_unary_rpc_method_handler
        if handler.stream_unary is not None
        else grpc.stream_stream_rpc_method_handler
    )
    return make(
        refuse,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class AuthorizingServicer:
    """The WorkflowService servicer behind the authorizer, for the HTTP API.

    The HTTP API calls servicer methods in-process, past the gRPC interceptors; this wrapper
    applies the same check, with the ``Authorization`` header the HTTP context carries.

    Args:
        servicer: The servicer (``StromWorkflowService``).
        authorizer: The authorizer.
    """

    def __init__(self, servicer: Any, authorizer: Authorizer) -> None:
        self._servicer = servicer
        self._authorizer = authorizer

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._servicer, name)
        authorizer = self._authorizer

        async def checked(request: Any, context: Any) -> Any:
            metadata = context.invocation_metadata()
            namespace = getattr(request, "namespace", "") or ""
            try:
                await authorizer.check(WORKFLOW_SERVICE + name, _header(metadata), namespace)
            except ServiceError as error:
                await context.abort(error.code, error.message, error.trailing_metadata())
            return await method(request, context)

        return checked
