"""A parser for the SQL subset of Temporal's list filters, with Temporal's syntax error texts.

Temporal wraps a filter as ``select * from table1 where <filter>`` and parses it with its fork of
vitess' MySQL parser; syntax errors name the position just past the offending token in that
wrapped text. This module parses the same wrapped text the same way, for the constructs a list
filter can use, and builds a small tree the converter in ``query.py`` walks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.visibility.exceptions import InvalidQueryError
from schemas.visibility.sqltree import (
    AndExpr,
    BinaryExpr,
    BoolVal,
    ColName,
    ComparisonExpr,
    FuncExpr,
    IsExpr,
    Node,
    NotExpr,
    NullVal,
    OrderBy,
    OrExpr,
    ParenExpr,
    RangeCond,
    Select,
    SQLVal,
    UnaryExpr,
    ValTuple,
)

__all__ = [
    "INVALID_QUERY",
    "MALFORMED",
    "AndExpr",
    "BinaryExpr",
    "BoolVal",
    "ColName",
    "ComparisonExpr",
    "FuncExpr",
    "IsExpr",
    "Node",
    "NotExpr",
    "NullVal",
    "OrExpr",
    "OrderBy",
    "ParenExpr",
    "RangeCond",
    "SQLVal",
    "Select",
    "UnaryExpr",
    "ValTuple",
    "parse",
]

INVALID_QUERY = "invalid query"
MALFORMED = "malformed SQL query"

_PREFIX = "select * from table1 "
_KEYWORDS = frozenset(
    {
        *("and", "or", "not", "xor", "in", "is", "null", "true", "false", "between", "like"),
        *("regexp", "rlike", "starts_with", "escape", "order", "by", "group", "limit", "offset"),
        *("asc", "desc", "select", "from", "where", "having", "exists", "case", "when", "then"),
        *("else", "end", "div", "mod", "distinct", "union", "as", "on", "join", "interval"),
        *("binary", "for"),
    }
)
_COMPARE = frozenset({"=", "<", ">", "<=", ">=", "!=", "<=>"})
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%", "|", "&", "^", "<<", ">>", "div", "mod"})


# ---- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "id", "kw", "str", "int", "float", "op", "eof", "lexerr"
    value: str  # keyword lowercased, operator text, literal content
    end: int  # offset just past the token in the wrapped text
    near: str | None = field(default=None)  # what sqlparser prints as "near '...'"


def _is_letter(ch: str) -> bool:
    return ch.isascii() and (ch.isalpha() or ch in "_@")


def _tokenize(sql: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos, n = 0, len(sql)
    while True:
        while pos < n and sql[pos] in " \t\r\n":
            pos += 1
        if pos >= n:
            tokens.append(_Token("eof", "", n))
            return tokens
        ch = sql[pos]
        if _is_letter(ch):
            start = pos
            while pos < n and (_is_letter(sql[pos]) or sql[pos].isdigit()):
                pos += 1
            word = sql[start:pos]
            if word.lower() in _KEYWORDS:
                tokens.append(_Token("kw", word.lower(), pos, word.lower()))
            else:
                tokens.append(_Token("id", word, pos, word))
        elif ch.isdigit() or (ch == "." and pos + 1 < n and sql[pos + 1].isdigit()):
            pos, token = _scan_number(sql, pos)
            tokens.append(token)
        elif ch in "'\"":
            pos, token = _scan_string(sql, pos)
            tokens.append(token)
            if token.kind == "lexerr":
                return tokens
        elif ch == "`":
            end = sql.find("`", pos + 1)
            if end < 0:
                tokens.append(_Token("lexerr", "", n, sql[pos + 1 :]))
                return tokens
            name = sql[pos + 1 : end]
            pos = end + 1
            tokens.append(_Token("id", name, pos, name))
        elif sql.startswith(("--", "#"), pos):
            newline = sql.find("\n", pos)
            pos = n if newline < 0 else newline + 1
        elif sql.startswith("/*", pos):
            close = sql.find("*/", pos + 2)
            pos = n if close < 0 else close + 2
        else:
            pos, token = _scan_operator(sql, pos)
            tokens.append(token)
            if token.kind == "lexerr":
                return tokens


def _scan_number(sql: str, pos: int) -> tuple[int, _Token]:
    start, n, kind = pos, len(sql), "int"
    while pos < n and sql[pos].isdigit():
        pos += 1
    if pos < n and sql[pos] == ".":
        kind = "float"
        pos += 1
        while pos < n and sql[pos].isdigit():
            pos += 1
    if pos < n and sql[pos] in "eE":
        exp = pos + 1
        if exp < n and sql[exp] in "+-":
            exp += 1
        if exp < n and sql[exp].isdigit():
            kind, pos = "float", exp
            while pos < n and sql[pos].isdigit():
                pos += 1
    text = sql[start:pos]
    return pos, _Token(kind, text, pos, text)


_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}


def _scan_string(sql: str, pos: int) -> tuple[int, _Token]:
    quote, n, out = sql[pos], len(sql), []
    pos += 1
    while pos < n:
        ch = sql[pos]
        if ch == quote:
            if pos + 1 < n and sql[pos + 1] == quote:  # a doubled quote is one quote
                out.append(quote)
                pos += 2
                continue
            text = "".join(out)
            return pos + 1, _Token("str", text, pos + 1, text)
        if ch == "\\" and pos + 1 < n:
            out.append(_ESCAPES.get(sql[pos + 1], sql[pos + 1]))
            pos += 2
            continue
        out.append(ch)
        pos += 1
    return n, _Token("lexerr", "", n, "".join(out))


_OPERATORS = ("<=>", "<=", ">=", "<>", "!=", "&&", "||", "<<", ">>")


def _scan_operator(sql: str, pos: int) -> tuple[int, _Token]:
    for op in _OPERATORS:
        if sql.startswith(op, pos):
            end = pos + len(op)
            value = {"<>": "!=", "&&": "and", "||": "or"}.get(op, op)
            return end, _Token("kw" if value in ("and", "or") else "op", value, end)
    ch = sql[pos]
    if ch in "=<>(),;+-*/%|&^~!.":
        return pos + 1, _Token("op", ch, pos + 1)
    return pos + 1, _Token("lexerr", ch, pos + 1, ch)


# ---- parser ----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.tokens = _tokenize(sql)
        self.i = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def is_(self, kind: str, *values: str) -> bool:
        tok = self.tok
        return tok.kind == kind and (not values or tok.value in values)

    def advance(self) -> _Token:
        tok = self.tok
        if tok.kind != "eof":
            self.i += 1
        return tok

    def expect(self, kind: str, *values: str) -> _Token:
        if not self.is_(kind, *values):
            self.fail()
        return self.advance()

    def fail(self) -> None:
        # sqlparser reports the position just past the offending token (its look-ahead counter).
        tok = self.tok
        position = tok.end + 1
        message = f"{INVALID_QUERY}: {MALFORMED}: syntax error at position {position}"
        if tok.near is not None and tok.kind != "eof":
            message += f" near '{tok.near}'"
        raise InvalidQueryError(message)

    # select := SELECT * FROM table1 [WHERE expr] [GROUP BY ...] [ORDER BY ...] [LIMIT ...] [;]
    def select(self) -> Select:
        self.expect("kw", "select")
        self.expect("op", "*")
        self.expect("kw", "from")
        self.expect("id")
        where = None
        if self.is_("kw", "where"):
            self.advance()
            where = self.expression()
        group_by: list[Node] = []
        if self.is_("kw", "group"):
            self.advance()
            self.expect("kw", "by")
            group_by = self.value_list()
        order_by: list[OrderBy] = []
        if self.is_("kw", "order"):
            self.advance()
            self.expect("kw", "by")
            order_by.append(self.order_item())
            while self.is_("op", ","):
                self.advance()
                order_by.append(self.order_item())
        has_limit = self.is_("kw", "limit")
        if has_limit:
            self.limit()
        if self.is_("op", ";"):
            self.advance()
        if not self.is_("eof"):
            self.fail()
        return Select(where, tuple(group_by), tuple(order_by), has_limit)

    def order_item(self) -> OrderBy:
        expr = self.value_expression()
        descending = False
        if self.is_("kw", "asc", "desc"):
            descending = self.advance().value == "desc"
        return OrderBy(expr, descending)

    def limit(self) -> None:
        self.advance()
        self.value_expression()
        if self.is_("op", ",") or self.is_("kw", "offset"):
            self.advance()
            self.value_expression()

    def value_list(self) -> list[Node]:
        items = [self.value_expression()]
        while self.is_("op", ","):
            self.advance()
            items.append(self.value_expression())
        return items

    # expression := or ; precedence OR < AND < NOT < IS < comparison
    def expression(self) -> Node:
        node = self.and_expression()
        while self.is_("kw", "or"):
            self.advance()
            node = OrExpr(node, self.and_expression())
        return node

    def and_expression(self) -> Node:
        node = self.not_expression()
        while self.is_("kw", "and"):
            self.advance()
            node = AndExpr(node, self.not_expression())
        return node

    def not_expression(self) -> Node:
        if self.is_("kw", "not"):
            self.advance()
            return NotExpr(self.not_expression())
        node = self.condition()
        while self.is_("kw", "is"):
            self.advance()
            negated = self.is_("kw", "not")
            if negated:
                self.advance()
            what = self.expect("kw", "null", "true", "false").value
            node = IsExpr(f"is {'not ' if negated else ''}{what}", node)
        return node

    def condition(self) -> Node:
        left = self.value_expression()
        if self.is_("op") and self.tok.value in _COMPARE:
            operator = self.advance().value
            return ComparisonExpr(operator, left, self.value_expression())
        negated = self.is_("kw", "not")
        if negated:
            self.advance()
            if not self.is_("kw", "in", "like", "regexp", "rlike", "between", "starts_with"):
                self.fail()
        prefix = "not " if negated else ""
        if self.is_("kw", "in"):
            self.advance()
            return ComparisonExpr(prefix + "in", left, self.tuple_())
        if self.is_("kw", "between"):
            self.advance()
            low = self.value_expression()
            self.expect("kw", "and")
            return RangeCond(prefix + "between", left, low, self.value_expression())
        if self.is_("kw", "like", "regexp", "rlike", "starts_with"):
            word = self.advance().value
            operator = prefix + ("regexp" if word == "rlike" else word)
            right = self.value_expression()
            if word == "like" and self.is_("kw", "escape"):
                self.advance()
                self.value_expression()
            return ComparisonExpr(operator, left, right)
        return left

    def tuple_(self) -> ValTuple:
        self.expect("op", "(")
        items = self.value_list()
        self.expect("op", ")")
        return ValTuple(tuple(items))

    def value_expression(self) -> Node:
        node = self.unary()
        while (self.is_("op") or self.is_("kw", "div", "mod")) and self.tok.value in _ARITHMETIC:
            operator = self.advance().value
            node = BinaryExpr(operator, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.is_("op", "-", "+", "~", "!"):
            operator = self.advance().value
            operand = self.unary()
            if isinstance(operand, SQLVal) and operand.kind != "str" and operator in "-+":
                # sqlparser folds the sign of a numeric literal into the literal.
                if operator == "+":
                    return operand
                text = operand.text
                return SQLVal(operand.kind, text[1:] if text.startswith("-") else "-" + text)
            return UnaryExpr(operator, operand)
        return self.primary()

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind in ("str", "int", "float"):
            self.advance()
            return SQLVal(tok.kind, tok.value)
        if tok.kind == "kw" and tok.value in ("null", "true", "false"):
            self.advance()
            return NullVal() if tok.value == "null" else BoolVal(tok.value == "true")
        if tok.kind == "id":
            self.advance()
            if self.is_("op", "("):
                self.advance()
                args: list[Node] = []
                if not self.is_("op", ")"):
                    args = [self.expression()]
                    while self.is_("op", ","):
                        self.advance()
                        args.append(self.expression())
                self.expect("op", ")")
                return FuncExpr(tok.value, tuple(args))
            name = tok.value
            while self.is_("op", "."):
                self.advance()
                name += "." + self.expect("id").value
            return ColName(name)
        if tok.kind == "op" and tok.value == "(":
            self.advance()
            items = [self.expression()]
            while self.is_("op", ","):
                self.advance()
                items.append(self.expression())
            self.expect("op", ")")
            return ParenExpr(items[0]) if len(items) == 1 else ValTuple(tuple(items))
        self.fail()
        raise AssertionError("unreachable")


def parse(filter_text: str) -> Select:
    """Parses a list filter the way Temporal does, ``ORDER BY``/``GROUP BY`` included.

    Args:
        filter_text: The user's query, e.g. ``WorkflowType = 'x' ORDER BY StartTime``.

    Returns:
        The parsed statement.

    Raises:
        InvalidQueryError: A syntax error, with Temporal's message.
    """
    where = filter_text.strip()
    lowered = where.lower()
    if where and not lowered.startswith("order by") and not lowered.startswith("group by"):
        where = "where " + where
    return _Parser(_PREFIX + where).select()
