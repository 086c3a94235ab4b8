"""JSON encoding of dataclass trees (inbox messages, state): bytes as base64, enums by value.

One codec for every JSON payload Strom writes: keys sorted, compact separators, decoders
ignore keys they do not know, so fields can be added without breaking older readers.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
import types
import typing
from functools import cache
from typing import Any, TypeVar

from schemas.exceptions import PayloadDecodeError

T = TypeVar("T")


def to_jsonable(value: Any) -> Any:
    """Converts a dataclass tree into JSON-compatible values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        # JSON object keys are strings; int keys are restored by `from_jsonable`.
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_jsonable(tp: Any, value: Any) -> Any:
    """Rebuilds a value of type `tp` from `to_jsonable` output."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return from_jsonable(args[0], value)
    if origin is list:
        (item,) = typing.get_args(tp)
        return [from_jsonable(item, v) for v in value]
    if origin is dict:
        key_t, val_t = typing.get_args(tp)
        return {key_t(k): from_jsonable(val_t, v) for k, v in value.items()}
    if tp is bytes:
        if not isinstance(value, str):
            raise TypeError(f"expected a base64 string, got {value!r}")
        return base64.b64decode(value, validate=True)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise TypeError(f"expected an object for {tp.__name__}, got {value!r}")
        hints = _hints(tp)
        kwargs = {
            f.name: from_jsonable(hints[f.name], value[f.name])
            for f in dataclasses.fields(tp)
            if f.name in value
        }
        return tp(**kwargs)
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    expected = _LEAVES.get(tp)
    if expected is not None and (not isinstance(value, expected) or _is_bool_for_int(tp, value)):
        raise TypeError(f"expected {tp.__name__}, got {value!r}")
    return value


_LEAVES: dict[Any, type] = {str: str, int: int, bool: bool}


def _is_bool_for_int(tp: Any, value: Any) -> bool:
    # JSON true is a Python bool, which is an int: never accept it for an int field.
    return tp is int and isinstance(value, bool)


def dumps(value: Any) -> bytes:
    """Serializes a dataclass tree to compact UTF-8 JSON."""
    return json.dumps(to_jsonable(value), separators=(",", ":"), sort_keys=True).encode()


def loads(tp: type[T], data: bytes) -> T:
    """Parses `dumps` output back into an instance of `tp`.

    Raises:
        PayloadDecodeError: the bytes are not valid JSON of the expected shape.
    """
    try:
        return typing.cast(T, from_jsonable(tp, json.loads(data)))
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError) as exc:
        raise PayloadDecodeError(f"cannot decode {getattr(tp, '__name__', tp)}: {exc}") from exc
