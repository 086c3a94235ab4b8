"""JSON encoding of dataclass trees (inbox messages, state): bytes as base64, enums by value.

One codec for every JSON payload Strom writes: keys sorted, compact separators, decoders
ignore keys they do not know, so fields can be added without breaking older readers.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import enum
import json
import math
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from schemas.exceptions import PayloadDecodeError

try:  # a C encoder, several times faster than `json` on state trees; optional
    import orjson
except ImportError:  # pragma: no cover - orjson is a declared dependency
    orjson = None  # type: ignore[assignment]

T = TypeVar("T")


def to_jsonable(value: Any) -> Any:
    """Converts a dataclass tree into JSON-compatible values."""
    cls = type(value)
    encoder = _ENCODERS.get(cls)
    if encoder is None:
        encoder = _ENCODERS[cls] = _encoder(cls)
    return encoder(value)


def _same(value: Any) -> Any:
    return value


def _encoder(cls: type) -> Callable[[Any], Any]:
    """The converter of values of exactly `cls` (state encoding is hot: decide once per type)."""
    if dataclasses.is_dataclass(cls):
        names = tuple(f.name for f in dataclasses.fields(cls))
        return lambda value: {name: to_jsonable(getattr(value, name)) for name in names}
    if issubclass(cls, enum.Enum):
        return lambda value: value.value
    if issubclass(cls, bytes | bytearray):
        return lambda value: base64.b64encode(value).decode("ascii")
    if issubclass(cls, dict):
        # JSON object keys are strings; int keys are restored by `from_jsonable`.
        return lambda value: {str(k): to_jsonable(v) for k, v in value.items()}
    if issubclass(cls, list | tuple):
        return lambda value: [to_jsonable(v) for v in value]
    return _same


_ENCODERS: dict[type, Callable[[Any], Any]] = {
    str: _same,
    int: _same,
    bool: _same,
    float: _same,
    type(None): _same,
}


def from_jsonable(tp: Any, value: Any) -> Any:
    """Rebuilds a value of type `tp` from `to_jsonable` output."""
    return _decoder(tp)(value)


@cache
def _decoder(tp: Any) -> Callable[[Any], Any]:
    """The converter of JSON values into `tp`, made once per type."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = _decoder(args[0])
        return lambda value: None if value is None else inner(value)
    if origin is list:
        (item_t,) = typing.get_args(tp)
        item = _decoder(item_t)
        return lambda value: [item(v) for v in value]
    if origin is dict:
        key_t, val_t = typing.get_args(tp)
        val = _decoder(val_t)
        return lambda value: {key_t(k): val(v) for k, v in value.items()}
    if tp is bytes:
        return _decode_bytes
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _dataclass_decoder(tp)
    if tp is float:
        return _decode_float
    if tp is int:
        return _decode_int
    if tp in (str, bool):
        return _leaf_decoder(tp)
    return _same


def _dataclass_decoder(tp: type) -> Callable[[Any], Any]:
    hints = typing.get_type_hints(tp)
    # Field decoders are looked up on first use: a dataclass may refer to itself.
    fields = [(f.name, hints[f.name]) for f in dataclasses.fields(tp)]

    def decode(value: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object for {tp.__name__}, got {value!r}")
        kwargs = {name: _decoder(hint)(value[name]) for name, hint in fields if name in value}
        return tp(**kwargs)

    return decode


def _decode_bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"expected a base64 string, got {value!r}")
    return base64.b64decode(value, validate=True)


