"""PauseActivity: an operator holds pending activities; none is dispatched until unpaused."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import PauseActivityRequest, PauseActivityResponse

from frontend import activity_ops
from frontend.context import Call, Env


async def handle(env: Env, request: PauseActivityRequest, call: Call) -> PauseActivityResponse:
    """Checks the request, then the workflow's history shard decides (NOT_FOUND for a
    missing workflow or activity)."""
    activity_ops.check(env, request)
    await activity_ops.forward(env, request, call, PauseActivityResponse)
    return PauseActivityResponse()
