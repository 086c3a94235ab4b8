"""The checks the operator's activity RPCs share (Temporal's WorkflowHandler.PauseActivity etc.)."""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf.message import Message

from frontend.context import Call, Env, call_history, require_namespace
from frontend.errors import invalid_argument

ResponseT = TypeVar("ResponseT", bound=Message)

MSG_NO_WORKFLOW_ID = "WorkflowId is not set on request."
MSG_NO_ACTIVITY = "Either Activity.Id or Activity.Type should be set on request."


def check(env: Env, request: Any) -> None:
    """Validates what Temporal's frontend checks before asking history.

    Raises:
        ServiceError: INVALID_ARGUMENT without a workflow id or without an activity
            selection; the namespace's errors.
    """
    require_namespace(env, request.namespace)
    if not request.execution.workflow_id:
        raise invalid_argument(MSG_NO_WORKFLOW_ID)
    if request.WhichOneof("activity") is None:
        raise invalid_argument(MSG_NO_ACTIVITY)


async def forward(env: Env, request: Any, call: Call, response_type: type[ResponseT]) -> ResponseT:
    """Asks the workflow's history shard (the inbox kind is the RPC name)."""
    return await call_history(
        env, call, request.namespace, request.execution.workflow_id, request, response_type
    )
