"""AddSearchAttributes: custom search attributes for a namespace (``temporal operator
search-attribute create``)."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    AddSearchAttributesResponse,
)

from frontend.context import Call, Env
from frontend.errors import invalid_argument
from frontend.operator.common import (
    ERR_SEARCH_ATTRIBUTES_NOT_SET,
    named_namespace,
    required,
    save,
)
from schemas.visibility import attributes as sa
from schemas.visibility.attributes import ValueType


async def handle(
    env: Env, request: AddSearchAttributesRequest, call: Call
) -> AddSearchAttributesResponse:
    """Adds the attributes the namespace lacks; existing names keep their type silently.

    As Temporal: reserved names (system, predefined, ``Temporal...``, ``Memo``, ...) and unknown
    types are INVALID_ARGUMENT. Unlike a Temporal server on SQL, whose preallocated columns
    allow 10 Keyword and 3 of each other type per namespace, Strom's Elasticsearch index takes
    any number, as a Temporal server on Elasticsearch does.
    """
    named = named_namespace(env, request.namespace)
    if not request.search_attributes:
        raise invalid_argument(ERR_SEARCH_ATTRIBUTES_NOT_SET)
    wanted: dict[str, ValueType] = {}
    for name, type_number in request.search_attributes.items():
        if sa.is_reserved(name):
            raise invalid_argument(f"Search attribute {name} is reserved by system.")
        if type_number not in IndexedValueType.values():
            raise invalid_argument(f"Unknown search attribute type: {type_number}.")
        if type_number == IndexedValueType.INDEXED_VALUE_TYPE_UNSPECIFIED:
            # Temporal's answer: no column (or mapping) exists for an unspecified type.
            raise invalid_argument(
                "Unable to create search attributes: cannot have more than 0 search "
                "attribute of type Unspecified."
            )
        wanted[name] = ValueType.from_proto(type_number)
    namespace = required(named)
    current = dict(namespace.search_attributes)
    added = {name: t.value for name, t in wanted.items() if name not in current}
    if added:
        await save(env, namespace, {**current, **added})
    return AddSearchAttributesResponse()
