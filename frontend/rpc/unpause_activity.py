"""UnpauseActivity: paused activities run again, optionally from attempt 1."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import UnpauseActivityRequest, UnpauseActivityResponse

from frontend import activity_ops
from frontend.context import Call, Env


async def handle(env: Env, request: UnpauseActivityRequest, call: Call) -> UnpauseActivityResponse:
    """Checks the request, then the workflow's history shard decides (NOT_FOUND for a
    missing workflow or activity)."""
    activity_ops.check(env, request)
    await activity_ops.forward(env, request, call, UnpauseActivityResponse)
    return UnpauseActivityResponse()
