"""Matching's internal gRPC service, server side (names in `schemas.clients.matching`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv1

from schemas.clients.matching import SERVICE_NAME

WorkflowPollHandler = Callable[
    [wsv1.PollWorkflowTaskQueueRequest, grpc.aio.ServicerContext],
    Awaitable[wsv1.PollWorkflowTaskQueueResponse],
]
ActivityPollHandler = Callable[
    [wsv1.PollActivityTaskQueueRequest, grpc.aio.ServicerContext],
    Awaitable[wsv1.PollActivityTaskQueueResponse],
]
BytesHandler = Callable[[bytes, grpc.aio.ServicerContext], Awaitable[bytes]]
"""A method whose request and response are JSON messages of `schemas.queries`."""


def _raw(data: bytes) -> bytes:
    return data


DescribeHandler = Callable[
    [wsv1.DescribeTaskQueueRequest, grpc.aio.ServicerContext],
    Awaitable[wsv1.DescribeTaskQueueResponse],
]
ShutdownWorkerHandler = Callable[
    [wsv1.ShutdownWorkerRequest, grpc.aio.ServicerContext],
    Awaitable[wsv1.ShutdownWorkerResponse],
]


def generic_handler(
    poll_workflow: WorkflowPollHandler,
    poll_activity: ActivityPollHandler,
    describe: DescribeHandler,
    shutdown_worker: ShutdownWorkerHandler,
    query_workflow: BytesHandler | None = None,
    respond_query_task_completed: BytesHandler | None = None,
) -> grpc.GenericRpcHandler:
    """Returns the handler that serves the poll methods and, when given, the query methods
    (request ``QueryTaskRequest`` / ``QueryTaskCompleted``, response an encoded ``Reply``)."""
    query_methods = {}
    for name, handler in (
        ("QueryWorkflow", query_workflow),
        ("RespondQueryTaskCompleted", respond_query_task_completed),
    ):
        if handler is not None:
            query_methods[name] = grpc.unary_unary_rpc_method_handler(
                handler, request_deserializer=_raw, response_serializer=_raw
            )
    return grpc.method_handlers_generic_handler(
        SERVICE_NAME,
        {
            **query_methods,
            "DescribeTaskQueue": grpc.unary_unary_rpc_method_handler(
                describe,
                request_deserializer=wsv1.DescribeTaskQueueRequest.FromString,
                response_serializer=wsv1.DescribeTaskQueueResponse.SerializeToString,
            ),
            "ShutdownWorker": grpc.unary_unary_rpc_method_handler(
                shutdown_worker,
                request_deserializer=wsv1.ShutdownWorkerRequest.FromString,
                response_serializer=wsv1.ShutdownWorkerResponse.SerializeToString,
            ),
            "PollWorkflowTaskQueue": grpc.unary_unary_rpc_method_handler(
                poll_workflow,
                request_deserializer=wsv1.PollWorkflowTaskQueueRequest.FromString,
                response_serializer=wsv1.PollWorkflowTaskQueueResponse.SerializeToString,
            ),
            "PollActivityTaskQueue": grpc.unary_unary_rpc_method_handler(
                poll_activity,
                request_deserializer=wsv1.PollActivityTaskQueueRequest.FromString,
                response_serializer=wsv1.PollActivityTaskQueueResponse.SerializeToString,
            ),
        },
    )
