"""UpdateActivityOptions: new options for pending activities, or their scheduled ones back."""

from __future__ import annotations

from temporalio.api.common.v1 import Priority
from temporalio.api.workflowservice.v1 import (
    UpdateActivityOptionsRequest,
    UpdateActivityOptionsResponse,
)

from frontend import activity_ops
from frontend.context import Call, Env
from frontend.errors import invalid_argument

FAIRNESS_KEY_MAX_LENGTH = 64


def check_priority(priority: Priority) -> None:
    """Temporal's priorities.Validate.

    Raises:
        ServiceError: INVALID_ARGUMENT with Temporal's message.
    """
    if priority.priority_key < 0:
        raise invalid_argument("priority key can't be negative")
    if len(priority.fairness_key) > FAIRNESS_KEY_MAX_LENGTH:
        raise invalid_argument("fairness key length exceeds limit")
    if priority.fairness_weight < 0:
        raise invalid_argument("must be greater than zero")


async def handle(
    env: Env, request: UpdateActivityOptionsRequest, call: Call
) -> UpdateActivityOptionsResponse:
    """Checks the request, then the workflow's history shard merges the masked fields and
    answers with the options the activity now has."""
    activity_ops.check(env, request)
    check_priority(request.activity_options.priority)
    response = await activity_ops.forward(env, request, call, UpdateActivityOptionsResponse)
    return UpdateActivityOptionsResponse(activity_options=response.activity_options)
