"""google.api.http path templates: parsed once, matched against a request's path segments.

The grammar (google/api/http.proto)::

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    Verb     = ":" LITERAL ;

Matching follows grpc-gateway's default (legacy) mode, which Temporal's HTTP API runs: the
path is percent-decoded first, then split on "/", so a variable never spans an encoded "/".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_LITERAL_BAD = set("{}*=/:")


class TemplateError(ValueError):
    """A path template that does not follow the google.api.http grammar."""


@dataclass(frozen=True)
class Variable:
    """A ``{field.path}`` capture over segments ``start`` up to (not including) ``end``."""

    field_path: str
    start: int
    end: int


@dataclass(frozen=True)
class PathTemplate:
    """A parsed template.

    Attributes:
        text: The template as written in the proto.
        segments: Per segment: a literal, ``*`` (one segment) or ``**`` (the rest, >= 0).
        variables: The field captures.
        verb: The ``:verb`` suffix, or "".
    """

    text: str
    segments: tuple[str, ...]
    variables: tuple[Variable, ...]
    verb: str

    @property
    def deep(self) -> bool:
        """Whether the template holds a ``**`` segment."""
        return "**" in self.segments

    def match(self, components: list[str], verb: str) -> dict[str, str] | None:
        """The captured field values when ``components`` (and ``verb``) fit, else None."""
        if verb != self.verb:
            return None
        count = len(self.segments)
        if self.deep:
            if len(components) < count - 1:
                return None
            deep_at = self.segments.index("**")
            tail = count - deep_at - 1
            head, rest = components[:deep_at], components[deep_at:]
            middle, after = rest[: len(rest) - tail], rest[len(rest) - tail :]
            # The deep segment becomes one synthetic component, so segment indexes hold.
            components = [*head, "/".join(middle), *after]
        elif len(components) != count:
            return None
        for segment, component in zip(self.segments, components, strict=True):
            if segment in ("*", "**"):
                continue
            if segment != component:
                return None
        return {
            variable.field_path: "/".join(components[variable.start : variable.end])
            for variable in self.variables
        }


def parse(text: str) -> PathTemplate:
    """Parses a google.api.http path template.

    Raises:
        TemplateError: ``text`` does not follow the grammar.
    """
    if not text.startswith("/"):
        raise TemplateError(f"path template {text!r} must start with '/'")
    body, verb = _split_verb(text)
    segments: list[str] = []
    variables: list[Variable] = []
    for token in _tokens(body[1:], text):
        if token.startswith("{"):
            field_path, _, sub = token[1:-1].partition("=")
            if not _IDENT.match(field_path):
                raise TemplateError(f"bad field path {field_path!r} in {text!r}")
            inner = sub.split("/") if sub else ["*"]
            start = len(segments)
            for part in inner:
                _check_segment(part, text)
                segments.append(part)
            variables.append(Variable(field_path, start, len(segments)))
        else:
            _check_segment(token, text)
            segments.append(token)
    if segments.count("**") > 1:
        raise TemplateError(f"at most one '**' is allowed in {text!r}")
    return PathTemplate(text, tuple(segments), tuple(variables), verb)


def _split_verb(text: str) -> tuple[str, str]:
    last = text.rsplit("/", 1)[-1]
    if ":" in last and "}" not in last[last.index(":") :]:
        head, _, verb = text.rpartition(":")
        if not verb or _LITERAL_BAD & set(verb):
            raise TemplateError(f"bad verb in {text!r}")
        return head, verb
    return text, ""


def _tokens(body: str, text: str) -> list[str]:
    """Splits on '/' outside braces: literals, wildcards and whole ``{...}`` variables."""
    tokens: list[str] = []
    current = ""
    depth = 0
    for char in body:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise TemplateError(f"unbalanced '}}' in {text!r}")
        if char == "/" and depth == 0:
            tokens.append(current)
            current = ""
        else:
            current += char
    if depth != 0:
        raise TemplateError(f"unbalanced '{{' in {text!r}")
    tokens.append(current)
    for token in tokens:
        if token.startswith("{") != token.endswith("}") or token.count("{") > 1:
            raise TemplateError(f"bad segment {token!r} in {text!r}")
    return tokens


def _check_segment(segment: str, text: str) -> None:
    if segment in ("*", "**"):
        return
    if not segment or _LITERAL_BAD & set(segment):
        raise TemplateError(f"bad segment {segment!r} in {text!r}")
