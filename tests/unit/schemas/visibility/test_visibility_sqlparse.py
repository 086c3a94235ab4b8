"""The filter parser: tree shapes and syntax errors with the dev server's exact positions."""

from __future__ import annotations

import pytest

from schemas.visibility import sqlparse as sql
from schemas.visibility.exceptions import InvalidQueryError

# Each message below is what `temporal workflow list --query` printed against the dev server
# (Temporal Server 1.32), after "invalid query: malformed SQL query: ".
SYNTAX_ERRORS = [
    ("WorkflowId =", "syntax error at position 40"),
    ('RunId = "a" and', "syntax error at position 43"),
    ("WorkflowId IS 5", "syntax error at position 43 near '5'"),
    ("WorkflowId = 'a' OR", "syntax error at position 47"),
    ("(WorkflowId = 'a'", "syntax error at position 45"),
    ("WorkflowId = 'a')", "syntax error at position 45"),
    ("WorkflowId IN ()", "syntax error at position 44"),
    ("WorkflowId IN 'a'", "syntax error at position 45 near 'a'"),
    ("WorkflowId = 'a' AND", "syntax error at position 48"),
    ("WorkflowId = 'a' = 'b'", "syntax error at position 46"),
    ("select * from x", "syntax error at position 34 near 'select'"),
    ("WorkflowId = 'a' ORDER BY", "syntax error at position 53"),
    ("WorkflowId = 'a' XOR RunId = 'b'", "syntax error at position 48 near 'xor'"),
    ("WorkflowId = 'a' AND (RunId = 'b'", "syntax error at position 61"),
    ("WorkflowId == 'a'", "syntax error at position 41"),
    ("WorkflowId = 'a' @", "syntax error at position 46 near '@'"),
]


@pytest.mark.parametrize(("query", "error"), SYNTAX_ERRORS)
def test_syntax_errors_match_temporal(query: str, error: str) -> None:
    with pytest.raises(InvalidQueryError) as caught:
        sql.parse(query)
    assert str(caught.value) == f"invalid query: malformed SQL query: {error}"


def test_precedence_or_below_and_below_not() -> None:
    stmt = sql.parse("NOT A = 'a' AND B = 'b' OR C = 'c'")
    assert isinstance(stmt.where, sql.OrExpr)
    assert isinstance(stmt.where.left, sql.AndExpr)
    assert isinstance(stmt.where.left.left, sql.NotExpr)
    assert stmt.where.right == sql.ComparisonExpr("=", sql.ColName("C"), sql.SQLVal("str", "c"))


def test_operators_and_spellings() -> None:
    stmt = sql.parse(
        "`A` <> \"x\" && B NOT IN (1, -2) || C NOT STARTS_WITH 'p' AND D NOT BETWEEN 1.5 AND 2 "
        "AND E IS NOT NULL AND F LIKE 'a%'"
    )
    found = []

    def walk(node: sql.Node) -> None:
        if isinstance(node, sql.AndExpr | sql.OrExpr):
            walk(node.left)
            walk(node.right)
        else:
            found.append(node)

    assert stmt.where is not None
    walk(stmt.where)
    assert found == [
        sql.ComparisonExpr("!=", sql.ColName("A"), sql.SQLVal("str", "x")),
        sql.ComparisonExpr(
            "not in",
            sql.ColName("B"),
            sql.ValTuple((sql.SQLVal("int", "1"), sql.SQLVal("int", "-2"))),
        ),
        sql.ComparisonExpr("not starts_with", sql.ColName("C"), sql.SQLVal("str", "p")),
        sql.RangeCond(
            "not between", sql.ColName("D"), sql.SQLVal("float", "1.5"), sql.SQLVal("int", "2")
        ),
        sql.IsExpr("is not null", sql.ColName("E")),
        sql.ComparisonExpr("like", sql.ColName("F"), sql.SQLVal("str", "a%")),
    ]


def test_string_escapes() -> None:
    stmt = sql.parse(
        " OR ".join(["A = 'it''s'", r"A = 'it\'s'", 'A = "say ""hi"""', r"A = 'tab\t'"])
    )
    values = []
    node = stmt.where
    while isinstance(node, sql.OrExpr):
        assert isinstance(node.right, sql.ComparisonExpr)
        values.append(node.right.right)
        node = node.left
    assert isinstance(node, sql.ComparisonExpr)
    values.append(node.right)
    assert [v.text for v in reversed(values) if isinstance(v, sql.SQLVal)] == [
        "it's",
        "it's",
        'say "hi"',
        "tab\t",
    ]


def test_order_group_limit_clauses() -> None:
    stmt = sql.parse("GROUP BY ExecutionStatus")
    assert stmt.where is None and stmt.group_by == (sql.ColName("ExecutionStatus"),)
    stmt = sql.parse("order by StartTime desc, RunId")
    assert stmt.order_by == (
        sql.OrderBy(sql.ColName("StartTime"), True),
        sql.OrderBy(sql.ColName("RunId"), False),
    )
    stmt = sql.parse("A = 'x' ORDER BY B LIMIT 5;")
    assert stmt.has_limit and stmt.order_by[0].expr == sql.ColName("B")


def test_empty_query_has_no_where() -> None:
    assert sql.parse("  ") == sql.Select(None)


def test_value_shapes_kept_for_error_messages() -> None:
    stmt = sql.parse("A = lower('x') AND (B) = NULL AND C + 1 = 2 AND D = TRUE")
    assert stmt.where is not None
    text = repr(stmt.where)
    for shape in ("FuncExpr", "ParenExpr", "NullVal", "BinaryExpr", "BoolVal(value=True)"):
        assert shape in text
