"""Writing namespaces to the namespaces topic from the frontend's RPCs."""

from __future__ import annotations

import asyncio

from frontend.context import Env
from frontend.errors import unavailable
from schemas.namespaces import Namespace


async def write(env: Env, namespace: Namespace, action: str) -> Namespace:
    """Writes the whole namespace record (its version bumped) and returns what was written.

    Returns once this frontend has read the record back, so its next requests see it; other
    frontends and history processes see it as soon as their readers get to it.

    Raises:
        ServiceError: UNAVAILABLE when Kafka does not take or confirm the write.
    """
    try:
        written = await asyncio.to_thread(env.namespaces.register, namespace)
    except (TimeoutError, RuntimeError) as err:
        raise unavailable(f"Unable to {action} namespace {namespace.name}: {err}.") from None
    return written if isinstance(written, Namespace) else namespace


async def remove(env: Env, name: str, action: str) -> None:
    """Writes the tombstone of a namespace name and waits to read it back.

    Raises:
        ServiceError: UNAVAILABLE when Kafka does not take or confirm the write.
    """
    try:
        await asyncio.to_thread(env.namespaces.unregister, name)
    except (TimeoutError, RuntimeError) as err:
        raise unavailable(f"Unable to {action} namespace {name}: {err}.") from None
