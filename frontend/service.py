"""The WorkflowService servicer: rate limit, dispatch to an RPC handler, map errors.

Every RPC of Temporal's generated servicer is overridden: the ones in
``frontend.rpc.HANDLERS`` are served, all others answer UNIMPLEMENTED naming the RPC.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceServicer

from frontend import errors
from frontend.context import Call, Env
from frontend.errors import ServiceError
from frontend.ratelimit import NamespaceRateLimiter
from frontend.rpc import HANDLERS, Handler

logger = logging.getLogger(__name__)

RPC_NAMES: tuple[str, ...] = tuple(
    name
    for name, value in vars(WorkflowServiceServicer).items()
    if callable(value) and not name.startswith("_")
)
"""Every RPC of WorkflowService, read from the generated servicer (one method per RPC)."""


class StromWorkflowService(WorkflowServiceServicer):
    """Temporal's WorkflowService over Strom's backends.

    Args:
        env: Dependencies of the handlers.
        limiter: Per-namespace rate limiter; None disables limiting.
    """

    def __init__(self, env: Env, limiter: NamespaceRateLimiter | None = None) -> None:
        self.env = env
        self.limiter = limiter

    async def dispatch(
        self, method: str, handler: Handler | None, request: Any, context: grpc.aio.ServicerContext
    ) -> Any:
        """Runs one call; every failure becomes a gRPC status, never a crash."""
        remaining = context.time_remaining()
        call = Call(method, None if remaining is None else time.monotonic() + remaining)
        try:
            if handler is None:
                raise errors.unimplemented(method)
            self._rate_limit(request)
            response = await handler(self.env, request, call)
            if call.headers:
                await context.send_initial_metadata(call.headers)
            return response
        except ServiceError as err:
            error = err
        except TimeoutError:
            error = errors.unavailable(f"{method} timed out waiting for a Strom backend")
        except ConnectionError as err:
            error = errors.unavailable(f"{method}: Strom backend unreachable: {err}")
        except Exception:
            logger.exception("%s failed", method)
            error = errors.internal(f"{method} failed inside Strom; see the frontend log")
        if error.headers:
            await context.send_initial_metadata(error.headers)
        await context.abort(error.code, error.message, error.trailing_metadata())

    def _rate_limit(self, request: Any) -> None:
        if self.limiter is None:
            return
        name = getattr(request, "namespace", "")
        # Only known namespaces get a bucket; requests naming others fail validation.
        namespace = self.env.namespaces.get(name) if name else None
        if namespace is not None and not self.limiter.allow(name, rate=namespace.rps_limit):
            raise errors.namespace_rate_limited()


def _rpc_method(
    name: str, handler: Handler | None
) -> Callable[[StromWorkflowService, Any, grpc.aio.ServicerContext], Awaitable[Any]]:
    async def method(
        self: StromWorkflowService, request: Any, context: grpc.aio.ServicerContext
    ) -> Any:
        return await self.dispatch(name, handler, request, context)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = (
        f"Serves WorkflowService.{name}."
        if handler is not None
        else f"Answers UNIMPLEMENTED: Strom does not serve WorkflowService.{name} yet."
    )
    return method


def _install_rpc_methods() -> None:
    unknown = set(HANDLERS) - set(RPC_NAMES)
    if unknown:
        raise RuntimeError(f"handlers for RPCs WorkflowService lacks: {sorted(unknown)}")
    for name in RPC_NAMES:
        setattr(StromWorkflowService, name, _rpc_method(name, HANDLERS.get(name)))


_install_rpc_methods()
