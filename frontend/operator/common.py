"""What the OperatorService's search attribute RPCs share: the namespace, its attributes, saving."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from temporalio.api.enums.v1 import IndexedValueType

from frontend.context import Env, require_namespace
from frontend.errors import invalid_argument, unavailable
from schemas.namespaces import Namespace
from schemas.visibility import attributes as sa

ERR_NAMESPACE_NOT_SET = "Namespace is not set on request."
ERR_SEARCH_ATTRIBUTES_NOT_SET = "SearchAttributes are not set on request."


def named_namespace(env: Env, name: str) -> Namespace | None:
    """The namespace a request names, None when it names none.

    Temporal checks a named namespace before the handler runs (NOT_FOUND for an unknown one)
    and a missing name only after the handler's own checks of the request.
    """
    return require_namespace(env, name) if name else None


def required(namespace: Namespace | None) -> Namespace:
    """The named namespace; INVALID_ARGUMENT when the request names none."""
    if namespace is None:
        raise invalid_argument(ERR_NAMESPACE_NOT_SET)
    return namespace


def system_attributes() -> dict[str, IndexedValueType.ValueType]:
    """Temporal's system and predefined attributes, which every namespace has."""
    return {name: t.proto for name, t in {**sa.SYSTEM, **sa.PREDEFINED}.items()}


async def save(env: Env, namespace: Namespace, attributes: dict[str, str]) -> None:
    """Writes the namespace with new custom attributes to the namespaces topic.

    The record is the whole namespace, so it replaces the one every process folds; the call
    returns once this frontend has read it back (later requests here see the attributes).

    Raises:
        ServiceError: UNAVAILABLE when Kafka does not take or confirm the write.
    """
    updated = replace(namespace, search_attributes=attributes)
    try:
        await asyncio.to_thread(env.namespaces.register, updated)
    except (TimeoutError, RuntimeError) as err:
        raise unavailable(f"Unable to save search attributes: {err}.") from None
