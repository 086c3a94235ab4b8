"""Go's ``strconv`` and ``time`` parsers for URL parameters, with Go's error texts."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

_BOOLS = {
    **dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
    **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False),
}
_INT = re.compile(r"^[+-]?[0-9]+$")
_UINT = re.compile(r"^[0-9]+$")
_FLOAT = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_SPECIAL_FLOAT = re.compile(r"^[+-]?(inf|infinity|nan)$", re.IGNORECASE)
_FLOAT32_MAX = 3.4028234663852886e38
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_UNIT_NANOS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}


class ScalarError(ValueError):
    """A parameter value Go's parser rejects; the message is Go's."""


def parse_bool(text: str) -> bool:
    """``strconv.ParseBool``."""
    if text not in _BOOLS:
        raise ScalarError(f'strconv.ParseBool: parsing "{text}": invalid syntax')
    return _BOOLS[text]


def parse_int(text: str, bits: int, unsigned: bool) -> int:
    """``strconv.ParseInt(text, 10, bits)`` or ``ParseUint``."""
    name = "ParseUint" if unsigned else "ParseInt"
    if not (_UINT if unsigned else _INT).match(text):
        raise ScalarError(f'strconv.{name}: parsing "{text}": invalid syntax')
    value = int(text)
    low, high = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if not low <= value <= high:
        raise ScalarError(f'strconv.{name}: parsing "{text}": value out of range')
    return value


def parse_float(text: str, bits: int) -> float:
    """``strconv.ParseFloat`` for decimal and special (inf, nan) forms."""
    if not (_FLOAT.match(text) or _SPECIAL_FLOAT.match(text)):
        raise ScalarError(f'strconv.ParseFloat: parsing "{text}": invalid syntax')
    value = float(text)
    finite_text = not _SPECIAL_FLOAT.match(text)
    limit = _FLOAT32_MAX if bits == 32 else float("inf")
    if finite_text and (abs(value) > limit or value in (float("inf"), float("-inf"))):
        raise ScalarError(f'strconv.ParseFloat: parsing "{text}": value out of range')
    return value


def timestamp(text: str) -> Timestamp:
    """An RFC 3339 time, as ``time.Parse(time.RFC3339Nano, ...)`` reads it."""
    parsed = Timestamp()
    try:
        parsed.FromJsonString(text)
    except ValueError as exc:
        raise ScalarError(f'parsing time "{text}": {exc}') from None
    return parsed


def duration(text: str) -> Duration:
    """A Go duration such as "1h30m" or "1.5s" (``time.ParseDuration``)."""
    body = text.lstrip("+-")
    negative = text.startswith("-")
    nanos = Decimal(0)
    if body == "0":
        return Duration()
    position = 0
    for match in _DURATION_PART.finditer(body):
        number = match.group(1)
        if match.start() != position or number in ("", "."):
            raise ScalarError(f'time: invalid duration "{text}"')
        try:
            nanos += Decimal(number) * _UNIT_NANOS[match.group(2)]
        except InvalidOperation:
            raise ScalarError(f'time: invalid duration "{text}"') from None
        position = match.end()
    if not body or position != len(body) or text[:2] in ("+-", "-+", "--", "++"):
        raise ScalarError(f'time: invalid duration "{text}"')
    total = int(nanos) * (-1 if negative else 1)
    if abs(total) > 2**63 - 1:
        raise ScalarError(f'time: invalid duration "{text}"')
    result = Duration()
    result.FromNanoseconds(total)
    return result
