"""The reader's own logic without Elasticsearch: page sizes, page tokens, error mapping."""

from __future__ import annotations

from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elastic_transport import ConnectionError as EsConnectionError
from elasticsearch import ApiError, Elasticsearch

from schemas.visibility.exceptions import (
    InvalidQueryError,
    VisibilityOverloadedError,
    VisibilityUnavailableError,
)
from schemas.visibility.search import VisibilityReader
from tests.unit.visibility_indexer.test_documents import record
from visibility_indexer.documents import build_action


class FakeSearch:
    """Answers `search` from a list of hits, honouring `size` and recording each call."""

    def __init__(self, hits: list[dict[str, Any]] | Exception) -> None:
        self.hits = hits
        self.calls: list[dict[str, Any]] = []

    def search(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if isinstance(self.hits, Exception):
            raise self.hits
        return {"hits": {"hits": self.hits[: kwargs["size"]]}}


def hit(n: int) -> dict[str, Any]:
    doc = build_action(record(workflow_id=f"wf-{n}", run_id=f"run-{n}")).document
    return {"_source": doc, "sort": [n, n, f"run-{n}"]}


def reader(fake: FakeSearch, **kwargs: Any) -> VisibilityReader:
    es: Elasticsearch = fake  # type: ignore[assignment]
    return VisibilityReader(es, "idx", **kwargs)


def api_error(status: int, error_type: str, reason: str = "why") -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.01, NodeConfig("http", "h", 1))
    body = {"error": {"root_cause": [{"type": error_type, "reason": reason}], "type": error_type}}
    return ApiError(error_type, meta, body)


def test_full_page_gets_a_token_and_the_last_page_none() -> None:
    fake = FakeSearch([hit(n) for n in range(3)])
    page = reader(fake).list("default", "", page_size=2)
    assert [e.execution.workflow_id for e in page.executions] == ["wf-0", "wf-1"]
    assert fake.calls[0]["size"] == 3  # one extra hit tells whether more exist
    assert fake.calls[0]["search_after"] is None
    assert page.next_page_token

    fake.hits = [hit(2)]
    last = reader(fake).list("default", "", page_size=2, next_page_token=page.next_page_token)
    assert fake.calls[1]["search_after"] == [1, 1, "run-1"]
    assert [e.execution.workflow_id for e in last.executions] == ["wf-2"]
    assert last.next_page_token == b""


def test_page_size_zero_or_too_large_means_the_maximum() -> None:
    fake = FakeSearch([])
    reader(fake, max_page_size=7).list("default", "", page_size=0)
    reader(fake, max_page_size=7).list("default", "", page_size=8)
    assert [call["size"] for call in fake.calls] == [8, 8]


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (b"garbage", "unable to deserialize page token"),
        (b'{"v": 1, "search_after": [1]}', "expected 2 fields, got 1"),
    ],
)
def test_bad_page_tokens_are_invalid_argument(token: bytes, message: str) -> None:
    with pytest.raises(InvalidQueryError, match=message):
        reader(FakeSearch([])).list("default", "ORDER BY StartTime", next_page_token=token)


def test_group_by_is_rejected_for_list() -> None:
    with pytest.raises(InvalidQueryError, match=r"^GROUP BY clause is not supported$"):
        reader(FakeSearch([])).list("default", "GROUP BY ExecutionStatus")


def test_missing_index_lists_nothing() -> None:
    fake = FakeSearch(api_error(404, "index_not_found_exception"))
    assert len(reader(fake).list("default", "").executions) == 0


@pytest.mark.parametrize(
    ("error", "expected", "message"),
    [
        (
            api_error(400, "search_phase_execution_exception", "bad"),
            InvalidQueryError,
            "ListWorkflowExecutions failed: VisibilityStore: Error 400 (Bad Request): bad "
            "[type=search_phase_execution_exception]",
        ),
        (api_error(429, "es_rejected_execution_exception"), VisibilityOverloadedError, "429"),
        (api_error(503, "unavailable"), VisibilityUnavailableError, "503"),
        (EsConnectionError("refused"), VisibilityUnavailableError, "refused"),
    ],
)
def test_elasticsearch_errors_map_to_grpc_statuses(
    error: Exception, expected: type[Exception], message: str
) -> None:
    with pytest.raises(expected) as caught:
        reader(FakeSearch(error)).list("default", "")
    assert message in str(caught.value)
