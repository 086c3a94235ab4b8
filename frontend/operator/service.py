"""The OperatorService servicer: dispatch to an RPC handler, map errors to gRPC statuses.

Every RPC of Temporal's generated servicer is overridden: the ones in
``frontend.operator.HANDLERS`` are served, all others answer UNIMPLEMENTED naming the RPC.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from temporalio.api.operatorservice.v1.service_pb2_grpc import OperatorServiceServicer

from frontend import errors
from frontend.context import Call, Env
from frontend.errors import ServiceError
from frontend.operator import HANDLERS
from frontend.rpc import Handler

logger = logging.getLogger(__name__)

SERVICE_NAME = "temporal.api.operatorservice.v1.OperatorService"

RPC_NAMES: tuple[str, ...] = tuple(
    name
    for name, value in vars(OperatorServiceServicer).items()
    if callable(value) and not name.startswith("_")
)
"""Every RPC of OperatorService, read from the generated servicer."""


class StromOperatorService(OperatorServiceServicer):
    """Temporal's OperatorService over Strom's namespace registry.

    Args:
        env: Dependencies of the handlers (the WorkflowService's).
    """

    def __init__(self, env: Env) -> None:
        self.env = env

    async def dispatch(
        self, method: str, handler: Handler | None, request: Any, context: grpc.aio.ServicerContext
    ) -> Any:
        """Runs one call; every failure becomes a gRPC status, never a crash."""
        remaining = context.time_remaining()
        call = Call(method, None if remaining is None else time.monotonic() + remaining)
        try:
            if handler is None:
                raise ServiceError(
                    grpc.StatusCode.UNIMPLEMENTED,
                    f"Strom does not implement OperatorService.{method} yet",
                )
            return await handler(self.env, request, call)
        except ServiceError as err:
            error = err
        except Exception:
            logger.exception("%s failed", method)
            error = errors.internal(f"{method} failed inside Strom; see the frontend log")
        await context.abort(error.code, error.message, error.trailing_metadata())


def _rpc_method(
    name: str, handler: Handler | None
) -> Callable[[StromOperatorService, Any, grpc.aio.ServicerContext], Awaitable[Any]]:
    async def method(
        self: StromOperatorService, request: Any, context: grpc.aio.ServicerContext
    ) -> Any:
        return await self.dispatch(name, handler, request, context)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Serves OperatorService.{name}."
    return method


def _install_rpc_methods() -> None:
    unknown = set(HANDLERS) - set(RPC_NAMES)
    if unknown:
        raise RuntimeError(f"handlers for RPCs OperatorService lacks: {sorted(unknown)}")
    for name in RPC_NAMES:
        setattr(StromOperatorService, name, _rpc_method(name, HANDLERS.get(name)))


_install_rpc_methods()
