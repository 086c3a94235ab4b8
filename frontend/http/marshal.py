"""Protobuf messages to JSON text as Temporal's HTTP API writes them.

Protobuf's canonical JSON mapping (what ``google.protobuf.json_format`` implements) written the
way Go's encoder writes it: fields in declaration order (``json_format`` sorts by number),
map keys sorted, Go's float text, and Temporal's payload shorthand (``frontend.http.payloads``)
unless the client turned it off.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from frontend.http import gojson, payloads

PAYLOAD = "temporal.api.common.v1.Payload"
PAYLOADS = "temporal.api.common.v1.Payloads"
_INT64_TYPES = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_SFIXED64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_FIXED64,
}


class MarshalError(ValueError):
    """A message with no JSON form (an unknown Any type, a NaN in a Struct)."""


def marshal(message: Message, indent: str = "", shorthand: bool = True) -> bytes:
    """The JSON bytes of ``message``.

    Args:
        message: Any protobuf message.
        indent: "" for one line, else the indent per level ("  " for ``?pretty``).
        shorthand: Render payloads in Temporal's shorthand.

    Raises:
        MarshalError: The message has no JSON form.
    """
    return gojson.dumps(to_tree(message, shorthand), indent=indent).encode()


def to_tree(message: Message, shorthand: bool = True) -> Any:
    """The JSON value of ``message`` as Python objects (dict order is the output order)."""
    name = message.DESCRIPTOR.full_name
    special = _WELL_KNOWN.get(name)
    if special is not None:
        return special(message, shorthand)
    if shorthand and name == PAYLOAD:
        handled, value = payloads.shorthand(message)  # type: ignore[arg-type]
        if handled:
            return value
    if shorthand and name == PAYLOADS:
        rendered = [payloads.shorthand(item) for item in message.payloads]  # type: ignore[attr-defined]
        if all(handled for handled, _ in rendered):
            return [value for _, value in rendered]
    return _fields(message, shorthand)


def _fields(message: Message, shorthand: bool) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for field, value in sorted(message.ListFields(), key=lambda item: item[0].index):
        if field.is_extension:
            continue
        tree[field.json_name] = _field(field, value, shorthand)
    return tree


def _field(field: FieldDescriptor, value: Any, shorthand: bool) -> Any:
    if _is_map(field):
        entry: Any = field.message_type
        key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
        return {
            _map_key(key_field, key): _single(value_field, value[key], shorthand)
            for key in sorted(value)
        }
    if field.is_repeated:
        return [_single(field, item, shorthand) for item in value]
    return _single(field, value, shorthand)


def _is_map(field: FieldDescriptor) -> bool:
    return (
        field.is_repeated
        and field.message_type is not None
        and field.message_type.GetOptions().map_entry
    )


def _map_key(field: FieldDescriptor, key: Any) -> str:
    if field.type == FieldDescriptor.TYPE_BOOL:
        return "true" if key else "false"
    return str(key)


def _single(field: FieldDescriptor, value: Any, shorthand: bool) -> Any:
    kind = field.type
    if kind in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP):
        return to_tree(value, shorthand)
    if kind == FieldDescriptor.TYPE_ENUM:
        enum_type: Any = field.enum_type
        if enum_type.full_name == "google.protobuf.NullValue":
            return None
        known = enum_type.values_by_number.get(value)
        return known.name if known is not None else value
    if kind == FieldDescriptor.TYPE_BYTES:
        return payloads.b64(value)
    if kind in _INT64_TYPES:
        return str(value)
    if kind == FieldDescriptor.TYPE_FLOAT:
        return _float(value, 32)
    if kind == FieldDescriptor.TYPE_DOUBLE:
        return _float(value, 64)
    return value  # bool, string, 32-bit integers


def _float(value: float, bits: int) -> Any:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return gojson.Number(gojson.go_float(value, bits))


# Well-known types ------------------------------------------------------------------------


def _any(message: Any, shorthand: bool) -> Any:
    if not message.type_url:
        return {}
    inner = unpack_any(message.type_url, message.value)
    tree = to_tree(inner, shorthand)
    if inner.DESCRIPTOR.full_name in _WELL_KNOWN:
        return {"@type": message.type_url, "value": tree}
    if not isinstance(tree, dict):
        return tree  # a payload in shorthand replaces the object, as in Temporal's encoder
    return {"@type": message.type_url, **tree}


def unpack_any(type_url: str, value: bytes) -> Message:
    """The message an Any holds, from the default descriptor pool.

    Raises:
        MarshalError: The type is not known to this process.
    """
    name = type_url.rsplit("/", 1)[-1]
    try:
        descriptor: Descriptor = descriptor_pool.Default().FindMessageTypeByName(name)
    except KeyError:
        raise MarshalError(f'unable to resolve "{type_url}": not found') from None
    return message_factory.GetMessageClass(descriptor).FromString(value)


def _value(message: Any, shorthand: bool) -> Any:
    kind = message.WhichOneof("kind")
    if kind is None:
        raise MarshalError("google.protobuf.Value: none of the oneof fields is set")
    if kind == "null_value":
        return None
    if kind == "number_value":
        number = message.number_value
        if not math.isfinite(number):
            raise MarshalError(f"google.protobuf.Value: invalid {number} number value")
        return gojson.Number(gojson.go_float(number))
    if kind == "struct_value":
        return _struct(message.struct_value, shorthand)
    if kind == "list_value":
        return _list(message.list_value, shorthand)
    return getattr(message, kind)


def _struct(message: Any, shorthand: bool) -> dict[str, Any]:
    return {key: _value(message.fields[key], shorthand) for key in sorted(message.fields)}


def _list(message: Any, shorthand: bool) -> list[Any]:
    return [_value(item, shorthand) for item in message.values]


def _wrapper(message: Any, shorthand: bool) -> Any:
    return _single(message.DESCRIPTOR.fields_by_name["value"], message.value, shorthand)


def _as_json_string(message: Any, shorthand: bool) -> Any:
    return message.ToJsonString()


_WELL_KNOWN: dict[str, Callable[[Any, bool], Any]] = {
    "google.protobuf.Any": _any,
    "google.protobuf.Timestamp": _as_json_string,
    "google.protobuf.Duration": _as_json_string,
    "google.protobuf.FieldMask": _as_json_string,
    "google.protobuf.Struct": _struct,
    "google.protobuf.ListValue": _list,
    "google.protobuf.Value": _value,
    **{
        f"google.protobuf.{name}Value": _wrapper
        for name in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String")
    },
    "google.protobuf.BytesValue": _wrapper,
}
