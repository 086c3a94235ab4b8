"""Hypothesis strategies that build any protobuf message from its descriptor, hostile values first.

Every field may be left unset; set ones get edge values of their type (empty, NUL bytes,
very long strings, extreme integers, NaN, enum numbers the schema does not define, deep or
empty sub-messages). Fields named like Temporal's identifiers draw from ``hints`` most of the
time, so generated requests reach past namespace lookup and into the handlers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_UINT32 = (0, 2**32 - 1)
_UINT64 = (0, 2**64 - 1)
_RANGES = {
    FieldDescriptor.TYPE_INT32: _INT32,
    FieldDescriptor.TYPE_SINT32: _INT32,
    FieldDescriptor.TYPE_SFIXED32: _INT32,
    FieldDescriptor.TYPE_INT64: _INT64,
    FieldDescriptor.TYPE_SINT64: _INT64,
    FieldDescriptor.TYPE_SFIXED64: _INT64,
    FieldDescriptor.TYPE_UINT32: _UINT32,
    FieldDescriptor.TYPE_FIXED32: _UINT32,
    FieldDescriptor.TYPE_UINT64: _UINT64,
    FieldDescriptor.TYPE_FIXED64: _UINT64,
}

# Valid UTF-8 only (protobuf refuses lone surrogates); NUL and other controls included.
_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=24)
# Plain values too, or every request would stop at the first check.
_PLAIN = st.from_regex(r"[A-Za-z0-9_.-]{1,16}", fullmatch=True)
_STRINGS = st.one_of(
    _PLAIN,
    _TEXT,
    st.sampled_from(["", "\x00", "a\x00b", " ", "default", "🦀" * 3, "x" * 1001, "%s%n", "*"]),
    st.integers(1, 5000).map(lambda n: "y" * n),
)
_BYTES = st.one_of(st.binary(max_size=48), st.sampled_from([b"", b"\x00", b"\xff" * 64]))


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind in _RANGES:
        low, high = _RANGES[kind]
        edges = st.sampled_from([low, high, 0, 1, -1 if low else 0])
        return st.one_of(st.integers(0, 100), edges, st.integers(low, high))
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        if kind == FieldDescriptor.TYPE_FLOAT:
            return st.floats(width=32, allow_nan=True, allow_infinity=True)
        return st.floats(allow_nan=True, allow_infinity=True)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_STRING:
        return _STRINGS
    if kind == FieldDescriptor.TYPE_BYTES:
        return _BYTES
    if kind == FieldDescriptor.TYPE_ENUM:
        known = [value.number for value in _enum(field).values]
        return st.one_of(st.sampled_from(known), st.integers(-3, 200))
    raise TypeError(f"no strategy for field type {kind} of {field.full_name}")


class MessageStrategies:
    """Builds strategies of messages.

    Args:
        hints: Field name -> likely values (e.g. ``namespace`` -> ``["default"]``); a hinted
            string field takes a hint 3 times in 4.
        max_depth: Sub-messages below this depth stay empty (Temporal's messages nest deeply
            and recursively, e.g. Failure.cause).
        always: Names of fields that are always set (hinted ones are too); others are set
            or not at random. A request lacking what every handler checks first would never
            get further.
    """

    def __init__(
        self,
        hints: Mapping[str, Sequence[Any]] | None = None,
        max_depth: int = 4,
        always: Iterable[str] = (),
    ) -> None:
        self.hints = dict(hints or {})
        self.max_depth = max_depth
        self.always = set(self.hints) | set(always)
        self._cache: dict[tuple[str, int], st.SearchStrategy[Message]] = {}

    def message(self, descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
        """A strategy of ``descriptor``'s message class."""
        key = (descriptor.full_name, depth)
        if key not in self._cache:
            cls = _message_class(descriptor)
            if depth >= self.max_depth:
                self._cache[key] = st.just(cls())
            else:
                values = {field.name: self._field(field, depth) for field in descriptor.fields}
                always = {name: values.pop(name) for name in list(values) if name in self.always}
                chosen = st.fixed_dictionaries(always, optional=values)
                self._cache[key] = chosen.map(lambda kwargs: _build(cls, descriptor, kwargs))
        return self._cache[key]

    def _field(self, field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
        if _is_map(field):
            entry = _sub(field)
            key = self._single(entry.fields_by_name["key"], depth + 1)
            value = self._single(entry.fields_by_name["value"], depth + 1)
            return st.dictionaries(key, value, max_size=3)
        single = self._single(field, depth)
        if field.is_repeated:
            return st.lists(single, max_size=3)
        return single

    def _single(self, field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if _sub(field).full_name == "google.protobuf.Any":
                return st.just(_message_class(_sub(field))())
            return self.message(_sub(field), depth + 1)
        base = _scalar(field)
        # A hint serves only fields of its Python type (a "value" hint of bytes is no double).
        hint = [value for value in self.hints.get(field.name, ()) if _fits(field, value)]
        if hint:
            return (
                st.one_of(st.sampled_from(list(hint)), base)
                if depth
                else st.one_of(
                    st.sampled_from(list(hint)),
                    st.sampled_from(list(hint)),
                    st.sampled_from(list(hint)),
                    base,
                )
            )
        return base


def _fits(field: FieldDescriptor, value: Any) -> bool:
    if field.type == FieldDescriptor.TYPE_STRING:
        return isinstance(value, str)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return isinstance(value, bytes)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return isinstance(value, bool)
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return isinstance(value, float)
    return isinstance(value, int) and not isinstance(value, bool)


def _sub(field: FieldDescriptor) -> Descriptor:
    assert field.message_type is not None, field.full_name
    return field.message_type


def _enum(field: FieldDescriptor) -> Any:
    assert field.enum_type is not None, field.full_name
    return field.enum_type


def _is_map(field: FieldDescriptor) -> bool:
    return (
        field.type == FieldDescriptor.TYPE_MESSAGE
        and _sub(field).GetOptions().map_entry
        and field.is_repeated
    )


def _message_class(descriptor: Descriptor) -> type[Message]:
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(descriptor)


def _build(cls: type[Message], descriptor: Descriptor, values: Mapping[str, Any]) -> Message:
    message = cls()
    for name, value in values.items():
        field = descriptor.fields_by_name[name]
        target: Any = (
            getattr(message, name)
            if field.type == FieldDescriptor.TYPE_MESSAGE or field.is_repeated
            else None
        )
        if _is_map(field):
            for key, item in value.items():
                if isinstance(item, Message):
                    target[key].CopyFrom(item)
                else:
                    target[key] = item
        elif field.is_repeated:
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                for item in value:
                    target.add().CopyFrom(item)
            else:
                target.extend(value)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            target.CopyFrom(value)
            target.SetInParent()
        else:
            setattr(message, name, value)
    return message
