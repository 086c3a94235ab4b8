"""Small test helpers: poll until a condition holds, unique names for topics and groups, and
calls that retry while a test's faults keep the server away."""

from __future__ import annotations

import asyncio
import inspect
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

T = TypeVar("T")

_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9._-]")


def _failure(
    timeout: float, last_error: BaseException | None, last_result: object
) -> AssertionError:
    if last_error is not None:
        return AssertionError(f"still failing after {timeout:.1f} s: {last_error!r}")
    return AssertionError(f"still falsy after {timeout:.1f} s: last result {last_result!r}")


def eventually(
    fn: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.05,
    retry_on: tuple[type[BaseException], ...] = (AssertionError,),
) -> T:
    """Calls `fn` until it returns a truthy value without raising; returns that value.

    Use it instead of `sleep` whenever a test waits for something asynchronous.

    Args:
        fn: The check; it may assert, or return a falsy value to mean "not yet".
        timeout: Seconds before giving up.
        interval: Seconds between attempts.
        retry_on: Exceptions that mean "not yet"; any other propagates at once.

    Raises:
        AssertionError: Still failing at the deadline; chained to the last error.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    result: object = None
    while True:
        try:
            result = fn()
            last_error = None
            if result:
                return result
        except retry_on as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            raise _failure(timeout, last_error, result) from last_error
        time.sleep(interval)


async def eventually_async(
    fn: Callable[[], Awaitable[T] | T],
    timeout: float = 10.0,
    interval: float = 0.05,
    retry_on: tuple[type[BaseException], ...] = (AssertionError,),
) -> T:
    """Like `eventually`, for async tests: `fn` may be a coroutine function; sleeps don't block."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    result: T | None = None
    while True:
        try:
            value = fn()
            result = await value if inspect.isawaitable(value) else value
            last_error = None
            if result:
                return result
        except retry_on as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            raise _failure(timeout, last_error, result) from last_error
        await asyncio.sleep(interval)


def unique_name(prefix: str = "test") -> str:
    """Returns `<prefix>-<12 hex digits>`, valid as a Kafka topic, group or Elasticsearch index.

    Characters Kafka does not allow become '-'. Elasticsearch index names must be lowercase,
    so pass a lowercase prefix for those.
    """
    return f"{_NAME_UNSAFE.sub('-', prefix)}-{uuid.uuid4().hex[:12]}"


async def retry_rpc(what: Callable[[], Awaitable[T]], timeout: float = 240.0) -> T:
    """Calls `what` until the frontend answers it (it may be down, or Kafka frozen)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await what()
        except RPCError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)


async def start_despite_faults(
    client: Client, workflow: str, arg: object, *, id: str, task_queue: str
) -> WorkflowHandle:
    """Starts workflow type `workflow` as `id`, retrying while the server is away.

    An attempt whose answer was lost may have started the workflow: the retry then finds it
    already started and returns its handle.
    """

    async def start() -> WorkflowHandle:
        try:
            return await client.start_workflow(workflow, arg, id=id, task_queue=task_queue)
        except WorkflowAlreadyStartedError:
            return client.get_workflow_handle(id)

    return await retry_rpc(start)


def restored_partitions(log: Path, log_from: int = 0) -> set[int]:
    """The partitions a streams processor's log, from byte `log_from` on, says it restored."""
    if not log.exists():
        return set()
    with log.open("rb") as file:
        file.seek(log_from)
        text = file.read().decode(errors="replace")
    return {int(n) for n in re.findall(r"partition (\d+) restored", text)}