def _decode_float(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _decode_int(value: Any) -> int:
    # JSON true is a Python bool, which is an int: never accept it for an int field.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected int, got {value!r}")
    return value


def _leaf_decoder(tp: type) -> Callable[[Any], Any]:
    def decode(value: Any) -> Any:
        if not isinstance(value, tp):
            raise TypeError(f"expected {tp.__name__}, got {value!r}")
        return value

    return decode


def clone(value: Any) -> Any:
    """A deep copy of a dataclass tree of the codec's value types, faster than `copy.deepcopy`.

    Immutable leaves (str, numbers, bytes, enums, None) are shared; dataclasses, lists, tuples
    and dicts are copied. Trees hold no cycles and no shared mutable parts (they round-trip
    through JSON), so deepcopy's memo is not needed.
    """
    cls = type(value)
    cloner = _CLONERS.get(cls)
    if cloner is None:
        cloner = _CLONERS[cls] = _cloner(cls)
    return cloner(value)


def _cloner(cls: type) -> Callable[[Any], Any]:
    if dataclasses.is_dataclass(cls):
        names = tuple(f.name for f in dataclasses.fields(cls))
        if _has_dict(cls):
            # One C-level copy of the attributes shares every immutable field; only fields
            # that may hold mutable values are cloned (a state is cloned at every decision).
            hints = _field_hints(cls)
            mutable = tuple(n for n in names if not _is_immutable(hints.get(n)))

            def copy_dict_dataclass(value: Any) -> Any:
                new = object.__new__(cls)
                attrs = new.__dict__  # filled directly: works for frozen dataclasses too
                attrs.update(value.__dict__)
                for name in mutable:
                    attrs[name] = clone(attrs[name])
                return new

            return copy_dict_dataclass
        setter = object.__setattr__  # works for frozen and slotted dataclasses alike

        def copy_dataclass(value: Any) -> Any:
            new = object.__new__(cls)
            for name in names:
                setter(new, name, clone(getattr(value, name)))
            return new

        return copy_dataclass
    if issubclass(cls, enum.Enum | bytes):
        return _same
    if issubclass(cls, dict):
        return lambda value: {k: clone(v) for k, v in value.items()}
    if issubclass(cls, list):
        return lambda value: [clone(v) for v in value]
    if issubclass(cls, tuple):
        return lambda value: tuple(clone(v) for v in value)
    return copy.deepcopy


def _has_dict(cls: type) -> bool:
    """True when instances keep their fields in ``__dict__`` (no ``slots=True``)."""
    return "__slots__" not in cls.__dict__


def _field_hints(cls: type) -> dict[str, Any]:
    """The resolved field types of a dataclass; empty when they cannot be resolved (then
    every field is treated as possibly mutable, as before)."""
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an unresolvable forward reference: be conservative
        return {}


_JSON_SCALARS = (str, int, float, bool, type(None))


def _union_args(tp: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return None


def _is_immutable(tp: Any, seen: frozenset[type] = frozenset()) -> bool:
    """True for a declared type whose values can be shared by a clone.

    Scalars, bytes, enums, and frozen dataclasses (and tuples) made only of such values.
    Anything unknown counts as mutable.
    """
    args = _union_args(tp)
    if args is not None:
        return all(_is_immutable(a, seen) for a in args)
    if tp in _JSON_SCALARS or tp is bytes:
        return True
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return True
    if typing.get_origin(tp) is tuple:
        items = typing.get_args(tp)
        return bool(items) and all(_is_immutable(a, seen) for a in items if a is not Ellipsis)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp) and tp not in seen:
        params = getattr(tp, "__dataclass_params__", None)
        if params is None or not params.frozen:
            return False
        hints = _field_hints(tp)
        return all(_is_immutable(hints.get(f.name), seen | {tp}) for f in dataclasses.fields(tp))
    return False


_CLONERS: dict[type, Callable[[Any], Any]] = {
    str: _same,
    int: _same,
    bool: _same,
    float: _same,
    bytes: _same,
    type(None): _same,
}


def dumps(value: Any) -> bytes:
    """Serializes a dataclass tree to compact UTF-8 JSON."""
    if orjson is not None:
        try:
            return orjson.dumps(value, default=_orjson_default, option=_ORJSON_OPTIONS)
        except (orjson.JSONEncodeError, _NotFinite):
            pass  # a value orjson cannot write as `json` does (a big int, a NaN): the slow way
    return _dumps_json(value)


def _dumps_json(value: Any) -> bytes:
    return json.dumps(to_jsonable(value), separators=(",", ":"), sort_keys=True).encode()


# orjson sorts dict keys but writes a dataclass's fields in declaration order: dataclasses
# go through `_orjson_default` as dicts, so the output is the same as `_dumps_json`'s (but
# for non-ASCII characters, written as UTF-8 rather than \u escapes; both read back alike).
_ORJSON_OPTIONS = (
    (orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS)
    if orjson is not None
    else 0
)


class _NotFinite(Exception):
    """A float orjson would write as null, where `json` writes NaN or Infinity."""


def _orjson_default(value: Any) -> Any:
    """What orjson cannot write itself: a dataclass as the dict of its fields, bytes as base64.

    orjson calls this again for whatever the result holds that it cannot write.
    """
    cls = type(value)
    names = _FIELD_NAMES.get(cls)
    if names is None:
        if isinstance(value, bytes | bytearray):
            return base64.b64encode(value).decode("ascii")
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__} is not JSON serializable")
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    fields = {name: getattr(value, name) for name in names}
    for item in fields.values():
        if type(item) is float and not math.isfinite(item):
            raise _NotFinite
    return fields


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def loads(tp: type[T], data: bytes) -> T:
    """Parses `dumps` output back into an instance of `tp`.

    Raises:
        PayloadDecodeError: the bytes are not valid JSON of the expected shape.
    """
    try:
        # Not orjson.loads: it reads an int past 64 bits as a float, and NaN not at all.
        return typing.cast(T, from_jsonable(tp, json.loads(data)))
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError) as exc:
        raise PayloadDecodeError(f"cannot decode {getattr(tp, '__name__', tp)}: {exc}") from exc
