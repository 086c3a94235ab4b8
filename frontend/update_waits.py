"""How the frontend waits for a workflow update's stage in history (Temporal's WaitLifecycleStage).

History holds the waiting caller in memory beside the admitted update. The wait ends at the
stage asked for, or after Temporal's long-poll interval (20 s) with the stage reached so far
(the caller asks again, or polls). When the client's own deadline comes first, the caller
gets DEADLINE_EXCEEDED, as on Temporal. A history that never answers (it restarted or its
shard moved, and forgot the waiting caller with the admitted update) counts as a wait that
ended at ADMITTED: the caller sends the update again, which admits it anew; if the client's
deadline comes first, the frontend answers DEADLINE_EXCEEDED just before it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import grpc
from google.protobuf.message import Message

from frontend import errors
from frontend.context import Call, Env
from frontend.errors import ServiceError
from schemas.clients.history import Serializable
from schemas.reply import Reply

LONG_POLL_INTERVAL_S = 20.0
"""Temporal's history.longPollExpirationInterval: the longest one wait lasts."""
ANSWER_MARGIN_S = 0.2
"""History gives up this long before the client's deadline, so the client still gets
Temporal's DEADLINE_EXCEEDED instead of its own timeout."""
_HISTORY_GRACE_S = 5.0

ResponseT = TypeVar("ResponseT", bound=Message)


def deadline_exceeded() -> ServiceError:
    """Temporal's answer to a caller whose deadline passed before the stage was reached."""
    return ServiceError(grpc.StatusCode.DEADLINE_EXCEEDED, "context deadline exceeded")


async def wait_in_history(
    env: Env,
    call: Call,
    namespace: str,
    workflow_id: str,
    kind: str,
    make_message: Callable[[int], Serializable],
    response_type: type[ResponseT],
    reached: Callable[[ResponseT], bool],
    lost: Callable[[], ResponseT],
) -> ResponseT:
    """Sends a waiting update command to history and turns its answer into the response.

    Args:
        env: Environment.
        call: The call; its deadline bounds the wait.
        namespace: Namespace name.
        workflow_id: Workflow id.
        kind: Inbox kind.
        make_message: Builds the inbox message for a wait ending at this epoch millisecond.
        response_type: The response class of the reply payload.
        reached: Whether a response shows the stage the caller asked for.
        lost: The response when history did not answer (stage ADMITTED).

    Raises:
        ServiceError: History's error, or DEADLINE_EXCEEDED at the client's deadline.
    """
    remaining = call.remaining()
    wait_s = LONG_POLL_INTERVAL_S
    client_bound = remaining is not None and remaining - ANSWER_MARGIN_S < wait_s
    if remaining is not None:
        wait_s = min(wait_s, remaining - ANSWER_MARGIN_S)
    if wait_s <= 0:
        raise deadline_exceeded()
    deadline_ms = int((time.time() + wait_s) * 1000)
    message = make_message(deadline_ms)
    # A history that forgot the caller never answers. When the client's deadline bounds the
    # wait, stop just before that deadline, so the client still gets Temporal's status
    # rather than its own timeout; history's own answer is due half a margin earlier.
    grace_s = ANSWER_MARGIN_S / 2 if client_bound else _HISTORY_GRACE_S
    try:
        reply: Reply = await env.history.call(
            namespace, workflow_id, kind, message, wait_s + grace_s
        )
    except TimeoutError:
        if client_bound:
            raise deadline_exceeded() from None
        return lost()
    if not reply.ok:
        raise errors.from_reply(reply.status_code, reply.message, reply.details, reply.details_type)
    response = response_type.FromString(reply.payload)
    if not reached(response) and client_bound:
        raise deadline_exceeded()
    return response
