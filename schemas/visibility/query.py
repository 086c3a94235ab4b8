"""Translates Temporal's list filter language into an Elasticsearch query, pure and I/O-free.

The rules and error texts follow Temporal's ``visibility/store/query`` converter and its
Elasticsearch store (server 1.32, the version of the dev server Strom is compared with):

- Comparisons ``= != < > <= >=``, ``[NOT] IN``, ``[NOT] STARTS_WITH`` (keywords),
  ``[NOT] BETWEEN``, ``IS [NOT] NULL``, ``AND``/``OR``/``NOT`` and parentheses.
- Datetimes are RFC 3339 strings (or epoch nanoseconds); ``ExecutionStatus`` takes names or enum
  numbers; ``ExecutionDuration`` takes nanoseconds, Go durations (``1h``) or ``hh:mm:ss``.
- ``ORDER BY`` sorts with missing values last and ``RunId`` as tie-breaker; without it the order
  is Temporal's index order: ``CloseTime`` desc, ``StartTime`` desc (open runs first), ``RunId``.
- Every query is scoped to one namespace and, unless it names ``TemporalNamespaceDivision``,
  to executions without a division (Temporal's rule that hides system workflows).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.visibility import attributes as sa
from schemas.visibility import sqlparse as sql
from schemas.visibility.attributes import ValueType
from schemas.visibility.exceptions import InvalidQueryError
from schemas.visibility.timefmt import format_rfc3339, parse_duration, parse_rfc3339

NOT_SUPPORTED = "operation is not supported"
INVALID_EXPRESSION = "invalid expression"

Query = dict[str, Any]

_OPERATORS: Mapping[ValueType | None, frozenset[str]] = {
    ValueType.KEYWORD: frozenset(
        {"=", "!=", "<", ">", "<=", ">=", "in", "not in", "starts_with", "not starts_with"}
    ),
    ValueType.KEYWORD_LIST: frozenset({"=", "!=", "in", "not in"}),
    ValueType.TEXT: frozenset({"=", "!="}),
    None: frozenset({"=", "!=", "<", ">", "<=", ">=", "in", "not in"}),
}
_RANGE_TYPES = frozenset({ValueType.DATETIME, ValueType.DOUBLE, ValueType.INT, ValueType.KEYWORD})
_RANGE_KEYS = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
UNMAPPED_TYPES: Mapping[ValueType, str] = {
    ValueType.KEYWORD: "keyword",
    ValueType.KEYWORD_LIST: "keyword",
    ValueType.INT: "long",
    ValueType.DOUBLE: "double",
    ValueType.BOOL: "boolean",
    ValueType.DATETIME: "date_nanos",
    ValueType.TEXT: "text",
}
"""Elasticsearch type of each attribute type, for sorting by a field no document has yet."""
_INT64 = (-(2**63), 2**63 - 1)

DEFAULT_SORT: tuple[Query, ...] = (
    {sa.CLOSE_TIME: {"order": "desc", "missing": "_first"}},
    {sa.START_TIME: {"order": "desc", "missing": "_first"}},
    {sa.RUN_ID: {"order": "desc"}},
)
"""Temporal's default order (open runs first, newest first), with RunId to make it total."""


@dataclass(frozen=True)
class SearchQuery:
    """A translated list filter.

    Attributes:
        query: The Elasticsearch query, scoped to the namespace.
        sort: The Elasticsearch sort, ending with a tie-breaker so ``search_after`` pages safely.
        group_by: Fields of a ``GROUP BY`` clause (at most one).
    """

    query: Query
    sort: tuple[Query, ...]
    group_by: tuple[str, ...] = ()


