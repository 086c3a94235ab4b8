"""The indexer's batching rules without a broker: newest action per document, bulk outcomes."""

from __future__ import annotations

import threading
from typing import Any

from elastic_transport import ConnectionError as EsConnectionError
from elasticsearch import Elasticsearch

from schemas.visibility.template import index_name, mappings, settings, template_body
from tests.unit.visibility_indexer.test_documents import record
from visibility_indexer.bulk import bulk_once, bulk_until_done, newest_per_document
from visibility_indexer.documents import IndexAction, build_action
from visibility_indexer.indexer import IndexerConfig


def test_newest_action_per_document_wins_within_a_batch() -> None:
    actions = [
        build_action(record(version=2)),
        build_action(record(run_id="other", version=1)),
        build_action(record(version=5, status="Completed", close_time_ms=1_700_000_001_000)),
        build_action(record(version=4, deleted=True)),
    ]
    kept = newest_per_document(actions)
    assert [(a.doc_id, a.version) for a in kept] == [("wf-1~run-1", 5), ("wf-1~other", 1)]
    assert isinstance(kept[0], IndexAction) and not kept[0].is_delete


def test_config_defaults_follow_the_prefix() -> None:
    config = IndexerConfig(bootstrap="b:1", prefix="c1")
    assert config.topic_name == "c1.visibility"
    assert config.group_id == "c1.visibility-indexer"
    assert config.index_name == "c1-visibility" == index_name("c1")
    custom = IndexerConfig(bootstrap="b:1", topic="t", group="g", index="c1-visibility-x")
    assert (custom.topic_name, custom.group_id, custom.index_name) == ("t", "g", "c1-visibility-x")


def test_template_shape() -> None:
    body = template_body("c1")
    assert body["index_patterns"] == ["c1-visibility*"]
    props: dict[str, Any] = mappings()["properties"]
    assert mappings()["dynamic"] == "strict"
    expected = {
        "Namespace": "keyword",
        "NamespaceId": "keyword",
        "WorkflowId": "keyword",
        "RunId": "keyword",
        "WorkflowType": "keyword",
        "TaskQueue": "keyword",
        "ExecutionStatus": "keyword",
        "StartTime": "date_nanos",
        "ExecutionTime": "date_nanos",
        "CloseTime": "date_nanos",
        "ExecutionDuration": "long",
        "HistoryLength": "long",
        "Memo": "binary",
        "SearchAttributes": "binary",
        "TemporalNamespaceDivision": "keyword",
    }
    assert {name: props[name]["type"] for name in expected} == expected
    # The node Strom runs on lacks scaled_float and friends.
    assert {p["type"] for p in props.values()} <= {
        "keyword",
        "date_nanos",
        "long",
        "binary",
        "boolean",
        "double",
        "object",
    }
    # Custom attributes: dynamic fields under Custom.<Type>, typed by a template per type.
    assert props["Custom"]["dynamic"] is True
    templates = {
        rule["path_match"]: rule["mapping"]["type"]
        for entry in mappings()["dynamic_templates"]
        for rule in entry.values()
    }
    assert templates == {
        "Custom.Keyword.*": "keyword",
        "Custom.KeywordList.*": "keyword",
        "Custom.Text.*": "text",
        "Custom.Int.*": "long",
        "Custom.Double.*": "double",
        "Custom.Bool.*": "boolean",
        "Custom.Datetime.*": "date_nanos",
    }
    assert settings()["refresh_interval"] == "1s"


class FlakyBulk:
    """Fails whole requests first, then answers items with the given statuses in turn."""

    def __init__(self, failures: int, statuses: list[list[int]]) -> None:
        self.failures = failures
        self.statuses = statuses
        self.requests: list[list[dict[str, Any]]] = []

    def bulk(self, operations: list[dict[str, Any]]) -> dict[str, Any]:
        self.requests.append(operations)
        if self.failures:
            self.failures -= 1
            raise EsConnectionError("refused")
        statuses = self.statuses.pop(0)
        items = [{"index": {"status": s}} for s in statuses]
        return {"errors": any(s >= 300 for s in statuses), "items": items}


def actions(n: int) -> list[IndexAction]:
    return [build_action(record(run_id=f"r{i}")) for i in range(n)]


def test_bulk_outcomes_conflicts_are_done_overload_retried_rejects_handed_over() -> None:
    fake = FlakyBulk(0, [[201, 409, 429, 400, 503]])
    es: Elasticsearch = fake  # type: ignore[assignment]
    refused: list[tuple[str, int]] = []
    left = bulk_once(
        es, "idx", actions(5), lambda a, outcome: refused.append((a.doc_id, outcome["status"]))
    )
    assert [a.doc_id for a in left] == ["wf-1~r2", "wf-1~r4"]
    assert refused == [("wf-1~r3", 400)]


def test_bulk_until_done_retries_failed_requests_then_only_what_is_left() -> None:
    fake = FlakyBulk(2, [[200, 429], [201]])
    es: Elasticsearch = fake  # type: ignore[assignment]
    assert bulk_until_done(es, "idx", actions(2), threading.Event(), max_backoff=0.01)
    assert len(fake.requests) == 4
    assert fake.requests[-1][0]["index"]["_id"] == "wf-1~r1"  # only the overloaded one again


def test_bulk_until_done_gives_up_when_stopped() -> None:
    stop = threading.Event()
    fake = FlakyBulk(10**6, [])
    es: Elasticsearch = fake  # type: ignore[assignment]
    timer = threading.Timer(0.2, stop.set)
    timer.start()
    try:
        assert not bulk_until_done(es, "idx", actions(1), stop, max_backoff=0.05)
    finally:
        timer.join()
    assert len(fake.requests) >= 2
