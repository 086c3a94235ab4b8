"""Temporal's payload shorthand: a JSON payload shown as its JSON value, in both directions.

Temporal's HTTP API renders a ``Payload`` whose encoding is ``json/plain`` (and no other
metadata) as the JSON value it holds, ``json/protobuf`` as that object plus a
``_protoMessageType`` key, and ``binary/null`` (or a JSON null) as ``{"metadata":
{"encoding": "YmluYXJ5L251bGw="}}``; any other payload keeps the long form. ``Payloads``
become a JSON array when every payload has a shorthand. On input, any JSON value that is not a
long-form payload becomes a ``json/plain`` payload, and an array stands for ``Payloads``.

The value round trip follows Temporal's Go code exactly, quirks included: numbers are read as
float64 when rendered, an empty array is written as null, object keys are sorted.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

from temporalio.api.common.v1 import Payload

from frontend.http import gojson

MESSAGE_TYPE_KEY = "_protoMessageType"
_BINARY_NULL = base64.b64encode(b"binary/null").decode()
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class ShorthandError(ValueError):
    """A shorthand payload Temporal would refuse."""


def b64(data: bytes) -> str:
    """Base64 as Go's protobuf JSON writes bytes (standard alphabet, padded)."""
    return base64.b64encode(data).decode()


def go_b64decode(text: str) -> bytes | None:
    """Bytes from base64 the way Temporal reads them (URL or standard, padding optional)."""
    alphabet = b"-_" if ("-" in text or "_" in text) else None
    if len(text) % 4:
        if "=" in text:
            return None
        text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, altchars=alphabet, validate=True)
    except ValueError:
        return None


# Rendering (proto -> JSON) ----------------------------------------------------------------


def binary_null() -> dict[str, Any]:
    """The rendering of a null value (the long form of a ``binary/null`` payload)."""
    return {"metadata": {"encoding": _BINARY_NULL}}


def shorthand(payload: Payload) -> tuple[bool, Any]:
    """``(True, value)`` when ``payload`` has a shorthand rendering, else ``(False, None)``."""
    metadata = payload.metadata
    encoding = metadata.get("encoding", b"")
    if encoding == b"binary/null":
        return True, binary_null()
    if encoding == b"json/plain" and len(metadata) == 1:
        decoded = _read_go(payload.data)
        if decoded is _INVALID:
            # Temporal fails the whole response here; the long form is more useful.
            return False, None
        return True, _render(decoded, top=True)
    if encoding == b"json/protobuf" and len(metadata) == 2 and metadata.get("messageType"):
        decoded = _read_go(payload.data)
        if not isinstance(decoded, dict):
            return False, None
        decoded[MESSAGE_TYPE_KEY] = metadata["messageType"].decode("utf-8", "replace")
        return True, _render(decoded, top=True)
    return False, None


_INVALID = object()


def _read_go(data: bytes) -> Any:
    """Go's ``json.Unmarshal`` into ``any``: every number a float64; invalid JSON -> _INVALID."""
    try:
        return json.loads(
            data.decode("utf-8", "replace"), parse_int=float, parse_constant=_no_constant
        )
    except ValueError:
        return _INVALID


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _render(value: Any, top: bool = False) -> Any:
    if value is None:
        return binary_null() if top else None
    if isinstance(value, dict):
        return {key: _render(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_render(item) for item in value] if value else None
    return value


# Reading (JSON -> proto) ------------------------------------------------------------------


def payload_from_json(value: Any) -> dict[str, Any]:
    """The canonical-JSON ``Payload`` (for ``json_format``) a shorthand value stands for.

    ``value`` comes from ``json.loads(..., parse_float=Decimal)``.

    Raises:
        ShorthandError: ``_protoMessageType`` is not a string.
    """
    if value is None:
        return binary_null()
    if isinstance(value, dict):
        standard = _long_form(value)
        if standard is not None:
            return standard
        if MESSAGE_TYPE_KEY in value:
            message_type = value[MESSAGE_TYPE_KEY]
            if not isinstance(message_type, str):
                raise ShorthandError(
                    f'internal key "{MESSAGE_TYPE_KEY}" must be a string, '
                    f"not {type(message_type).__name__}"
                )
            rest = {key: item for key, item in value.items() if key != MESSAGE_TYPE_KEY}
            return {
                "metadata": {
                    "encoding": b64(b"json/protobuf"),
                    "messageType": b64(message_type.encode()),
                },
                "data": b64(_write_go(rest)),
            }
    return {"metadata": {"encoding": b64(b"json/plain")}, "data": b64(_write_go(value))}


def _long_form(value: dict[str, Any]) -> dict[str, Any] | None:
    """The payload when ``value`` is a long-form one (Temporal's rules), else None."""
    metadata = value.get("metadata")
    if not isinstance(metadata, dict) or "encoding" not in metadata:
        return None
    if "data" not in value and metadata["encoding"] == _BINARY_NULL:
        return binary_null()
    if "data" not in value or len(value) != 2 or not isinstance(value["data"], str):
        return None
    data = go_b64decode(value["data"])
    if data is None:
        return None
    decoded: dict[str, str] = {}
    for key, item in metadata.items():
        raw = go_b64decode(item) if isinstance(item, str) else None
        if raw is None:
            return None
        decoded[key] = b64(raw)
    return {"metadata": decoded, "data": b64(data)}


def _write_go(value: Any) -> bytes:
    """The bytes Go's ``encoding/json`` writes for a value Temporal decoded from shorthand."""
    return gojson.dumps(_as_go(value), html_escape=True).encode()


def _as_go(value: Any) -> Any:
    # Temporal reads a number as int64 when it is integral and fits, else as float64.
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if _INT64_MIN <= value <= _INT64_MAX else _float64(value)
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and _INT64_MIN <= value <= _INT64_MAX:
            return int(value)
        return _float64(value)
    if isinstance(value, dict):
        return {key: _as_go(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_as_go(item) for item in value] if value else None
    raise ShorthandError(f"unexpected JSON value {value!r}")


def _float64(value: int | Decimal) -> float:
    number = float(value)
    if number in (float("inf"), float("-inf")):
        raise ShorthandError(f"unable to parse number {value}")
    return number
