"""Temporal's search attribute rules for writes: which names a workflow may set, with what values.

Pure and I/O-free; the frontend checks a start request with it and the history an
UpsertWorkflowSearchAttributes command, so both answer with Temporal's messages (those of the
dev server, Temporal Server 1.32, whose namespaces map custom attributes like Strom's do):

- a custom name the namespace lacks: ``Namespace <ns> has no mapping defined for search
  attribute <name>``;
- a system attribute (``WorkflowId``, ...) or a predefined one outside Temporal's allow list:
  ``<name> attribute can't be set in SearchAttributes``;
- a value that does not decode as the attribute's type (a list of more than one value for any
  type but KeywordList included): ``invalid value for search attribute <name> of type <Type>:
  <value as Go prints it>``;
- more than 100 attributes, a value over 2 KiB, all of them over 40 KiB (Temporal's defaults).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from google.protobuf import text_format
from temporalio.api.common.v1 import Payload, SearchAttributes

from schemas.visibility import attributes as sa
from schemas.visibility.attributes import ValueType
from schemas.visibility.timefmt import parse_rfc3339

NUMBER_OF_KEYS_LIMIT = 100
SIZE_OF_VALUE_LIMIT = 2 * 1024
TOTAL_SIZE_LIMIT = 40 * 1024

METADATA_ENCODING = "encoding"
METADATA_TYPE = "type"
_JSON = b"json/plain"
_NULL = b"binary/null"
_INT64 = (-(2**63), 2**63 - 1)


class SearchAttributeError(ValueError):
    """Search attributes Temporal refuses; the message is Temporal's (INVALID_ARGUMENT)."""


class _Undecodable(Exception):
    """The payload is no value of the type."""


def validate(attributes: SearchAttributes, namespace: str, custom: Mapping[str, ValueType]) -> None:
    """Checks names and values (Temporal's ``UnaliasFields`` then ``Validator.Validate``).

    Args:
        attributes: The attributes a start request or an upsert command carries.
        namespace: The namespace name (it appears in the unknown-attribute message).
        custom: The namespace's custom attributes and their types.

    Raises:
        SearchAttributeError: The first violation found, with Temporal's message.
    """
    fields = attributes.indexed_fields
    for name in fields:
        if name not in sa.SYSTEM and name not in sa.PREDEFINED and name not in custom:
            raise SearchAttributeError(
                f"Namespace {namespace} has no mapping defined for search attribute {name}"
            )
    if len(fields) > NUMBER_OF_KEYS_LIMIT:
        raise SearchAttributeError(
            f"number of search attributes {len(fields)} exceeds limit {NUMBER_OF_KEYS_LIMIT}"
        )
    for name, payload in fields.items():
        if name in sa.SYSTEM or (name in sa.PREDEFINED and name not in sa.PREDEFINED_WHITELIST):
            raise SearchAttributeError(f"{name} attribute can't be set in SearchAttributes")
        value_type = custom[name] if name in custom else sa.PREDEFINED[name]
        try:
            decode_value(payload, value_type)
        except _Undecodable:
            raise SearchAttributeError(
                f"invalid value for search attribute {name} of type {value_type.value}: "
                f"{_go_print(payload)}"
            ) from None


def validate_size(attributes: SearchAttributes) -> None:
    """Checks the size limits (Temporal's ``Validator.ValidateSize``).

    Raises:
        SearchAttributeError: A value or the whole map is too large.
    """
    for name, payload in attributes.indexed_fields.items():
        if len(payload.data) > SIZE_OF_VALUE_LIMIT:
            raise SearchAttributeError(
                f"search attribute {name} value size {len(payload.data)} exceeds size limit "
                f"{SIZE_OF_VALUE_LIMIT}"
            )
    total = attributes.ByteSize()
    if total > TOTAL_SIZE_LIMIT:
        raise SearchAttributeError(
            f"total size of search attributes {total} exceeds size limit {TOTAL_SIZE_LIMIT}"
        )


def type_of(name: str, custom: Mapping[str, ValueType]) -> ValueType | None:
    """The type of a settable attribute: custom ones first, then predefined; None if neither."""
    if name in custom:
        return custom[name]
    return sa.PREDEFINED.get(name)