def translate(
    query: str,
    namespace: str,
    *,
    namespace_id: str | None = None,
    custom: Mapping[str, ValueType] | None = None,
) -> SearchQuery:
    """Translates a list filter into an Elasticsearch query over one namespace.

    Args:
        query: Temporal's list filter, e.g. ``WorkflowType = 'x' AND CloseTime IS NULL``.
        namespace: The namespace name; the query matches only its executions.
        namespace_id: When given, scope by the namespace id instead of the name (survives a
            rename, as Temporal does).
        custom: The namespace's custom search attributes and their types.

    Returns:
        The query, sort and group-by fields.

    Raises:
        InvalidQueryError: The filter is malformed or unsupported; Temporal's message.
    """
    return _Converter(custom or {}).convert(query, namespace, namespace_id)


def _error(message: str) -> InvalidQueryError:
    return InvalidQueryError(f"{sql.INVALID_QUERY}: {message}")


def _go_value(value: Any) -> tuple[str, str]:
    """``%#v`` and ``%T`` of a value the way Go prints the parsed literal."""
    if isinstance(value, bool):
        return ("true" if value else "false"), "bool"
    if isinstance(value, int):
        return str(value), "int64"
    if isinstance(value, float):
        text = repr(value)
        return (text[:-2] if text.endswith(".0") else text), "float64"
    return json.dumps(value, ensure_ascii=False), "string"


