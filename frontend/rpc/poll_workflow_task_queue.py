"""PollWorkflowTaskQueue: long-polls the matching process for a workflow task."""

from __future__ import annotations

import time

from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
)

from frontend import validation
from frontend.context import Call, Env, require_namespace
from frontend.longpoll import answer_by, require_long_poll_deadline, wait_unless_stopping


async def handle(
    env: Env, request: PollWorkflowTaskQueueRequest, call: Call
) -> PollWorkflowTaskQueueResponse:
    """A workflow task, or Temporal's empty response when none came before the deadline."""
    require_namespace(env, request.namespace)
    require_long_poll_deadline(env, call)
    max_id = env.config.max_id_length
    validation.validate_identity(request.identity, max_id)
    validation.validate_task_queue(request, "task_queue", max_id)
    deadline = answer_by(env, call, env.config.task_poll_max_s)
    if deadline <= time.monotonic():
        return PollWorkflowTaskQueueResponse()
    response = await wait_unless_stopping(
        env, env.matching.poll_workflow_task(request, deadline), deadline
    )
    return response if response is not None else PollWorkflowTaskQueueResponse()
