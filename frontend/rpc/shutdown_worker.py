"""ShutdownWorker: acknowledged; Strom keeps no per-worker state to release yet."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import ShutdownWorkerRequest, ShutdownWorkerResponse

from frontend.context import Call, Env, require_namespace


async def handle(env: Env, request: ShutdownWorkerRequest, call: Call) -> ShutdownWorkerResponse:
    """OK for an existing namespace.

    Sticky-queue tasks of the stopped worker fall back to the normal queue through the
    sticky schedule-to-start timeout; namespaces do not advertise
    worker_poll_complete_on_shutdown, so SDKs cancel their own polls.
    """
    require_namespace(env, request.namespace)
    return ShutdownWorkerResponse()
