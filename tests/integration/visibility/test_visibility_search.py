"""Versioned indexing and list/count queries against a real Elasticsearch node."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import BadRequestError, Elasticsearch
from temporalio.api.enums.v1 import WorkflowExecutionStatus

from helpers import unique_name
from schemas.visibility.exceptions import InvalidQueryError
from schemas.visibility.search import VisibilityReader
from schemas.visibility.template import ensure_template, template_name
from tests.unit.visibility_indexer.test_documents import record
from visibility_indexer.bulk import bulk_once, bulk_until_done
from visibility_indexer.documents import build_action

pytestmark = [pytest.mark.es, pytest.mark.timeout(120)]

MINUTE_MS = 60_000
T0 = 1_700_000_000_000


@pytest.fixture(scope="module")
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=30)
    yield client
    client.close()


@pytest.fixture
def index(es: Elasticsearch) -> Iterator[str]:
    prefix = unique_name("vis")
    name = ensure_template(es, prefix)
    yield name
    es.indices.delete(index=name, ignore_unavailable=True)
    es.indices.delete_index_template(name=template_name(prefix))


def put(es: Elasticsearch, index: str, *records: dict[str, Any]) -> None:
    actions = [build_action(r) for r in records]
    assert bulk_until_done(es, index, actions, threading.Event(), max_backoff=0.2)
    es.indices.refresh(index=index)


def run(n: int, **changes: Any) -> dict[str, Any]:
    """Run n of a small fleet: started n minutes after T0."""
    fields: dict[str, Any] = {
        "workflow_id": f"wf-{n}",
        "run_id": f"run-{n:02d}",
        "start_time_ms": T0 + n * MINUTE_MS,
        "execution_time_ms": T0 + n * MINUTE_MS,
    }
    fields.update(changes)
    return record(**fields)


def closed(n: int, status: str, minutes: int, **changes: Any) -> dict[str, Any]:
    start = T0 + n * MINUTE_MS
    return run(
        n,
        status=status,
        close_time_ms=start + minutes * MINUTE_MS,
        execution_duration_ms=minutes * MINUTE_MS,
        **changes,
    )


def test_template_is_idempotent_and_strict(es: Elasticsearch, index: str) -> None:
    prefix = index.removesuffix("-visibility")
    assert ensure_template(es, prefix) == index
    with pytest.raises(BadRequestError, match="strict_dynamic_mapping_exception"):
        es.index(index=index, id="x", document={"Unknown": 1})


def test_out_of_order_versions_newest_wins(es: Elasticsearch, index: str) -> None:
    newest = closed(1, "Completed", 5, version=3, history_length=11)
    put(es, index, newest)
    put(es, index, run(1, version=1), run(1, version=2, history_length=5))
    # Replaying the stored version is a conflict the indexer counts as done.
    assert bulk_once(es, index, [build_action(newest)]) == []

    doc = es.get(index=index, id="wf-1~run-01")
    assert doc["_version"] == 3
    assert doc["_source"]["ExecutionStatus"] == "Completed"
    assert doc["_source"]["HistoryLength"] == 11

    put(es, index, run(1, version=2, deleted=True))  # a stale delete changes nothing
    assert es.exists(index=index, id="wf-1~run-01")
    put(es, index, run(1, version=4, deleted=True))
    assert not es.exists(index=index, id="wf-1~run-01")
    put(es, index, newest)  # an older state arriving after the delete stays deleted
    assert not es.exists(index=index, id="wf-1~run-01")


@pytest.fixture
def fleet(es: Elasticsearch, index: str) -> VisibilityReader:
    """Eight runs of namespace default (three open), one run of namespace other."""
    put(
        es,
        index,
        run(0, workflow_type="Order"),
        run(1, workflow_type="Order", task_queue="orders"),
        run(2, workflow_type="Payment"),
        closed(3, "Completed", 1, workflow_type="Order", history_length=9),
        closed(4, "Failed", 30, workflow_type="Payment"),
        closed(5, "Completed", 90, workflow_type="Payment"),
        closed(6, "Terminated", 2, workflow_type="Order", workflow_id="order-6"),
        closed(7, "TimedOut", 3, workflow_type="Order", workflow_id="order-7"),
        run(8, namespace="other", namespace_id="other-id"),
    )
    return VisibilityReader(es, index)


def ids(response: Any) -> list[str]:
    return [e.execution.run_id.removeprefix("run-") for e in response.executions]


def test_default_order_is_open_runs_then_latest_closed(fleet: VisibilityReader) -> None:
    # Open runs by start time, newest first; then closed runs by close time, newest first:
    # close times are 3+1=4, 4+30=34, 5+90=95, 6+2=8, 7+3=10 minutes after T0.
    assert ids(fleet.list("default", "")) == ["02", "01", "00", "05", "04", "07", "06", "03"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("WorkflowType = 'Payment'", ["02", "05", "04"]),
        ("WorkflowType = 'Payment' AND ExecutionStatus != 'Running'", ["05", "04"]),
        ("ExecutionStatus = 'Completed' OR ExecutionStatus = 3", ["05", "04", "03"]),
        ("ExecutionStatus IN ('Terminated', 'TimedOut')", ["07", "06"]),
        ("ExecutionStatus NOT IN ('Running', 'Completed')", ["04", "07", "06"]),
        ("WorkflowId STARTS_WITH 'order-'", ["07", "06"]),
        ("CloseTime IS NULL", ["02", "01", "00"]),
        ("CloseTime IS NOT NULL AND WorkflowType = 'Order'", ["07", "06", "03"]),
        ("TaskQueue = 'orders'", ["01"]),
        ("HistoryLength > 5", ["03"]),
        ("ExecutionDuration >= '30m'", ["05", "04"]),
        ("ExecutionDuration < '00:02:30'", ["06", "03"]),
        ("StartTime >= '2023-11-14T22:18:20Z'", ["05", "07", "06"]),  # T0 + 5 min
        ("StartTime BETWEEN '2023-11-14T22:15:20Z' AND '2023-11-14T22:16:20Z'", ["02", "03"]),
        ("CloseTime < '2023-11-14T22:22:20.001Z'", ["06", "03"]),  # T0 + 9 min
        ("NOT (WorkflowType = 'Order' OR ExecutionStatus = 'Running')", ["05", "04"]),
        (
            "(WorkflowType = 'Order' AND CloseTime IS NULL) OR ExecutionStatus = 'Failed'",
            ["01", "00", "04"],
        ),
        ("WorkflowId = 'wf-8'", []),  # another namespace's run
    ],
)
def test_filters(fleet: VisibilityReader, query: str, expected: list[str]) -> None:
    assert ids(fleet.list("default", query)) == expected


def test_order_by(fleet: VisibilityReader) -> None:
    assert ids(fleet.list("default", "ORDER BY StartTime")) == [f"{n:02d}" for n in range(8)]
    response = fleet.list("default", "WorkflowType = 'Order' ORDER BY CloseTime DESC")
    assert ids(response) == ["07", "06", "03", "01", "00"]  # open runs (no CloseTime) last
    response = fleet.list("default", "ORDER BY ExecutionStatus, StartTime DESC")
    assert ids(response) == ["05", "03", "04", "02", "01", "00", "06", "07"]


@pytest.mark.parametrize("query", ["", "ORDER BY StartTime DESC", "ORDER BY CloseTime"])
def test_paging_walks_every_run_once_in_order(fleet: VisibilityReader, query: str) -> None:
    everything = ids(fleet.list("default", query))
    pages, token = [], b""
    while True:
        response = fleet.list("default", query, page_size=3, next_page_token=token)
        pages.append(ids(response))
        token = response.next_page_token
        if not token:
            break
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [i for page in pages for i in page] == everything


def test_executions_carry_what_was_indexed(fleet: VisibilityReader) -> None:
    (info,) = fleet.list("default", "RunId = 'run-04'").executions
    assert info.execution.workflow_id == "wf-4"
    assert info.type.name == "Payment"
    assert info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED
    assert info.start_time.ToMilliseconds() == T0 + 4 * MINUTE_MS
    assert info.close_time.ToMilliseconds() == T0 + 34 * MINUTE_MS
    assert info.execution_duration.ToSeconds() == 30 * 60
    assert info.task_queue == "q"


def test_namespace_scope_by_name_or_id(fleet: VisibilityReader) -> None:
    assert ids(fleet.list("other", "")) == ["08"]
    assert ids(fleet.list("x", "", namespace_id="other-id")) == ["08"]
    assert ids(fleet.list("nobody", "")) == []


def test_count_and_group_by(fleet: VisibilityReader) -> None:
    assert fleet.count("default", "").count == 8
    assert fleet.count("default", "WorkflowType = 'Order'").count == 5
    grouped = fleet.count("default", "GROUP BY ExecutionStatus")
    assert grouped.count == 8
    groups = {g.group_values[0].data.decode(): g.count for g in grouped.groups}
    assert groups == {
        '"Running"': 3,
        '"Completed"': 2,
        '"Failed"': 1,
        '"Terminated"': 1,
        '"TimedOut"': 1,
    }
    assert grouped.groups[0].group_values[0].metadata["type"] == b"Keyword"


async def test_async_variants(fleet: VisibilityReader) -> None:
    response = await fleet.list_async("default", "WorkflowType = 'Payment'", page_size=2)
    assert ids(response) == ["02", "05"] and response.next_page_token
    assert (await fleet.count_async("default", "CloseTime IS NULL")).count == 3


def test_bad_queries_raise_invalid_query(fleet: VisibilityReader) -> None:
    with pytest.raises(InvalidQueryError, match="invalid search attribute: Foo"):
        fleet.list("default", "Foo = 'x'")
    with pytest.raises(InvalidQueryError):
        fleet.count("default", "WorkflowId =")


def test_missing_index_reads_as_empty(es: Elasticsearch) -> None:
    reader = VisibilityReader(es, unique_name("vis-missing"))
    assert len(reader.list("default", "").executions) == 0
    assert reader.count("default", "").count == 0
