"""Temporal's rules for search attributes a workflow sets, with the dev server's messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload, SearchAttributes

from schemas.visibility import validator
from schemas.visibility.attributes import ValueType
from schemas.visibility.validator import SearchAttributeError

CUSTOM = {
    "CustKw": ValueType.KEYWORD,
    "CustInt": ValueType.INT,
    "CustDbl": ValueType.DOUBLE,
    "CustBool": ValueType.BOOL,
    "CustDt": ValueType.DATETIME,
    "CustText": ValueType.TEXT,
    "CustList": ValueType.KEYWORD_LIST,
}


def payload(value: Any, type_name: str = "") -> Payload:
    p = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())
    if type_name:
        p.metadata["type"] = type_name.encode()
    return p


def attrs(**fields: Payload) -> SearchAttributes:
    return SearchAttributes(indexed_fields=fields)


def check(**fields: Payload) -> None:
    validator.validate(attrs(**fields), "default", CUSTOM)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        # The dev server's answers (Temporal Server 1.32).
        (
            {"NoSuchAttr": payload("v1")},
            "Namespace default has no mapping defined for search attribute NoSuchAttr",
        ),
        (
            {"CustInt": payload(["notanint"])},
            "invalid value for search attribute CustInt of type Int: [notanint]",
        ),
        (
            {"CustKw": payload(["a", "b"])},
            "invalid value for search attribute CustKw of type Keyword: [a b]",
        ),
        ({"WorkflowId": payload(["x"])}, "WorkflowId attribute can't be set in SearchAttributes"),
        (
            {"TemporalWorkerDeployment": payload(["x"])},
            "TemporalWorkerDeployment attribute can't be set in SearchAttributes",
        ),
        ({"CustInt": payload(1.5)}, "invalid value for search attribute CustInt of type Int: 1.5"),
        (
            {"CustBool": payload("true")},
            "invalid value for search attribute CustBool of type Bool: true",
        ),
        (
            {"CustList": payload("x")},
            "invalid value for search attribute CustList of type KeywordList: x",
        ),
        (
            {"CustDt": payload("2020-01-01")},
            "invalid value for search attribute CustDt of type Datetime: 2020-01-01",
        ),
        (
            {"CustDbl": payload({"b": 2, "a": [1e21, True]})},
            "invalid value for search attribute CustDbl of type Double: map[a:[1e+21 true] b:2]",
        ),
    ],
)
def test_rejects_what_temporal_rejects(fields: dict[str, Payload], message: str) -> None:
    with pytest.raises(SearchAttributeError) as err:
        check(**fields)
    assert str(err.value) == message


def test_accepts_every_type_in_its_forms() -> None:
    check(
        CustKw=payload("k"),
        CustText=payload(["one text"]),
        CustInt=payload([5]),
        CustDbl=payload(4),
        CustBool=payload(False),
        CustDt=payload("2003-04-05T06:07:08+09:00"),
        CustList=payload(["a", "b"]),
        TemporalChangeVersion=payload(["my-change"]),
        BuildIds=payload(["unversioned"]),
    )
    # Unsetting values: null, an empty list, binary/null.
    check(
        CustInt=payload(None),
        CustKw=payload([]),
        CustDbl=Payload(metadata={"encoding": b"binary/null"}),
    )


def test_a_payload_that_is_no_json_is_shown_as_temporal_shows_it() -> None:
    raw = Payload(metadata={"encoding": b"binary/plain"}, data=b"raw")
    with pytest.raises(
        SearchAttributeError, match=r"of type Keyword: value from <.*binary/plain.*>"
    ):
        check(CustKw=raw)
    # A number beyond float64 is no value for Go's decoder either.
    huge = Payload(metadata={"encoding": b"json/plain"}, data=b"1" * 400)
    with pytest.raises(SearchAttributeError, match=r"of type Int: value from <"):
        check(CustInt=huge)


def test_too_many_keys_are_counted_after_names() -> None:
    many = {name: ValueType.KEYWORD for name in (f"K{i}" for i in range(101))}
    fields = {name: payload("v") for name in many}
    with pytest.raises(
        SearchAttributeError, match="number of search attributes 101 exceeds limit 100"
    ):
        validator.validate(attrs(**fields), "default", many)


def test_sizes() -> None:
    with pytest.raises(SearchAttributeError) as err:
        validator.validate_size(attrs(CustKw=payload("x" * 3000)))
    assert str(err.value) == "search attribute CustKw value size 3002 exceeds size limit 2048"
    total = attrs(**{f"K{i}": payload("x" * 2000) for i in range(25)})
    with pytest.raises(
        SearchAttributeError, match=r"total size of search attributes \d+ exceeds size limit 40960"
    ):
        validator.validate_size(total)
    validator.validate_size(attrs(CustKw=payload("x" * 2000)))


def test_annotate_sets_the_registered_type_and_may_drop_unset_values() -> None:
    given = attrs(
        CustInt=payload([5]),
        CustKw=payload("k", "Text"),  # a wrong type is replaced by the registered one
        CustList=payload([]),
        TemporalChangeVersion=payload(["c"]),
    )
    annotated = validator.annotate(given, CUSTOM, drop_nil=True)
    assert {name: p.metadata["type"] for name, p in annotated.indexed_fields.items()} == {
        "CustInt": b"Int",
        "CustKw": b"Keyword",
        "TemporalChangeVersion": b"KeywordList",
    }
    assert annotated.indexed_fields["CustInt"].data == b"[5]"
    kept = validator.annotate(given, CUSTOM, drop_nil=False)
    assert kept.indexed_fields["CustList"].metadata["type"] == b"KeywordList"
    assert "type" not in given.indexed_fields["CustInt"].metadata  # the input is left alone


def test_merge_removes_unset_values() -> None:
    current = attrs(CustKw=payload("a"), CustInt=payload(1))
    merged = validator.merge(current, attrs(CustKw=payload(None), CustDbl=payload(2.5)))
    assert set(merged.indexed_fields) == {"CustInt", "CustDbl"}
    assert set(current.indexed_fields) == {"CustKw", "CustInt"}
