"""Search attribute checks of the frontend: start requests, with Temporal's INVALID_ARGUMENTs."""

from __future__ import annotations

from temporalio.api.common.v1 import SearchAttributes

from frontend.errors import invalid_argument
from schemas.namespaces import Namespace
from schemas.visibility import validator


def validate_for_start(attributes: SearchAttributes, namespace: Namespace) -> None:
    """Checks a start request's search attributes against the namespace's, as Temporal's
    frontend does (names, types and values, then sizes), and writes their types in.

    The types go in here, where the attributes were just checked against this frontend's view
    of the namespace: the history's view may lag a moment behind an attribute just added.

    Raises:
        ServiceError: INVALID_ARGUMENT with Temporal's message.
    """
    if not attributes.indexed_fields:
        return
    custom = namespace.custom_search_attributes()
    try:
        validator.validate(attributes, namespace.name, custom)
        validator.validate_size(attributes)
    except validator.SearchAttributeError as err:
        raise invalid_argument(str(err)) from None
    attributes.CopyFrom(validator.annotate(attributes, custom, drop_nil=False))