def annotate(
    attributes: SearchAttributes, custom: Mapping[str, ValueType], *, drop_nil: bool
) -> SearchAttributes:
    """A copy with every known attribute's ``type`` metadata set (Temporal's ``ApplyTypeMap``).

    Temporal writes the type an SDK left out into the attributes it returns; Strom writes it
    when the attributes enter history. A type the SDK did set is replaced by the registered
    one, so the indexer, which files a value under its type, always agrees with queries.

    Args:
        attributes: Validated attributes.
        custom: The namespace's custom attributes.
        drop_nil: Leave out values that mean "unset" (``null``, ``[]``, no data), as Temporal
            does for a start; an upsert keeps them, they remove the attribute.
    """
    out = SearchAttributes()
    for name, payload in attributes.indexed_fields.items():
        if drop_nil and is_nil(payload):
            continue
        copied = out.indexed_fields[name]
        copied.CopyFrom(payload)
        value_type = type_of(name, custom)
        if value_type is not None:
            copied.metadata[METADATA_TYPE] = value_type.value.encode()
    return out


def is_nil(payload: Payload) -> bool:
    """Whether a payload unsets its key (Temporal's ``isNilPayload``): no data, null or []."""
    return payload.data in (b"", b"null", b"[]")


def merge(current: SearchAttributes, upserted: SearchAttributes) -> SearchAttributes:
    """``current`` with ``upserted`` applied: nil values remove keys (``MergeMapOfPayload``)."""
    out = SearchAttributes()
    out.CopyFrom(current)
    for name, payload in upserted.indexed_fields.items():
        if is_nil(payload):
            if name in out.indexed_fields:
                del out.indexed_fields[name]
        else:
            out.indexed_fields[name].CopyFrom(payload)
    return out


def decode_value(payload: Payload, value_type: ValueType) -> Any:
    """The value of a payload as ``value_type`` (Go's ``sadefs.DecodeValue``, no lists allowed
    for single-value types); None for a value that unsets the attribute.

    Raises:
        _Undecodable: The payload holds no such value.
    """
    encoding = payload.metadata.get(METADATA_ENCODING, b"")
    if encoding == _NULL:
        return None
    if encoding != _JSON:
        raise _Undecodable
    try:
        value = json.loads(payload.data)
    except ValueError:
        raise _Undecodable from None
    if value is None:
        return None
    if value_type is ValueType.KEYWORD_LIST:
        if not isinstance(value, list) or not all(_fits(v, ValueType.KEYWORD) for v in value):
            raise _Undecodable
        return value
    if _fits(value, value_type):
        return value
    if not isinstance(value, list) or not all(_fits(v, value_type) for v in value):
        raise _Undecodable
    if len(value) > 1:
        raise _Undecodable
    return value[0] if value else None


def _fits(value: Any, value_type: ValueType) -> bool:
    """Whether Go's json.Unmarshal would fill the type's Go variable from this JSON value."""
    if value_type is ValueType.BOOL:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if value_type is ValueType.INT:
        return isinstance(value, int) and _INT64[0] <= value <= _INT64[1]
    if value_type is ValueType.DOUBLE:
        return isinstance(value, int | float) and math.isfinite(value)
    if not isinstance(value, str):
        return False
    if value_type is ValueType.DATETIME:
        try:
            parse_rfc3339(value)
        except ValueError:
            return False
    return True


def _go_print(payload: Payload) -> str:
    """The value as Temporal's message prints it: decoded as Go's ``any``, then ``%v``."""
    encoding = payload.metadata.get(METADATA_ENCODING, b"")
    try:
        if encoding == _NULL:
            return "<nil>"
        if encoding != _JSON:
            raise ValueError(encoding)
        return _go_format(json.loads(payload.data))
    except (ValueError, OverflowError):
        # Go's decoder fails too (e.g. a number beyond float64): Temporal prints the payload.
        return f"value from <{text_format.MessageToString(payload, as_one_line=True)}>"


def _go_format(value: Any) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _go_float(float(value))
    if isinstance(value, list):
        return "[" + " ".join(_go_format(v) for v in value) + "]"
    if isinstance(value, dict):
        items = " ".join(f"{k}:{_go_format(value[k])}" for k in sorted(value))
        return f"map[{items}]"
    return str(value)


def _go_float(value: float) -> str:
    """Go's ``%v`` of a float64: shortest digits, exponent from 1e21 and below 1e-4."""
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}e{sign}{abs(int(exponent)):02d}"
    return text
