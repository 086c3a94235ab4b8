"""Path captures and query parameters into request fields, as grpc-gateway binds them.

A key is a dotted field path, each part a proto or JSON name; repeated fields take every
value, ``map[key]=value`` fills a map entry, unknown keys are ignored, and a query key under a
path capture is skipped (the path wins). Values parse like Go's ``strconv``; the errors read
like grpc-gateway's, since clients see them.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from frontend.http import scalars


class BindingError(ValueError):
    """A parameter that does not fit its field; the client gets INVALID_ARGUMENT."""


_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_MAP_KEY = re.compile(r"^(.*)\[(.*)\]$")
_MESSAGE_PARSERS = {
    "google.protobuf.Timestamp": scalars.timestamp,
    "google.protobuf.Duration": scalars.duration,
}
_WRAPPERS = {
    f"google.protobuf.{name}Value"
    for name in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
}


def parse_query(raw: str) -> dict[str, list[str]]:
    """Go's ``url.ParseQuery``: '&'-separated, '+' is a space, strict percent escapes.

    Raises:
        BindingError: A bad escape or a ';' separator (Go rejects both).
    """
    values: dict[str, list[str]] = {}
    for part in raw.split("&"):
        if not part:
            continue
        if ";" in part:
            raise BindingError("invalid semicolon separator in query")
        key, _, value = part.partition("=")
        values.setdefault(unescape(key, plus=True), []).append(unescape(value, plus=True))
    return values


def unescape(text: str, plus: bool = False) -> str:
    """Percent-decodes ``text`` (and '+' to space when ``plus``) as Go does.

    Raises:
        BindingError: A '%' not followed by two hex digits.
    """
    bad = _ESCAPE.search(text)
    if bad is not None:
        raise BindingError(f'invalid URL escape "{text[bad.start() : bad.start() + 3]}"')
    if plus:
        text = text.replace("+", " ")
    data = bytearray()
    position = 0
    for match in re.finditer(r"%([0-9A-Fa-f]{2})", text):
        data += text[position : match.start()].encode()
        data.append(int(match.group(1), 16))
        position = match.end()
    data += text[position:].encode()
    return data.decode("utf-8", "replace")


def bind_query(
    message: Message, query: Mapping[str, list[str]], captured: Iterable[str] = ()
) -> None:
    """Sets the fields the query parameters name.

    Args:
        message: The request.
        query: Parameters by key, values in order.
        captured: Field paths the URL path binds; query keys under them are skipped.

    Raises:
        BindingError: A value does not fit its field.
    """
    skip = [tuple(path.split(".")) for path in captured]
    for key, values in query.items():
        match = _MAP_KEY.match(key)
        if match is not None:
            key, values = match.group(1), [match.group(2), *values]
        path = _proto_names(message, key.split("."))
        if any(tuple(path[: len(prefix)]) == prefix for prefix in skip):
            continue
        set_path(message, path, values)


def bind_path(message: Message, captures: Mapping[str, str]) -> None:
    """Sets the fields the URL path captured.

    Raises:
        BindingError: A capture does not fit its field.
    """
    for field_path, value in captures.items():
        try:
            set_path(message, field_path.split("."), [value])
        except BindingError as exc:
            raise BindingError(f"type mismatch, parameter: {field_path}, error: {exc}") from None


def _proto_names(message: Message, path: list[str]) -> list[str]:
    """The path in proto names (grpc-gateway's normalizeFieldPath); as given if unknown."""
    names: list[str] = []
    descriptor = message.DESCRIPTOR
    for position, part in enumerate(path):
        field = _field(descriptor, part)
        if field is None:
            return path
        names.append(field.name)
        if position < len(path) - 1:
            if field.message_type is None or field.is_repeated:
                return path
            descriptor = field.message_type
    return names


def _field(descriptor: Any, name: str) -> Any:
    found = descriptor.fields_by_name.get(name)
    if found is not None:
        return found
    return next((field for field in descriptor.fields if field.json_name == name), None)


def set_path(message: Message, path: list[str], values: list[str]) -> None:
    """Sets the field at ``path`` from string ``values`` (grpc-gateway's rules).

    Raises:
        BindingError: The path crosses a non-message field, or a value does not fit.
    """
    target = message
    field: FieldDescriptor | None = None
    for position, part in enumerate(path):
        field = _field(target.DESCRIPTOR, part)
        if field is None:
            return  # an extra query parameter, not a field: ignored as grpc-gateway does
        if position == len(path) - 1:
            break
        if field.message_type is None or field.is_repeated:
            raise BindingError(f'invalid path: "{part}" is not a message')
        target = getattr(target, field.name)
    assert field is not None
    oneof = field.containing_oneof
    if oneof is not None and not _synthetic(field):
        chosen = target.WhichOneof(oneof.name)
        if chosen is not None and (chosen != field.name or field.message_type is None):
            raise BindingError(f'field already set for oneof "{oneof.name}"')
    try:
        _set(target, field, values)
    except (ValueError, scalars.ScalarError) as exc:
        raise BindingError(f'parsing field "{field.name}": {exc}') from None


def _synthetic(field: FieldDescriptor) -> bool:
    # proto3 `optional` fields sit in a synthetic oneof of their own.
    oneof = field.containing_oneof
    return oneof is not None and len(oneof.fields) == 1 and oneof.name == f"_{field.name}"


def _set(target: Message, field: FieldDescriptor, values: list[str]) -> None:
    message_type = field.message_type
    if field.is_repeated and message_type is not None and message_type.GetOptions().map_entry:
        if len(values) != 2:
            raise ValueError(f'more than one value provided for key "{values[0]}" in map')
        key = _scalar(message_type.fields_by_name["key"], values[0])
        value_field = message_type.fields_by_name["value"]
        container = getattr(target, field.name)
        if value_field.message_type is not None:
            _message_value(container[key], values[1])
        else:
            container[key] = _scalar(value_field, values[1])
        return
    if field.is_repeated:
        container = getattr(target, field.name)
        for value in values:
            if message_type is not None:
                _message_value(container.add(), value)
            else:
                container.append(_scalar(field, value))
        return
    if len(values) > 1:
        raise ValueError(f'too many values for field "{field.name}": {", ".join(values)}')
    if message_type is not None:
        _message_value(getattr(target, field.name), values[0])
    else:
        setattr(target, field.name, _scalar(field, values[0]))


def _message_value(message: Message, value: str) -> None:
    name = message.DESCRIPTOR.full_name
    if name in _MESSAGE_PARSERS:
        if value != "null":
            message.CopyFrom(_MESSAGE_PARSERS[name](value))
    elif name in _WRAPPERS:
        message.value = _scalar(  # type: ignore[attr-defined]
            message.DESCRIPTOR.fields_by_name["value"], value
        )
    elif name == "google.protobuf.FieldMask":
        message.paths.extend(value.split(","))  # type: ignore[attr-defined]
    else:
        raise ValueError(f'unsupported message type: "{name}"')


def _scalar(field: Any, value: str) -> Any:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return value
    if kind == FieldDescriptor.TYPE_BOOL:
        return scalars.parse_bool(value)
    if kind == FieldDescriptor.TYPE_BYTES:
        return _bytes(value)
    if kind == FieldDescriptor.TYPE_ENUM:
        return _enum(field, value)
    if kind in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        return scalars.parse_float(value, 32 if kind == FieldDescriptor.TYPE_FLOAT else 64)
    narrow = (FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_UINT32)
    bits = 32 if field.cpp_type in narrow else 64
    unsigned = field.cpp_type in (FieldDescriptor.CPPTYPE_UINT32, FieldDescriptor.CPPTYPE_UINT64)
    return scalars.parse_int(value, bits, unsigned)


def _enum(field: Any, value: str) -> int:
    known = field.enum_type.values_by_name.get(value)
    if known is not None:
        return int(known.number)
    try:
        number = scalars.parse_int(value, 32, unsigned=False)
    except scalars.ScalarError:
        raise ValueError(f'"{value}" is not a valid value') from None
    if number not in field.enum_type.values_by_number:
        raise ValueError(f'"{value}" is not a valid value')
    return number


def _bytes(value: str) -> bytes:
    for altchars in (None, b"-_"):
        try:
            return base64.b64decode(value, altchars=altchars, validate=True)
        except ValueError:
            continue
    raise ValueError(f"illegal base64 data in {value!r}")
