"""Deadlines of long-polls and waiting that ends early when the server stops."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

from frontend.context import Call, Env
from frontend.errors import failed_precondition, invalid_argument

T = TypeVar("T")

MIN_LONG_POLL_TIMEOUT_S = 2.0
"""Shortest client deadline Temporal accepts on a long-poll (common.MinLongPollTimeout)."""
_BACKEND_GRACE_S = 5.0


def require_long_poll_deadline(env: Env, call: Call) -> None:
    """A long-poll must come with a deadline of at least two seconds, as in Temporal."""
    remaining = call.remaining()
    if remaining is None:
        raise invalid_argument("Context timeout is not set.")
    if remaining < MIN_LONG_POLL_TIMEOUT_S:
        raise failed_precondition("Context timeout is too short.")


def answer_by(env: Env, call: Call, max_wait_s: float) -> float:
    """The ``time.monotonic()`` instant by which an empty long-poll answer must be sent.

    It leaves tail room before the client's deadline and lies at most ``max_wait_s``
    ahead. It may lie in the past: then the answer is empty at once.
    """
    latest = time.monotonic() + max_wait_s
    if call.deadline is None:
        return latest
    return min(latest, call.deadline - env.config.long_poll_tail_s)


async def wait_unless_stopping(env: Env, work: Awaitable[T], deadline: float) -> T | None:
    """Awaits ``work`` unless the server starts stopping or ``deadline`` passes by far.

    Returns:
        The result of ``work``, or None when it was cancelled because the server stops or
        the backend overran ``deadline`` by more than a grace period.
    """
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(env.stopping.wait())
    try:
        timeout = max(0.0, deadline - time.monotonic()) + _BACKEND_GRACE_S
        done, _ = await asyncio.wait(
            {task, stopping}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if task in done:
            return task.result()
        return None
    finally:
        for pending in (task, stopping):
            if not pending.done():
                pending.cancel()
        await asyncio.gather(task, stopping, return_exceptions=True)
