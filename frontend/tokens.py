"""Reads the routing fields of a task token; the format belongs to schemas.tokens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from schemas import tokens
from schemas.exceptions import TaskTokenError


class MalformedTaskTokenError(Exception):
    """The bytes are not a task token."""


@dataclass(frozen=True)
class TaskTokenRef:
    """What the frontend needs from a task token to route the request.

    Attributes:
        namespace_id: Id of the namespace the task belongs to.
        workflow_id: Workflow id, half of the shard key.
        run_id: Run id of the execution.
    """

    namespace_id: str
    workflow_id: str
    run_id: str


TokenDecoder = Callable[[bytes], TaskTokenRef]


def decode_task_token(data: bytes) -> TaskTokenRef:
    """Decodes a task token with ``schemas.tokens.decode``.

    The history processor owns the token format and validates the rest of the token
    against its state; the frontend only needs where to send the request.

    Raises:
        MalformedTaskTokenError: The bytes are not a well-formed task token.
    """
    try:
        token = tokens.decode(data)
    except (TaskTokenError, ValueError) as err:
        raise MalformedTaskTokenError(str(err)) from err
    return TaskTokenRef(token.namespace_id, token.workflow_id, token.run_id)
