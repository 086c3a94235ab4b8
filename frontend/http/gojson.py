"""A JSON writer that formats like Go: Temporal's HTTP API is Go, and its bytes are the contract.

Two Go encoders matter. Go's protobuf JSON encoder (which Temporal's marshaler forks) writes
the responses: no HTML escaping, non-ASCII as is, floats in shortest form with exponents only
below 1e-6 and from 1e21. Go's ``encoding/json`` writes the bytes of a JSON payload Temporal
builds from shorthand input: the same numbers, sorted keys, and ``<``, ``>``, ``&``, U+2028,
U+2029 escaped.
"""

from __future__ import annotations

import json
import math
import struct
from decimal import Decimal
from typing import Any

_HTML_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


class Number(str):
    """A JSON number's text, written as is."""


def go_float(value: float, bits: int = 64) -> str:
    """Go's JSON text of a finite float (``bits`` = 32 for a proto ``float``).

    Raises:
        ValueError: ``value`` is NaN or infinite (they have no JSON number).
    """
    if not math.isfinite(value):
        raise ValueError(f"{value} has no JSON number")
    digits = Decimal(_shortest(value, bits))
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        return _exponent_form(digits)
    text = format(digits.normalize(), "f")
    return "-0" if text == "0" and math.copysign(1.0, value) < 0 else text


def _shortest(value: float, bits: int) -> str:
    """The fewest digits that read back as the same float of that width."""
    if bits == 64:
        return repr(value)
    single = struct.unpack("<f", struct.pack("<f", value))[0]
    for precision in range(1, 10):
        text = f"{single:.{precision}g}"
        if struct.unpack("<f", struct.pack("<f", float(text)))[0] == single:
            return text
    return repr(single)


def _exponent_form(digits: Decimal) -> str:
    sign, numerals, exponent = digits.normalize().as_tuple()
    assert isinstance(exponent, int)  # finite by the caller's check
    text = "".join(map(str, numerals))
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    power = exponent + len(text) - 1
    # Go writes at least two exponent digits, then trims a negative one's leading zero.
    exp_text = f"{abs(power):02d}"
    if power < 0 and exp_text.startswith("0"):
        exp_text = exp_text[1:]
    return f"{'-' if sign else ''}{mantissa}e{'-' if power < 0 else '+'}{exp_text}"


def dumps(value: Any, indent: str = "", html_escape: bool = False) -> str:
    """Writes ``value`` (dict, list, str, bool, None, int, float, Number) as Go would.

    Dict keys keep their order; sort them beforehand where Go sorts. Floats take Go's form.

    Args:
        value: The tree to write.
        indent: "" for one line, else the indent of each nesting level.
        html_escape: Escape like ``encoding/json`` (``<``, ``>``, ``&``, U+2028, U+2029).
    """
    parts: list[str] = []
    _write(value, parts, indent, "", html_escape)
    return "".join(parts)


def _write(value: Any, out: list[str], indent: str, prefix: str, html: bool) -> None:
    if isinstance(value, Number):
        out.append(str(value))
    elif isinstance(value, str):
        out.append(_string(value, html))
    elif value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(go_float(value))
    elif isinstance(value, dict):
        _container(list(value.items()), "{", "}", out, indent, prefix, html)
    elif isinstance(value, list | tuple):
        _container(list(value), "[", "]", out, indent, prefix, html)
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _container(
    items: list[Any], open_: str, close: str, out: list[str], indent: str, prefix: str, html: bool
) -> None:
    out.append(open_)
    if not items:
        out.append(close)
        return
    inner = prefix + indent
    for position, item in enumerate(items):
        if position:
            out.append(",")
        if indent:
            out.append("\n" + inner)
        if open_ == "{":
            key, item = item
            out.append(_string(key, html) + (": " if indent else ":"))
        _write(item, out, indent, inner, html)
    if indent:
        out.append("\n" + prefix)
    out.append(close)


def _string(text: str, html: bool) -> str:
    # Python's escaping without ensure_ascii equals Go's: '"', '\\', and the control
    # characters (\b \f \n \r \t by name, others as lowercase \u00XX); the rest as is.
    quoted = json.dumps(text, ensure_ascii=False)
    if html:
        for char, escape in _HTML_ESCAPES.items():
            quoted = quoted.replace(char, escape)
    return quoted
