"""The four JSON flavours Temporal's HTTP API registers, and which one a request gets.

Temporal registers one marshaler per media type: "*" (the default: one line, payload
shorthand), "application/json+pretty", "application/json+no-payload-shorthand" and
"application/json+pretty+no-payload-shorthand". The ``?pretty`` and ``?noPayloadShorthand``
query flags set the ``Accept`` header to the matching type. As in grpc-gateway, the request
body is read with the flavour its ``Content-Type`` names, the response written with the one
``Accept`` names, falling back to the body's, and the response's ``Content-Type`` is the
flavour's media type, "*" included (that is what Temporal sends).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Format:
    """One JSON flavour.

    Attributes:
        content_type: Its media type.
        indent: "" for one line, else the indent per level.
        shorthand: Whether payloads use Temporal's shorthand.
    """

    content_type: str
    indent: str
    shorthand: bool


FORMATS: dict[str, Format] = {
    format_.content_type: format_
    for format_ in (
        Format("application/json+pretty+no-payload-shorthand", "  ", False),
        Format("application/json+no-payload-shorthand", "", False),
        Format("application/json+pretty", "  ", True),
        Format("*", "", True),
    )
}
DEFAULT = FORMATS["*"]


def negotiate(
    accept: Iterable[str], content_types: Iterable[str], raw_query: str
) -> tuple[Format, Format]:
    """The flavours ``(inbound, outbound)`` of a request.

    Args:
        accept: The request's ``Accept`` header values.
        content_types: Its ``Content-Type`` header values.
        raw_query: Its query string, for the ``pretty`` and ``noPayloadShorthand`` flags.
    """
    flags = parse_qs(raw_query, keep_blank_values=True)
    suffix = ("+pretty" if "pretty" in flags else "") + (
        "+no-payload-shorthand" if "noPayloadShorthand" in flags else ""
    )
    if suffix:
        accept = ["application/json" + suffix]
    outbound = next((FORMATS[value] for value in accept if value in FORMATS), None)
    inbound = next(
        (
            FORMATS[media]
            for value in content_types
            if (media := value.split(";", 1)[0].strip().lower()) in FORMATS
        ),
        DEFAULT,
    )
    return inbound, outbound or inbound
