"""Custom search attributes in a real Elasticsearch: typed fields, queries, sorting, upgrades."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from temporalio.api.common.v1 import Payload, SearchAttributes

from helpers import unique_name
from schemas.visibility import template
from schemas.visibility.attributes import ValueType
from schemas.visibility.search import VisibilityReader
from schemas.visibility.template import ensure_template, index_name, template_name
from tests.unit.visibility_indexer.test_documents import record
from visibility_indexer.bulk import bulk_until_done
from visibility_indexer.documents import build_action

pytestmark = [pytest.mark.es, pytest.mark.timeout(120)]

CUSTOM = {
    "Customer": ValueType.KEYWORD,
    "Amount": ValueType.DOUBLE,
    "Count": ValueType.INT,
    "Tags": ValueType.KEYWORD_LIST,
    "Note": ValueType.TEXT,
    "Paid": ValueType.BOOL,
    "Due": ValueType.DATETIME,
    "a.b c": ValueType.KEYWORD,
}


@pytest.fixture(scope="module")
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=30)
    yield client
    client.close()


@pytest.fixture
def prefix(es: Elasticsearch) -> Iterator[str]:
    name = unique_name("vis")
    yield name
    es.indices.delete(index=index_name(name), ignore_unavailable=True)
    es.options(ignore_status=404).indices.delete_index_template(name=template_name(name))


def typed(value: Any, value_type: ValueType) -> Payload:
    return Payload(
        metadata={"encoding": b"json/plain", "type": value_type.value.encode()},
        data=json.dumps(value).encode(),
    )


def run(n: int, **attributes: Any) -> dict[str, Any]:
    fields = SearchAttributes(
        indexed_fields={name: typed(value, CUSTOM[name]) for name, value in attributes.items()}
    )
    return record(
        workflow_id=f"wf-{n}",
        run_id=f"run-{n}",
        start_time_ms=1_700_000_000_000 + n,
        execution_time_ms=1_700_000_000_000 + n,
        search_attributes=fields.SerializeToString(),
    )


def put(es: Elasticsearch, index: str, *records: dict[str, Any]) -> None:
    actions = [build_action(r) for r in records]
    assert bulk_until_done(es, index, actions, threading.Event(), max_backoff=0.2)
    es.indices.refresh(index=index)


def ids(reader: VisibilityReader, query: str) -> list[str]:
    return sorted(e.execution.workflow_id for e in reader.list("default", query).executions)


def test_custom_attributes_are_indexed_typed_and_queryable(es: Elasticsearch, prefix: str) -> None:
    index = ensure_template(es, prefix)
    put(
        es,
        index,
        run(1, Customer="c-1", Amount=10.5, Count=1, Tags=["a", "b"], Note="big red box",
            Paid=True, Due="2024-01-01T00:00:00Z", **{"a.b c": "dotted"}),
        run(2, Customer="c-2", Amount=2, Count=[5], Tags=["b"], Note="small box", Paid=False),
        run(3),
    )  # fmt: skip
    reader = VisibilityReader(es, index, custom_attributes=lambda namespace: CUSTOM)
    assert ids(reader, "Customer = 'c-1'") == ["wf-1"]
    assert ids(reader, "Amount > 3") == ["wf-1"]
    assert ids(reader, "Count BETWEEN 2 AND 9") == ["wf-2"]
    assert ids(reader, "Tags = 'b'") == ["wf-1", "wf-2"]
    assert ids(reader, "Tags IN ('a')") == ["wf-1"]
    assert ids(reader, "Note = 'box'") == ["wf-1", "wf-2"]  # Text matches words
    assert ids(reader, "Paid = false") == ["wf-2"]
    assert ids(reader, "Due >= '2023-12-31T00:00:00Z'") == ["wf-1"]
    assert ids(reader, "`a.b c` = 'dotted'") == ["wf-1"]
    assert ids(reader, "Customer IS NULL") == ["wf-3"]
    assert reader.count("default", "Tags = 'b'").count == 2
    ordered = reader.list("default", "Customer IS NOT NULL ORDER BY Amount")
    assert [e.execution.workflow_id for e in ordered.executions] == ["wf-2", "wf-1"]
    mapping = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]["Custom"]
    assert mapping["properties"]["Double"]["properties"]["Amount"]["type"] == "double"
    assert mapping["properties"]["Datetime"]["properties"]["Due"]["type"] == "date_nanos"


def test_sorting_by_an_attribute_no_document_has_yet(es: Elasticsearch, prefix: str) -> None:
    index = ensure_template(es, prefix)
    put(es, index, run(1))
    reader = VisibilityReader(es, index, custom_attributes=lambda namespace: CUSTOM)
    listed = reader.list("default", "ORDER BY Count DESC")
    assert [e.execution.workflow_id for e in listed.executions] == ["wf-1"]


def test_an_index_of_the_previous_template_gets_the_custom_mappings(
    es: Elasticsearch, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An index made by template version 1, which had no custom attributes.
    old = template.mappings()
    del old["dynamic_templates"]
    del old["properties"]["Custom"]
    monkeypatch.setattr(template, "TEMPLATE_VERSION", 1)
    monkeypatch.setattr(template, "mappings", lambda: old)
    index = ensure_template(es, prefix)
    monkeypatch.undo()

    assert ensure_template(es, prefix) == index
    put(es, index, run(1, Customer="c-1"))
    reader = VisibilityReader(es, index, custom_attributes=lambda namespace: CUSTOM)
    assert ids(reader, "Customer = 'c-1'") == ["wf-1"]
