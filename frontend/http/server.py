"""The HTTP server (aiohttp) that turns each request into a call of Strom's servicer.

Per request, as Temporal's grpc-gateway mux does: pick the JSON flavours, find the route (404
``Not Found`` / 501 ``Method Not Allowed`` otherwise), build the request message from the body,
the path captures and the query, call the servicer method in-process, and answer the response
in JSON, or the call's google.rpc.Status with grpc-gateway's HTTP status.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import grpc
from aiohttp import web
from google.protobuf import message_factory
from google.protobuf.message import Message
from temporalio.api.common.v1 import GrpcStatus
from temporalio.api.workflowservice.v1 import service_pb2

from frontend.http import binding, formats
from frontend.http.call import (
    HttpServicerContext,
    RpcAbortedError,
    call_status,
    decode_timeout,
    http_status,
    status,
)
from frontend.http.formats import Format
from frontend.http.marshal import MarshalError, marshal
from frontend.http.routes import (
    MethodNotAllowedError,
    Route,
    RouteNotFoundError,
    RouteTable,
    routes_of,
)
from frontend.http.unmarshal import BodyError, merge
from streams import metrics

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 * 1024 * 1024
"""Temporal's limit on an HTTP API request body (gRPC's default message size)."""
_FORM = "application/x-www-form-urlencoded"


def workflow_service_routes() -> RouteTable:
    """The routes of Temporal's WorkflowService, from the descriptors ``temporalio`` ships."""
    return RouteTable(routes_of(service_pb2.DESCRIPTOR.services_by_name["WorkflowService"]))


class HttpApi:
    """Temporal's HTTP API over a servicer.

    Args:
        servicer: Has one ``async def Rpc(request, context)`` per routed RPC
            (``StromWorkflowService``).
        routes: The route table; WorkflowService's by default.
    """

    def __init__(self, servicer: Any, routes: RouteTable | None = None) -> None:
        self.servicer = servicer
        self.routes = routes or workflow_service_routes()
        self.app = web.Application(client_max_size=MAX_BODY_BYTES)
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        """Serves one request; every failure becomes a status body, never a traceback."""
        raw_query = request.rel_url.raw_query_string
        inbound, outbound = formats.negotiate(
            request.headers.getall("Accept", []),
            request.headers.getall("Content-Type", []),
            raw_query,
        )
        try:
            path = binding.unescape(request.rel_url.raw_path)
            fallback = request.method == "POST" and request.headers.get("Content-Type") == _FORM
            route, captures = self.routes.resolve(request.method, path, fallback)
        except RouteNotFoundError:
            return _error(status(grpc.StatusCode.NOT_FOUND, "Not Found"), outbound)
        except MethodNotAllowedError:
            return _error(status(grpc.StatusCode.UNIMPLEMENTED, "Method Not Allowed"), outbound)
        except binding.BindingError as exc:
            return _error(status(grpc.StatusCode.INVALID_ARGUMENT, str(exc)), outbound)
        try:
            message = await _request_message(request, route, captures, inbound, raw_query)
            timeout_header = request.headers.get("Grpc-Timeout")
            timeout = decode_timeout(timeout_header) if timeout_header else None
        except (BodyError, binding.BindingError, ValueError) as exc:
            return _error(status(grpc.StatusCode.INVALID_ARGUMENT, str(exc)), outbound)
        # Temporal's HTTP API forwards the Authorization header as gRPC metadata.
        metadata = [("authorization", v) for v in request.headers.getall("Authorization", [])]
        return await self._call(route, message, HttpServicerContext(timeout, metadata), outbound)

    async def _call(
        self, route: Route, message: Message, context: HttpServicerContext, outbound: Format
    ) -> web.Response:
        # Counted like a gRPC call of the same RPC (Temporal's gateway calls its gRPC server
        # in-process, so its interceptors count both alike); requests refused before a route
        # or a message exists never reach an RPC and are not counted.
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            response = await getattr(self.servicer, route.rpc)(message, context)
        except RpcAbortedError as aborted:
            code = call_status(aborted.status.code)
            return _error(aborted.status, outbound)
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED  # the client went away
            raise
        except Exception:
            code = grpc.StatusCode.INTERNAL
            logger.exception("HTTP %s failed", route.rpc)
            failed = f"{route.rpc} failed inside Strom; see the frontend log"
            return _error(status(grpc.StatusCode.INTERNAL, failed), outbound)
        finally:
            metrics.record_rpc(route.rpc, code, time.perf_counter() - started)
        if route.response_body:
            for part in route.response_body.split("."):
                response = getattr(response, part)
        try:
            body = marshal(response, outbound.indent, outbound.shorthand)
        except MarshalError as exc:
            return _error(status(grpc.StatusCode.INTERNAL, str(exc)), outbound)
        return _response(200, body, outbound)


async def _request_message(
    request: web.Request, route: Route, captures: dict[str, str], inbound: Format, query: str
) -> Message:
    message = message_factory.GetMessageClass(route.method.input_type)()
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise BodyError("http: request body too large") from None
    if route.body:
        target = message
        if route.body != "*":
            for part in route.body.split("."):
                target = getattr(target, part)
        merge(body, target, inbound.shorthand)
    else:
        params = binding.parse_query(query)
        if route.http_method != request.method:  # a form POST served by a GET route
            for key, values in binding.parse_query(body.decode("utf-8", "replace")).items():
                params[key] = values + params.get(key, [])
        binding.bind_query(message, params, captures)
    binding.bind_path(message, captures)
    return message


def _error(rpc_status: GrpcStatus, outbound: Format) -> web.Response:
    try:
        body = marshal(rpc_status, outbound.indent, outbound.shorthand)
    except MarshalError:  # a detail of a type this process does not know: drop the details
        bare = GrpcStatus(code=rpc_status.code, message=rpc_status.message)
        body = marshal(bare, outbound.indent, outbound.shorthand)
    return _response(http_status(rpc_status.code), body, outbound)


def _response(code: int, body: bytes, outbound: Format) -> web.Response:
    return web.Response(status=code, body=body, headers={"Content-Type": outbound.content_type})


class HttpApiServer:
    """A running HTTP API; ``stop()`` it.

    Args:
        api: The application.
        runner: Its aiohttp runner (set up).
        port: The bound port.
    """

    def __init__(self, api: HttpApi, runner: web.AppRunner, port: int) -> None:
        self.api = api
        self.port = port
        self._runner = runner

    async def stop(self) -> None:
        """Stops listening and waits for calls in flight (up to the runner's shutdown timeout)."""
        await self._runner.cleanup()


async def start_http_api(
    servicer: Any, host: str, port: int, shutdown_timeout: float = 5.0
) -> HttpApiServer:
    """Serves Temporal's HTTP API for ``servicer`` on ``host:port`` (0 picks a free port).

    Raises:
        OSError: The port cannot be bound.
    """
    api = HttpApi(servicer)
    runner = web.AppRunner(api.app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1] if runner.addresses else port
    logger.info("HTTP API serving on %s:%d", host, bound)
    return HttpApiServer(api, runner, bound)
