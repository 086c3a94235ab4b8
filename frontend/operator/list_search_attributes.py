"""ListSearchAttributes: a namespace's custom attributes and Temporal's system ones."""

from __future__ import annotations

from temporalio.api.operatorservice.v1 import (
    ListSearchAttributesRequest,
    ListSearchAttributesResponse,
)

from frontend.context import Call, Env
from frontend.operator.common import named_namespace, required, system_attributes


async def handle(
    env: Env, request: ListSearchAttributesRequest, call: Call
) -> ListSearchAttributesResponse:
    """Lists by name and type; system attributes include the predefined ones, as Temporal's."""
    namespace = required(named_namespace(env, request.namespace))
    custom = {name: t.proto for name, t in namespace.custom_search_attributes().items()}
    return ListSearchAttributesResponse(
        custom_attributes=custom, system_attributes=system_attributes()
    )