class _Converter:
    def __init__(self, custom: Mapping[str, ValueType]) -> None:
        self.custom = custom
        self.seen_division = False

    def convert(self, text: str, namespace: str, namespace_id: str | None) -> SearchQuery:
        stmt = sql.parse(text)
        if stmt.has_limit:
            raise _error(f"{NOT_SUPPORTED}: 'LIMIT' clause")
        where = self.where(stmt.where) if stmt.where is not None else None
        group_by = self.group_by(stmt.group_by)
        sort = self.order_by(stmt.order_by)
        scope_field = sa.NAMESPACE_ID if namespace_id else sa.NAMESPACE
        scope: Query = {"term": {scope_field: namespace_id or namespace}}
        clauses = [scope] if where is None else [scope, where]
        if not self.seen_division:
            clauses.append(_not({"exists": {"field": sa.NAMESPACE_DIVISION}}))
        return SearchQuery(_and(*clauses), sort, group_by)

    def group_by(self, items: tuple[sql.Node, ...]) -> tuple[str, ...]:
        if len(items) > 1:
            raise _error(f"{NOT_SUPPORTED}: 'GROUP BY' clause supports only a single field")
        fields = []
        for item in items:
            alias, field, _ = self.column(item)
            allowed = field in sa.GROUP_BY_ALLOWED or field.startswith(sa.GROUP_BY_ALLOWED_PREFIX)
            if not allowed:
                raise _error(
                    f"{NOT_SUPPORTED}: 'GROUP BY' clause is not supported "
                    f"for search attribute {alias}"
                )
            fields.append(field)
        return tuple(fields)

    def order_by(self, items: tuple[sql.OrderBy, ...]) -> tuple[Query, ...]:
        if not items:
            return DEFAULT_SORT
        sort: list[Query] = []
        for item in items:
            _, field, value_type = self.column(item.expr)
            if value_type is ValueType.TEXT:
                raise _error(f"{NOT_SUPPORTED}: unable to sort by search attribute type Text")
            order = "desc" if item.descending else "asc"
            spec: Query = {"order": order, "missing": "_last"}
            if field.startswith(sa.CUSTOM + "."):
                # No document of the index may carry this attribute yet: without a type for
                # the unmapped field Elasticsearch refuses to sort by it.
                spec["unmapped_type"] = UNMAPPED_TYPES[value_type]
            sort.append({field: spec})
        sort.append({sa.RUN_ID: {"order": "desc"}})
        return tuple(sort)

    def column(self, node: sql.Node) -> tuple[str, str, ValueType]:
        if not isinstance(node, sql.ColName):
            raise _error(f"{INVALID_EXPRESSION}: must be a column name but was {node.go_type}")
        try:
            field, value_type = sa.resolve(node.name, self.custom)
        except KeyError:
            raise _error(f"invalid search attribute: {node.name}") from None
        if field == sa.NAMESPACE_DIVISION:
            self.seen_division = True
        return node.name, field, value_type

    def where(self, node: sql.Node) -> Query:
        match node:
            case sql.ParenExpr():
                return self.where(node.expr)
            case sql.NotExpr():
                return _not(self.where(node.expr))
            case sql.AndExpr():
                return _and(self.where(node.left), self.where(node.right))
            case sql.OrExpr():
                return _or(self.where(node.left), self.where(node.right))
            case sql.ComparisonExpr():
                return self.comparison(node)
            case sql.RangeCond():
                return self.range(node)
            case sql.IsExpr():
                _, field, _ = self.column(node.expr)
                if node.operator == "is null":
                    return _not({"exists": {"field": field}})
                if node.operator == "is not null":
                    return {"exists": {"field": field}}
                raise _error(
                    f"{INVALID_EXPRESSION}: 'IS' operator can only be used as "
                    "'IS NULL' or 'IS NOT NULL'"
                )
            case sql.FuncExpr():
                raise _error(f"{NOT_SUPPORTED}: function expression")
            case sql.ColName():
                raise _error(f"{INVALID_EXPRESSION}: incomplete expression")
        raise _error(f"{NOT_SUPPORTED}: expression of type {node.go_type}")

    def comparison(self, node: sql.ComparisonExpr) -> Query:
        alias, field, value_type = self.column(node.left)
        value = self.value(node.right, alias, field, value_type)
        allowed = _OPERATORS.get(value_type, _OPERATORS[None])
        if node.operator not in allowed:
            raise _error(
                f"{NOT_SUPPORTED}: operator '{node.operator.upper()}' not supported for "
                f"{value_type.value} type search attribute '{alias}'"
            )
        if isinstance(value, list) != node.operator.endswith("in"):
            raise _error(f"{INVALID_EXPRESSION}: unexpected value type {node.right.go_type}")
        negate = node.operator.startswith("not ") or node.operator == "!="
        operator = node.operator.removeprefix("not ")
        query: Query
        if operator in _RANGE_KEYS:
            query = {"range": {field: {_RANGE_KEYS[operator]: value}}}
        elif operator in ("=", "!=") and value_type is ValueType.TEXT:
            query = {"match": {field: value}}
        elif operator in ("=", "!="):
            query = {"term": {field: value}}
        elif operator == "in":
            query = {"terms": {field: value}}
        else:
            query = {"prefix": {field: value}}
        return _not(query) if negate else query

    def range(self, node: sql.RangeCond) -> Query:
        alias, field, value_type = self.column(node.left)
        if value_type not in _RANGE_TYPES:
            raise _error(
                f"{INVALID_EXPRESSION}: cannot do range condition on search attribute "
                f"'{alias}' of type {value_type.value}"
            )
        low = self.value(node.low, alias, field, value_type)
        high = self.value(node.high, alias, field, value_type)
        query = {"range": {field: {"gte": low, "lte": high}}}
        return _not(query) if node.operator == "not between" else query

    def value(self, node: sql.Node, alias: str, field: str, value_type: ValueType) -> Any:
        match node:
            case sql.SQLVal():
                return self.literal(node, alias, field, value_type)
            case sql.BoolVal():
                return _check_type(node.value, alias, value_type)
            case sql.ValTuple():
                return [self.value(item, alias, field, value_type) for item in node.items]
            case sql.FuncExpr():
                raise _error(f"{NOT_SUPPORTED}: nested func")
            case sql.ColName():
                raise _error(
                    f"{NOT_SUPPORTED}: column name on the right side of comparison expression "
                    f"(did you forget to quote {json.dumps(node.name)}?)"
                )
        raise _error(f"{INVALID_EXPRESSION}: unexpected value type {node.go_type}")

    def literal(self, node: sql.SQLVal, alias: str, field: str, value_type: ValueType) -> Any:
        # Temporal trims every leading and trailing single quote of a string's content.
        value = node.text.strip("'") if node.kind == "str" else _number(node.text)
        if field == sa.EXECUTION_STATUS:
            return _status(value)
        if field == sa.EXECUTION_DURATION:
            return _duration(value)
        return _check_type(value, alias, value_type)


