"""The syntax tree of a parsed list filter; ``go_type`` names mirror Temporal's sqlparser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class Node:
    """A node of the parsed filter; ``go_type`` is the Go type name Temporal's messages print."""

    go_type: ClassVar[str] = ""


@dataclass(frozen=True)
class ColName(Node):
    """A column: a search attribute name, backquotes removed."""

    go_type: ClassVar[str] = "*sqlparser.ColName"
    name: str


@dataclass(frozen=True)
class SQLVal(Node):
    """A literal: ``kind`` is ``str``, ``int`` or ``float``; ``text`` the literal's text."""

    go_type: ClassVar[str] = "*sqlparser.SQLVal"
    kind: str
    text: str


@dataclass(frozen=True)
class BoolVal(Node):
    """``TRUE`` or ``FALSE``."""

    go_type: ClassVar[str] = "sqlparser.BoolVal"
    value: bool


@dataclass(frozen=True)
class NullVal(Node):
    """``NULL`` used as a value."""

    go_type: ClassVar[str] = "*sqlparser.NullVal"


@dataclass(frozen=True)
class ValTuple(Node):
    """``(a, b, ...)``."""

    go_type: ClassVar[str] = "sqlparser.ValTuple"
    items: tuple[Node, ...]


@dataclass(frozen=True)
class FuncExpr(Node):
    """A function call, which Temporal never supports."""

    go_type: ClassVar[str] = "*sqlparser.FuncExpr"
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class BinaryExpr(Node):
    """Arithmetic, which Temporal never supports."""

    go_type: ClassVar[str] = "*sqlparser.BinaryExpr"
    operator: str
    left: Node
    right: Node


@dataclass(frozen=True)
class UnaryExpr(Node):
    """A unary minus on something other than a number."""

    go_type: ClassVar[str] = "*sqlparser.UnaryExpr"
    operator: str
    expr: Node


@dataclass(frozen=True)
class ParenExpr(Node):
    """``( expression )``."""

    go_type: ClassVar[str] = "*sqlparser.ParenExpr"
    expr: Node


@dataclass(frozen=True)
class NotExpr(Node):
    """``NOT expression``."""

    go_type: ClassVar[str] = "*sqlparser.NotExpr"
    expr: Node


@dataclass(frozen=True)
class AndExpr(Node):
    """``left AND right``."""

    go_type: ClassVar[str] = "*sqlparser.AndExpr"
    left: Node
    right: Node


@dataclass(frozen=True)
class OrExpr(Node):
    """``left OR right``."""

    go_type: ClassVar[str] = "*sqlparser.OrExpr"
    left: Node
    right: Node


@dataclass(frozen=True)
class ComparisonExpr(Node):
    """``left <operator> right``; operators spelled as sqlparser does (``not in``)."""

    go_type: ClassVar[str] = "*sqlparser.ComparisonExpr"
    operator: str
    left: Node
    right: Node


@dataclass(frozen=True)
class RangeCond(Node):
    """``left [NOT] BETWEEN low AND high``; operator ``between`` or ``not between``."""

    go_type: ClassVar[str] = "*sqlparser.RangeCond"
    operator: str
    left: Node
    low: Node
    high: Node


@dataclass(frozen=True)
class IsExpr(Node):
    """``expr IS [NOT] NULL|TRUE|FALSE``; operator e.g. ``is not null``."""

    go_type: ClassVar[str] = "*sqlparser.IsExpr"
    operator: str
    expr: Node


@dataclass(frozen=True)
class OrderBy:
    """One ``ORDER BY`` item."""

    expr: Node
    descending: bool


@dataclass(frozen=True)
class Select:
    """A parsed filter: the ``WHERE`` expression (or None) and its clauses."""

    where: Node | None
    group_by: tuple[Node, ...] = ()
    order_by: tuple[OrderBy, ...] = ()
    has_limit: bool = False
