"""ShutdownWorker: a worker stops; matching unloads its sticky queue."""

from __future__ import annotations

import time

from temporalio.api.workflowservice.v1 import ShutdownWorkerRequest, ShutdownWorkerResponse

from frontend.context import Call, Env, require_namespace


async def handle(env: Env, request: ShutdownWorkerRequest, call: Call) -> ShutdownWorkerResponse:
    """Unloads the worker's sticky queue, as Temporal's ForceUnloadTaskQueuePartition.

    Its waiting polls answer empty at once, and the queue has no worker any more: the next
    workflow task of a run that was sticky to it goes to the normal queue (matching hands it
    back to history), so no run waits out its sticky schedule-to-start timeout.
    """
    require_namespace(env, request.namespace)
    deadline = time.monotonic() + call.bound(env.config.history_timeout_s)
    await env.matching.shutdown_worker(request, deadline)
    return ShutdownWorkerResponse()
