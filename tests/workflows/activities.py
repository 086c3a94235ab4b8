"""Activities used by the test workflows; kept apart so workflow modules stay sandbox-light."""

import asyncio

from temporalio import activity
from temporalio.exceptions import ApplicationError

# Attempts that fail before `flaky_greet` succeeds.
FLAKY_FAILURES = 2


@activity.defn
async def greet(name: str) -> str:
    """Returns a greeting for `name`."""
    return f"Hello, {name}!"


@activity.defn
async def greet_after(name: str, seconds: float) -> str:
    """Returns a greeting for `name` after `seconds`."""
    await asyncio.sleep(seconds)
    return f"Hello, {name}!"


@activity.defn
async def flaky_greet(name: str) -> str:
    """Fails its first `FLAKY_FAILURES` attempts, then greets.

    The attempt number comes from the server, so the behaviour is the same on every worker.
    """
    attempt = activity.info().attempt
    if attempt <= FLAKY_FAILURES:
        raise ApplicationError(f"flaky failure on attempt {attempt}", type="FlakyError")
    return f"Hello, {name}! (attempt {attempt})"


@activity.defn
async def always_fail(name: str) -> str:
    """Fails on every attempt with a retryable application error."""
    raise ApplicationError(f"cannot greet {name}", type="AlwaysFails")


@activity.defn
def sync_greet(name: str) -> str:
    """A synchronous (thread-pool) activity that greets."""
    return f"Hello from a thread, {name}!"


@activity.defn
async def slow_greet(name: str) -> str:
    """Greets after a while (long enough to terminate its workflow meanwhile)."""
    await asyncio.sleep(2)
    return f"Hello, {name}!"


ALL_ACTIVITIES = [greet, greet_after, flaky_greet, always_fail, sync_greet, slow_greet]


@activity.defn
async def big_result(size: int) -> str:
    """Returns a string of `size` characters (about that many bytes once serialized)."""
    return "x" * size
