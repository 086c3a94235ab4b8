"""The filter of ListArchivedWorkflowExecutions, evaluated on archived records in memory; pure.

Archived records are read back from files, not Elasticsearch, so the filter is a predicate on
``WorkflowExecutionInfo``. Like Temporal's file-store archiver it knows a few fields:
``WorkflowId``, ``RunId``, ``WorkflowType`` (``=``, ``!=``), ``ExecutionStatus`` (``=``, ``!=``,
names or numbers), ``StartTime`` and ``CloseTime`` (comparisons and ``BETWEEN``, RFC 3339), with
``AND``, ``OR``, ``NOT`` and parentheses. Anything else is INVALID_ARGUMENT.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from temporalio.api.workflow.v1 import WorkflowExecutionInfo

from schemas.visibility import sqlparse as sql
from schemas.visibility.attributes import status_value
from schemas.visibility.exceptions import InvalidQueryError
from schemas.visibility.timefmt import parse_rfc3339

Predicate = Callable[[WorkflowExecutionInfo], bool]

_COMPARE: dict[str, Callable[[object, object], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,  # type: ignore[dict-item]
    "<=": operator.le,  # type: ignore[dict-item]
    ">": operator.gt,  # type: ignore[dict-item]
    ">=": operator.ge,  # type: ignore[dict-item]
}
_KEYWORDS: dict[str, Callable[[WorkflowExecutionInfo], str]] = {
    "WorkflowId": lambda info: info.execution.workflow_id,
    "RunId": lambda info: info.execution.run_id,
    "WorkflowType": lambda info: info.type.name,
}
_TIMES: dict[str, Callable[[WorkflowExecutionInfo], int]] = {
    "StartTime": lambda info: info.start_time.ToNanoseconds(),
    "CloseTime": lambda info: info.close_time.ToNanoseconds(),
}


def compile_filter(query: str) -> Predicate:
    """The predicate of an archived-list filter; an empty filter matches every record.

    Raises:
        InvalidQueryError: A syntax error, or a field or operator the archive cannot filter by.
    """
    statement = sql.parse(query)
    if statement.order_by or statement.group_by or statement.has_limit:
        raise InvalidQueryError(
            "ORDER BY, GROUP BY and LIMIT are not supported on archived workflows"
        )
    if statement.where is None:
        return lambda _info: True
    return _node(statement.where)


def _node(node: sql.Node) -> Predicate:
    match node:
        case sql.ParenExpr():
            return _node(node.expr)
        case sql.NotExpr():
            inner = _node(node.expr)
            return lambda info: not inner(info)
        case sql.AndExpr():
            left, right = _node(node.left), _node(node.right)
            return lambda info: left(info) and right(info)
        case sql.OrExpr():
            left, right = _node(node.left), _node(node.right)
            return lambda info: left(info) or right(info)
        case sql.ComparisonExpr():
            return _comparison(node)
        case sql.RangeCond():
            return _between(node)
    raise InvalidQueryError(f"unsupported expression in an archived-workflows filter: {node}")


def _column(node: sql.Node) -> str:
    if not isinstance(node, sql.ColName):
        raise InvalidQueryError("the left side of a comparison must be a field name")
    return node.name


def _string(node: sql.Node) -> str:
    if not isinstance(node, sql.SQLVal):
        raise InvalidQueryError("a comparison needs a literal value on its right side")
    return node.text


def _time(node: sql.Node) -> int:
    text = _string(node)
    try:
        return int(text) if text.isdigit() else parse_rfc3339(text)
    except ValueError:
        raise InvalidQueryError(f"{text!r} is not an RFC 3339 time") from None


def _comparison(node: sql.ComparisonExpr) -> Predicate:
    field = _column(node.left)
    compare = _COMPARE.get(node.operator)
    if compare is None:
        raise InvalidQueryError(
            f"operator {node.operator!r} is not supported on archived workflows"
        )
    if field in _KEYWORDS:
        if node.operator not in ("=", "!="):
            raise InvalidQueryError(f"{field} supports only = and != on archived workflows")
        get, value = _KEYWORDS[field], _string(node.right)
        return lambda info: compare(get(info), value)
    if field == "ExecutionStatus":
        if node.operator not in ("=", "!="):
            raise InvalidQueryError("ExecutionStatus supports only = and != on archived workflows")
        text = _string(node.right)
        try:
            status = int(text) if text.isdigit() else status_value(text)
        except ValueError:
            raise InvalidQueryError(f"invalid ExecutionStatus value {text!r}") from None
        return lambda info: compare(int(info.status), status)
    if field in _TIMES:
        get_time, when = _TIMES[field], _time(node.right)
        return lambda info: compare(get_time(info), when)
    raise InvalidQueryError(f"{field} cannot be filtered on archived workflows")


def _between(node: sql.RangeCond) -> Predicate:
    field = _column(node.left)
    if field not in _TIMES:
        raise InvalidQueryError(f"BETWEEN is supported on StartTime and CloseTime, not {field}")
    get_time, low, high = _TIMES[field], _time(node.low), _time(node.high)
    inside: Predicate = lambda info: low <= get_time(info) <= high  # noqa: E731
    if node.operator == "not between":
        return lambda info: not inside(info)
    return inside
