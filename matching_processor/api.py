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
) -> grpc.GenericRpcHandler:
    """Returns the handler that serves the service's methods with the given coroutines."""
    return grpc.method_handlers_generic_handler(
        SERVICE_NAME,
        {
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