def _number(text: str) -> int | float:
    try:
        value = int(text, 10)
        if _INT64[0] <= value <= _INT64[1]:
            return value
    except ValueError:
        pass
    return float(text)


def _status(value: Any) -> str:
    field = sa.EXECUTION_STATUS
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _error(
            f"{INVALID_EXPRESSION}: unexpected value type {_go_value(value)[1]} "
            f"for search attribute {field}"
        )
    try:
        if isinstance(value, int):
            return sa.status_name(value)
        # Temporal matches the stored short name only; full enum names are normalized here.
        return sa.status_name(sa.status_value(value))
    except ValueError:
        shown = value if isinstance(value, int) else f"'{value}'"
        raise _error(f"{INVALID_EXPRESSION}: invalid {field} value {shown}") from None


def _duration(value: Any) -> int:
    field = sa.EXECUTION_DURATION
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError:
            raise _error(
                f"{INVALID_EXPRESSION}: invalid duration value for search attribute "
                f"{field}: {value}"
            ) from None
    raise _error(
        f"{INVALID_EXPRESSION}: unexpected value type {_go_value(value)[1]} "
        f"for search attribute {field}"
    )


def _check_type(value: Any, alias: str, value_type: ValueType) -> Any:
    is_bool = isinstance(value, bool)
    if value_type in (ValueType.INT, ValueType.DOUBLE):
        ok = not is_bool and isinstance(value, int | float)
    elif value_type is ValueType.BOOL:
        ok = is_bool
    elif value_type is ValueType.DATETIME:
        if isinstance(value, str):
            try:
                return format_rfc3339(parse_rfc3339(value))
            except ValueError:
                raise _error(f"{INVALID_EXPRESSION}: unable to parse datetime '{value}'") from None
        if isinstance(value, int) and not is_bool:
            return format_rfc3339(value)
        ok = False
    else:
        ok = isinstance(value, str)
    if not ok:
        shown, go_type = _go_value(value)
        raise _error(
            f"{INVALID_EXPRESSION}: invalid value type for search attribute {alias} of type "
            f"{value_type.value}: {shown} (type: {go_type})"
        )
    return value


# ---- bool query algebra (flattens nested bools like Temporal's store does) -------------------


def _bool_parts(query: Query, allowed: set[str]) -> dict[str, list[Query]] | None:
    body = query.get("bool")
    if body is None or not set(body) <= allowed or not body:
        return None
    return body


def _and(*queries: Query) -> Query:
    filters: list[Query] = []
    must_not: list[Query] = []
    for query in queries:
        parts = _bool_parts(query, {"filter", "must_not"})
        if parts is None:
            filters.append(query)
        else:
            filters.extend(parts.get("filter", []))
            must_not.extend(parts.get("must_not", []))
    if len(filters) == 1 and not must_not:
        return filters[0]
    body: Query = {}
    if filters:
        body["filter"] = filters
    if must_not:
        body["must_not"] = must_not
    return {"bool": body}


def _or(*queries: Query) -> Query:
    should: list[Query] = []
    for query in queries:
        parts = _bool_parts(query, {"should", "minimum_should_match"})
        should.extend(parts["should"] if parts is not None else [query])
    return {"bool": {"should": should, "minimum_should_match": 1}}


def _not(query: Query) -> Query:
    parts = _bool_parts(query, {"should", "minimum_should_match"})
    if parts is not None:
        # not (a or b) == (not a) and (not b)
        return {"bool": {"must_not": parts["should"]}}
    return {"bool": {"must_not": [query]}}
