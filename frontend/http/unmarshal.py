"""JSON request bodies to protobuf messages, reading what Temporal's HTTP API reads.

Canonical protobuf JSON (``json_format.ParseDict`` does the parsing) plus what Temporal's Go
parser also accepts: payload shorthand (``frontend.http.payloads``), an array for ``Payloads``,
and enum values in the older short form (``"Normal"`` for ``TASK_QUEUE_KIND_NORMAL``). The
JSON is walked once along the descriptors to turn those into canonical form first.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from frontend.http import payloads
from frontend.http.marshal import PAYLOAD, PAYLOADS, MarshalError, unpack_any

MessageT = TypeVar("MessageT", bound=Message)

_WORD_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


class BodyError(ValueError):
    """A request body that does not parse; the client gets INVALID_ARGUMENT with its text."""


def unmarshal(body: bytes, message_type: type[MessageT], shorthand: bool = True) -> MessageT:
    """Parses a JSON request body into a new ``message_type``; an empty body is an empty message.

    Raises:
        BodyError: The body is not JSON, not an object, or does not fit the message.
    """
    message = message_type()
    merge(body, message, shorthand)
    return message


def merge(body: bytes, message: Message, shorthand: bool = True) -> None:
    """Parses a JSON body into ``message`` (fields it sets replace what was there).

    Raises:
        BodyError: The body is not JSON, not an object, or does not fit the message.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"request body is not UTF-8: {exc}") from None
    if not text.strip():
        return  # grpc-gateway treats an empty body (EOF) as an empty request
    try:
        tree = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except ValueError as exc:
        raise BodyError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise BodyError("invalid JSON: nested too deeply") from None
    if not isinstance(tree, dict):
        raise BodyError(
            f"a {message.DESCRIPTOR.full_name} must be a JSON object, not {_kind(tree)}"
        )
    try:
        prepared = _message(tree, message.DESCRIPTOR, shorthand)
        json_format.ParseDict(prepared, message)
    except (json_format.ParseError, payloads.ShorthandError, MarshalError) as exc:
        raise BodyError(str(exc).splitlines()[0]) from None
    except RecursionError:
        raise BodyError(f"{message.DESCRIPTOR.full_name}: nested too deeply") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _message(tree: dict[str, Any], descriptor: Any, shorthand: bool) -> dict[str, Any]:
    by_json = {field.json_name: field for field in descriptor.fields}
    prepared: dict[str, Any] = {}
    for key, value in tree.items():
        field = by_json.get(key) or descriptor.fields_by_name.get(key)
        if field is None or value is None:
            prepared[key] = _plain(value)  # json_format reports unknown names, skips nulls
        else:
            prepared[key] = _field(field, value, shorthand)
    return prepared


def _field(field: FieldDescriptor, value: Any, shorthand: bool) -> Any:
    message_type = field.message_type
    if field.is_repeated and message_type is not None and message_type.GetOptions().map_entry:
        if not isinstance(value, dict):
            return _plain(value)
        value_field = message_type.fields_by_name["value"]
        return {key: _single(value_field, item, shorthand) for key, item in value.items()}
    if field.is_repeated:
        if not isinstance(value, list):
            return _plain(value)
        return [_single(field, item, shorthand) for item in value]
    return _single(field, value, shorthand)


def _single(field: FieldDescriptor, value: Any, shorthand: bool) -> Any:
    if field.type == FieldDescriptor.TYPE_ENUM and isinstance(value, str):
        return _enum_name(field, value)
    if field.message_type is None:
        return _plain(value)
    name = field.message_type.full_name
    if shorthand and name == PAYLOAD:
        return payloads.payload_from_json(value)
    if shorthand and name == PAYLOADS and (isinstance(value, list) or value is None):
        return {"payloads": [payloads.payload_from_json(item) for item in value or ()]}
    if name == "google.protobuf.Any" and isinstance(value, dict):
        return _any(value, shorthand)
    if name.startswith("google.protobuf.") or not isinstance(value, dict):
        return _plain(value)
    return _message(value, field.message_type, shorthand)


def _enum_name(field: FieldDescriptor, value: str) -> str:
    enum_type: Any = field.enum_type
    values = enum_type.values_by_name
    if value in values:
        return value
    # Temporal's older short form: "Normal" in TaskQueueKind -> "TASK_QUEUE_KIND_NORMAL".
    long_name = _WORD_BREAK.sub("_", f"{enum_type.name}_{value}").upper()
    return long_name if long_name in values else value


def _any(value: dict[str, Any], shorthand: bool) -> dict[str, Any]:
    type_url = value.get("@type")
    if not isinstance(type_url, str):
        return _plain(value)
    inner = unpack_any(type_url, b"").DESCRIPTOR
    if inner.full_name.startswith("google.protobuf."):
        return _plain(value)
    rest = {key: item for key, item in value.items() if key != "@type"}
    return {"@type": type_url, **_message(rest, inner, shorthand)}


def _plain(value: Any) -> Any:
    """The tree with decimals as floats, which ``json_format`` takes."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
