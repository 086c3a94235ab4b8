"""List filter -> Elasticsearch query: translations, and Temporal's errors word for word."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from schemas.visibility.attributes import ValueType
from schemas.visibility.exceptions import InvalidQueryError
from schemas.visibility.query import DEFAULT_SORT, translate

NS: dict[str, Any] = {"term": {"Namespace": "default"}}
NO_DIVISION: dict[str, Any] = {"exists": {"field": "TemporalNamespaceDivision"}}


def where(query: str) -> dict[str, Any]:
    """The translated query minus the namespace scope and the division rule every query has."""
    body = translate(query, "default").query["bool"]
    assert body["filter"][0] == NS
    assert NO_DIVISION in body["must_not"]
    filters = body["filter"][1:]
    must_not = [q for q in body["must_not"] if q != NO_DIVISION]
    if len(filters) == 1 and not must_not:
        return filters[0]
    rest: dict[str, Any] = {}
    if filters:
        rest["filter"] = filters
    if must_not:
        rest["must_not"] = must_not
    return {"bool": rest}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("WorkflowId = 'wf'", {"term": {"WorkflowId": "wf"}}),
        ("WorkflowType != 'T'", {"bool": {"must_not": [{"term": {"WorkflowType": "T"}}]}}),
        ("TaskQueue > 'a'", {"range": {"TaskQueue": {"gt": "a"}}}),
        ("RunId <= 'r'", {"range": {"RunId": {"lte": "r"}}}),
        ("HistoryLength >= 10", {"range": {"HistoryLength": {"gte": 10}}}),
        ("HistoryLength < 1.5", {"range": {"HistoryLength": {"lt": 1.5}}}),
        ("WorkflowId IN ('a', \"b\")", {"terms": {"WorkflowId": ["a", "b"]}}),
        (
            "WorkflowId NOT IN ('a')",
            {"bool": {"must_not": [{"terms": {"WorkflowId": ["a"]}}]}},
        ),
        ("WorkflowId STARTS_WITH 'order-'", {"prefix": {"WorkflowId": "order-"}}),
        (
            "WorkflowId NOT STARTS_WITH 'x'",
            {"bool": {"must_not": [{"prefix": {"WorkflowId": "x"}}]}},
        ),
        ("CloseTime IS NULL", {"bool": {"must_not": [{"exists": {"field": "CloseTime"}}]}}),
        ("CloseTime IS NOT NULL", {"exists": {"field": "CloseTime"}}),
        (
            "StartTime BETWEEN '2021-01-01T00:00:00Z' AND '2021-01-02T00:00:00+01:00'",
            {
                "range": {
                    "StartTime": {"gte": "2021-01-01T00:00:00Z", "lte": "2021-01-01T23:00:00Z"}
                }
            },
        ),
        (
            "ExecutionTime NOT BETWEEN 1 AND 2",
            {
                "bool": {
                    "must_not": [
                        {
                            "range": {
                                "ExecutionTime": {
                                    "gte": "1970-01-01T00:00:00.000000001Z",
                                    "lte": "1970-01-01T00:00:00.000000002Z",
                                }
                            }
                        }
                    ]
                }
            },
        ),
        (
            "CloseTime < '2021-06-01T12:00:00.5-02:00'",
            {"range": {"CloseTime": {"lt": "2021-06-01T14:00:00.5Z"}}},
        ),
        ("ExecutionStatus = 'Running'", {"term": {"ExecutionStatus": "Running"}}),
        ("ExecutionStatus = 6", {"term": {"ExecutionStatus": "ContinuedAsNew"}}),
        (
            "ExecutionStatus = 'WORKFLOW_EXECUTION_STATUS_TIMED_OUT'",
            {"term": {"ExecutionStatus": "TimedOut"}},
        ),
        (
            "ExecutionStatus IN ('Failed', 5)",
            {"terms": {"ExecutionStatus": ["Failed", "Terminated"]}},
        ),
        ("ExecutionDuration > '1h'", {"range": {"ExecutionDuration": {"gt": 3600 * 10**9}}}),
        ("ExecutionDuration > '01:00:30'", {"range": {"ExecutionDuration": {"gt": 3630 * 10**9}}}),
        ("ExecutionDuration > '1.5d'", {"range": {"ExecutionDuration": {"gt": 36 * 3600 * 10**9}}}),
        ("ExecutionDuration = 42", {"term": {"ExecutionDuration": 42}}),
        ("ScheduleId = 's'", {"term": {"WorkflowId": "s"}}),
        ("TemporalWorkflowType = 'T'", {"term": {"WorkflowType": "T"}}),
        ("ChangeVersion = 'v'", {"term": {"TemporalChangeVersion": "v"}}),
        ("`WorkflowId` = 'a'", {"term": {"WorkflowId": "a"}}),
        ("WorkflowId = \"'quoted'\"", {"term": {"WorkflowId": "quoted"}}),
    ],
)
def test_comparisons(query: str, expected: dict[str, Any]) -> None:
    assert where(query) == expected


def test_and_or_not_parentheses_flatten() -> None:
    assert where("WorkflowId = 'a' AND (RunId = 'b' OR RunId = 'c' OR TaskQueue = 'q')") == {
        "bool": {
            "filter": [
                {"term": {"WorkflowId": "a"}},
                {
                    "bool": {
                        "should": [
                            {"term": {"RunId": "b"}},
                            {"term": {"RunId": "c"}},
                            {"term": {"TaskQueue": "q"}},
                        ],
                        "minimum_should_match": 1,
                    }
                },
            ]
        }
    }
    # not (a or b) == not a and not b
    assert where("NOT (WorkflowId = 'a' OR WorkflowId = 'b') AND CloseTime IS NULL") == {
        "bool": {
            "must_not": [
                {"term": {"WorkflowId": "a"}},
                {"term": {"WorkflowId": "b"}},
                {"exists": {"field": "CloseTime"}},
            ]
        }
    }


def test_top_level_or_is_nested_under_the_namespace_filter() -> None:
    query = translate("WorkflowId = 'a' OR WorkflowId = 'b'", "ns1").query
    assert query == {
        "bool": {
            "filter": [
                {"term": {"Namespace": "ns1"}},
                {
                    "bool": {
                        "should": [{"term": {"WorkflowId": "a"}}, {"term": {"WorkflowId": "b"}}],
                        "minimum_should_match": 1,
                    }
                },
            ],
            "must_not": [NO_DIVISION],
        }
    }


def test_empty_query_matches_the_whole_namespace_by_id() -> None:
    parsed = translate("", "ns1", namespace_id="id-1")
    assert parsed.query == {
        "bool": {"filter": [{"term": {"NamespaceId": "id-1"}}], "must_not": [NO_DIVISION]}
    }
    assert parsed.sort == DEFAULT_SORT
    assert parsed.group_by == ()


def test_naming_the_division_drops_the_default_division_rule() -> None:
    query = translate("TemporalNamespaceDivision = 'sys'", "ns").query
    assert query == {
        "bool": {
            "filter": [
                {"term": {"Namespace": "ns"}},
                {"term": {"TemporalNamespaceDivision": "sys"}},
            ]
        }
    }


def test_default_sort_is_open_runs_first_newest_first() -> None:
    assert translate("WorkflowId = 'a'", "ns").sort == (
        {"CloseTime": {"order": "desc", "missing": "_first"}},
        {"StartTime": {"order": "desc", "missing": "_first"}},
        {"RunId": {"order": "desc"}},
    )


def test_order_by_sorts_missing_last_with_run_id_tiebreaker() -> None:
    parsed = translate("ORDER BY StartTime", "ns")
    assert parsed.sort == (
        {"StartTime": {"order": "asc", "missing": "_last"}},
        {"RunId": {"order": "desc"}},
    )
    parsed = translate("WorkflowType = 'T' ORDER BY CloseTime DESC, WorkflowId ASC", "ns")
    assert parsed.sort == (
        {"CloseTime": {"order": "desc", "missing": "_last"}},
        {"WorkflowId": {"order": "asc", "missing": "_last"}},
        {"RunId": {"order": "desc"}},
    )


def test_group_by_execution_status() -> None:
    parsed = translate("WorkflowType = 'T' GROUP BY ExecutionStatus", "ns")
    assert parsed.group_by == ("ExecutionStatus",)


def test_custom_attributes_resolve_with_their_type() -> None:
    custom = {"CustomerId": ValueType.KEYWORD, "Amount": ValueType.DOUBLE}
    parsed = translate("CustomerId = 'c' AND Amount > 2", "ns", custom=custom)
    assert {"term": {"Custom.Keyword.CustomerId": "c"}} in parsed.query["bool"]["filter"]
    assert {"range": {"Custom.Double.Amount": {"gt": 2}}} in parsed.query["bool"]["filter"]
    with pytest.raises(InvalidQueryError, match="type Double"):
        translate("Amount = 'x'", "ns", custom=custom)


def test_custom_attributes_sort_even_before_any_document_has_them() -> None:
    parsed = translate("ORDER BY Amount DESC", "ns", custom={"Amount": ValueType.DOUBLE})
    assert parsed.sort[0] == {
        "Custom.Double.Amount": {"order": "desc", "missing": "_last", "unmapped_type": "double"}
    }


def test_custom_text_attributes_match_and_names_are_escaped() -> None:
    custom = {"a.b c": ValueType.TEXT}
    parsed = translate("`a.b c` = 'hello'", "ns", custom=custom)
    assert {"match": {"Custom.Text.a%2Eb%20c": "hello"}} in parsed.query["bool"]["filter"]


# The dev server's answers (Temporal Server 1.32), after "invalid query: ".
ERRORS = [
    ("Foo = 1", "invalid search attribute: Foo"),
    ("workflowid = 'a'", "invalid search attribute: workflowid"),
    ("Foo IS NULL", "invalid search attribute: Foo"),
    ("ORDER BY Foo", "invalid search attribute: Foo"),
    (
        "WorkflowId = 1",
        "invalid expression: invalid value type for search attribute WorkflowId of type "
        "Keyword: 1 (type: int64)",
    ),
    (
        "WorkflowId = abc",
        "operation is not supported: column name on the right side of comparison expression "
        '(did you forget to quote "abc"?)',
    ),
    ('StartTime > "2021-01-01"', "invalid expression: unable to parse datetime '2021-01-01'"),
    (
        "StartTime > '2021-01-01 00:00:00'",
        "invalid expression: unable to parse datetime '2021-01-01 00:00:00'",
    ),
    ('ExecutionStatus = "Bogus"', "invalid expression: invalid ExecutionStatus value 'Bogus'"),
    ("ExecutionStatus = 'running'", "invalid expression: invalid ExecutionStatus value 'running'"),
    ("ExecutionStatus = 99", "invalid expression: invalid ExecutionStatus value 99"),
    (
        "ExecutionStatus STARTS_WITH 'Run'",
        "invalid expression: invalid ExecutionStatus value 'Run'",
    ),
    (
        "ExecutionStatus = 2.5",
        "invalid expression: unexpected value type float64 for search attribute ExecutionStatus",
    ),
    (
        "ExecutionStatus = true",
        "invalid expression: invalid value type for search attribute ExecutionStatus of type "
        "Keyword: true (type: bool)",
    ),
    (
        "WorkflowId STARTS_WITH 1",
        "invalid expression: invalid value type for search attribute WorkflowId of type "
        "Keyword: 1 (type: int64)",
    ),
    ('StartTime STARTS_WITH "a"', "invalid expression: unable to parse datetime 'a'"),
    (
        'WorkflowId like "a%"',
        "operation is not supported: operator 'LIKE' not supported for Keyword type search "
        "attribute 'WorkflowId'",
    ),
    ('WorkflowId = "a" LIMIT 10', "operation is not supported: 'LIMIT' clause"),
    (
        "WorkflowId = 'a' ORDER BY StartTime LIMIT 5",
        "operation is not supported: 'LIMIT' clause",
    ),
    (
        'HistoryLength BETWEEN 1 AND "b"',
        "invalid expression: invalid value type for search attribute HistoryLength of type "
        'Int: "b" (type: string)',
    ),
    (
        "HistoryLength IN (1, 'a')",
        "invalid expression: invalid value type for search attribute HistoryLength of type "
        'Int: "a" (type: string)',
    ),
    (
        "HistoryLength = true",
        "invalid expression: invalid value type for search attribute HistoryLength of type "
        "Int: true (type: bool)",
    ),
    ("WorkflowId", "invalid expression: incomplete expression"),
    (
        'WorkflowType IN ("a", 1)',
        "invalid expression: invalid value type for search attribute WorkflowType of type "
        "Keyword: 1 (type: int64)",
    ),
    (
        "WorkflowId = -5",
        "invalid expression: invalid value type for search attribute WorkflowId of type "
        "Keyword: -5 (type: int64)",
    ),
    (
        'ExecutionDuration > "bogus"',
        "invalid expression: invalid duration value for search attribute ExecutionDuration: bogus",
    ),
    (
        "ExecutionDuration > 1.5",
        "invalid expression: unexpected value type float64 for search attribute ExecutionDuration",
    ),
    (
        "ExecutionDuration > true",
        "invalid expression: invalid value type for search attribute ExecutionDuration of type "
        "Int: true (type: bool)",
    ),
    (
        "StartTime > 1.5",
        "invalid expression: invalid value type for search attribute StartTime of type "
        "Datetime: 1.5 (type: float64)",
    ),
    (
        "CloseTime = missing",
        "operation is not supported: column name on the right side of comparison expression "
        '(did you forget to quote "missing"?)',
    ),
    (
        "WorkflowId IS TRUE",
        "invalid expression: 'IS' operator can only be used as 'IS NULL' or 'IS NOT NULL'",
    ),
    (
        "WorkflowId + 1 = 2",
        "invalid expression: must be a column name but was *sqlparser.BinaryExpr",
    ),
    ("1 = 1", "invalid expression: must be a column name but was *sqlparser.SQLVal"),
    (
        "WorkflowId = RunId",
        "operation is not supported: column name on the right side of comparison expression "
        '(did you forget to quote "RunId"?)',
    ),
    ("WorkflowId = lower('a')", "operation is not supported: nested func"),
    ("ExecutionTime = NULL", "invalid expression: unexpected value type *sqlparser.NullVal"),
    (
        "TemporalChangeVersion STARTS_WITH 'x'",
        "operation is not supported: operator 'STARTS_WITH' not supported for KeywordList type "
        "search attribute 'TemporalChangeVersion'",
    ),
    (
        "TemporalChangeVersion > 'x'",
        "operation is not supported: operator '>' not supported for KeywordList type search "
        "attribute 'TemporalChangeVersion'",
    ),
    (
        "TemporalChangeVersion BETWEEN 'x' AND 'y'",
        "invalid expression: cannot do range condition on search attribute "
        "'TemporalChangeVersion' of type KeywordList",
    ),
    (
        "WorkflowId = 'a' GROUP BY WorkflowId",
        "operation is not supported: 'GROUP BY' clause is not supported for search attribute "
        "WorkflowId",
    ),
    (
        "GROUP BY ExecutionStatus, WorkflowType",
        "operation is not supported: 'GROUP BY' clause supports only a single field",
    ),
]


@pytest.mark.parametrize(("query", "message"), ERRORS)
def test_errors_match_temporal(query: str, message: str) -> None:
    with pytest.raises(InvalidQueryError) as caught:
        translate(query, "default")
    assert str(caught.value) == f"invalid query: {message}"


@pytest.mark.parametrize(
    "query",
    [
        "StartTime = '2021-01-01T00:00:00Z' AND CloseTime IS NULL OR "
        "(WorkflowType IN ('x') AND NOT TaskQueue STARTS_WITH 'q')",
        "RunId BETWEEN 'a' AND 'b' AND WorkflowId = 'x'",
        "ExecutionStatus BETWEEN 1 AND 3",
        "ExecutionStatus > 'Running'",
        "StartTime > 1600000000000000000",
        "HistoryLength IS NOT NULL",
        "StartTime IN ('2021-01-01T00:00:00Z')",
        "TemporalChangeVersion = 'x'",
        "WorkflowId = 'a';",
        "ExecutionStatus = 'Unspecified'",
        "ExecutionStatus = 0",
    ],
)
def test_queries_the_dev_server_accepts(query: str) -> None:
    translated = json.dumps(translate(query, "default").query)
    assert '{"term": {"Namespace": "default"}}' in translated
    for attribute in set(re.findall(r"\b[A-Z][A-Za-z]+\b", query)) - _KEYWORDS:
        assert f'"{attribute}"' in translated, attribute


_KEYWORDS = {"AND", "OR", "NOT", "IN", "BETWEEN", "IS", "NULL", "STARTS_WITH"}
