"""Starting and stopping the frontend's gRPC server."""

from __future__ import annotations

import logging
import weakref

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from temporalio.api.operatorservice.v1.service_pb2_grpc import (
    add_OperatorServiceServicer_to_server,
)
from temporalio.api.workflowservice.v1.service_pb2_grpc import (
    add_WorkflowServiceServicer_to_server,
)

from frontend.auth import AuthorizingInterceptor, AuthorizingServicer
from frontend.backends import HistoryCaller, MatchingBackend, NamespaceRegistry, VisibilityBackend
from frontend.config import FrontendConfig
from frontend.context import Env
from frontend.operator.service import SERVICE_NAME as _OPERATOR_SERVICE
from frontend.operator.service import StromOperatorService
from frontend.ratelimit import NamespaceRateLimiter
from frontend.service import StromWorkflowService
from frontend.tokens import TokenDecoder, decode_task_token
from schemas.clusters import ClusterStore
from streams import grpc_server, metrics

logger = logging.getLogger(__name__)

_MAX_MESSAGE_BYTES = 128 * 1024 * 1024  # histories and completions can be large
# The Env of each server, so stop() can end its long-polls first.
_ENVS: weakref.WeakKeyDictionary[grpc.aio.Server, Env] = weakref.WeakKeyDictionary()


_WORKFLOW_SERVICE = "temporal.api.workflowservice.v1.WorkflowService"
_HEALTH: dict[grpc.aio.Server, health_aio.HealthServicer] = {}
_SERVICERS: weakref.WeakKeyDictionary[
    grpc.aio.Server, StromWorkflowService | AuthorizingServicer
] = weakref.WeakKeyDictionary()


def create_server(
    config: FrontendConfig, env: Env, limiter: NamespaceRateLimiter | None = None
) -> tuple[grpc.aio.Server, int]:
    """Builds (does not start) the server and binds its port.

    Returns:
        The server and the bound port (the free port chosen when ``config.port`` is 0).

    Raises:
        BindError: The frontend's address could not be bound.
    """
    # With an authorizer, the metrics interceptor stays outside it so that refused calls are
    # counted too; without one, no interceptor is needed (`metrics.MeasuredServer`).
    interceptors = (
        [*metrics.grpc_interceptors(), AuthorizingInterceptor(config.authorizer)]
        if config.authorizer
        else []
    )
    server = grpc.aio.server(
        interceptors=interceptors,
        options=[
            *grpc_server.SERVER_OPTIONS,
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
        ],
    )
    # The RPC methods are installed at import, from the servicer's RPC list; mypy only sees
    # the generated stub's abstract declarations.
    service = StromWorkflowService(env, limiter)  # type: ignore[abstract]
    target = server if interceptors else metrics.MeasuredServer(server)
    add_WorkflowServiceServicer_to_server(service, target)
    # The HTTP API calls the servicer past the interceptors: give it the authorizing one.
    _SERVICERS[server] = (
        AuthorizingServicer(service, config.authorizer) if config.authorizer else service
    )
    add_OperatorServiceServicer_to_server(StromOperatorService(env), target)  # type: ignore[abstract]
    # The standard gRPC health service, which `temporal operator cluster health` and load
    # balancers ask; the frontend is SERVING for as long as it accepts calls.
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, target)
    _HEALTH[server] = health
    credentials = None
    if config.tls is not None:
        credentials = grpc.ssl_server_credentials(
            [(config.tls.key, config.tls.cert)],
            root_certificates=config.tls.client_ca,
            require_client_auth=config.tls.client_ca is not None,
        )
    port = grpc_server.bind(server, f"{config.host}:{config.port}", "the frontend", credentials)
    _ENVS[server] = env
    return server, port


async def serve(
    config: FrontendConfig,
    history: HistoryCaller,
    matching: MatchingBackend,
    visibility: VisibilityBackend,
    namespaces: NamespaceRegistry,
    *,
    decode_token: TokenDecoder = decode_task_token,
    clusters: ClusterStore | None = None,
) -> grpc.aio.Server:
    """Starts the frontend; the caller awaits ``server.wait_for_termination()``.

    Stop it with ``stop(server)`` so long-polls answer at once instead of being cut off.
    """
    env = Env(config, history, matching, visibility, namespaces, decode_token=decode_token)
    if clusters is not None:
        env.clusters = clusters
    limiter = NamespaceRateLimiter(config.namespace_rps, config.namespace_burst)
    server, port = create_server(config, env, limiter)
    await server.start()
    await _HEALTH[server].set(_WORKFLOW_SERVICE, health_pb2.HealthCheckResponse.SERVING)
    await _HEALTH[server].set(_OPERATOR_SERVICE, health_pb2.HealthCheckResponse.SERVING)
    logger.info("frontend serving WorkflowService on %s:%d", config.host, port)
    return server


def servicer(server: grpc.aio.Server) -> StromWorkflowService | AuthorizingServicer:
    """The WorkflowService servicer of a server ``create_server`` built (the HTTP API calls it),
    behind the config's authorizer when there is one."""
    return _SERVICERS[server]


async def stop(server: grpc.aio.Server, grace: float | None = None) -> None:
    """Stops gracefully: long-polls return their empty answers, calls in flight get
    ``grace`` seconds (the config's shutdown_grace_s by default), then the rest is cut."""
    health = _HEALTH.pop(server, None)
    if health is not None:
        await health.enter_graceful_shutdown()
    env = _ENVS.pop(server, None)
    if env is not None:
        env.stopping.set()
        if grace is None:
            grace = env.config.shutdown_grace_s
    await server.stop(grace)
