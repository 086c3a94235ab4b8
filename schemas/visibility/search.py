"""The read side: ListWorkflowExecutions and CountWorkflowExecutions answered from Elasticsearch."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Mapping
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import (
    Memo,
    Payload,
    SearchAttributes,
    WorkflowExecution,
    WorkflowType,
)
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsResponse,
    ListWorkflowExecutionsResponse,
)

from schemas.visibility import attributes as sa
from schemas.visibility.attributes import ValueType
from schemas.visibility.exceptions import (
    InvalidQueryError,
    VisibilityError,
    VisibilityOverloadedError,
    VisibilityUnavailableError,
)
from schemas.visibility.query import SearchQuery, translate
from schemas.visibility.timefmt import NANOS_PER_SECOND, parse_rfc3339

MAX_PAGE_SIZE = 1000
"""Temporal's default ``frontend.visibilityMaxPageSize``: the size of a page asked as 0."""

_TOKEN_VERSION = 1

CustomAttributes = Callable[[str], Mapping[str, ValueType]]
"""Gives a namespace's custom search attributes by namespace name."""


class VisibilityReader:
    """Answers list and count requests of one visibility index.

    The methods block on Elasticsearch; the ``*_async`` variants run them in a worker thread so
    an asyncio frontend can await them. The client is shared by threads, which it supports.
    """

    def __init__(
        self,
        es: Elasticsearch,
        index: str,
        *,
        max_page_size: int = MAX_PAGE_SIZE,
        custom_attributes: CustomAttributes | None = None,
    ) -> None:
        """Creates a reader.

        Args:
            es: The Elasticsearch client.
            index: The visibility index (``template.index_name(prefix)``).
            max_page_size: Pages larger than this (or of size 0) are cut to it.
            custom_attributes: Custom search attributes per namespace, if any are registered.
        """
        self._es = es
        self._index = index
        self._max_page_size = max_page_size
        self._custom = custom_attributes

    def list(
        self,
        namespace: str,
        query: str,
        page_size: int = 0,
        next_page_token: bytes = b"",
        *,
        namespace_id: str | None = None,
    ) -> ListWorkflowExecutionsResponse:
        """One page of the executions of a namespace that match a list filter.

        Args:
            namespace: The namespace name.
            query: Temporal's list filter; empty for all executions.
            page_size: Executions per page; 0 or more than the maximum means the maximum.
            next_page_token: The token of the previous page, empty for the first page.
            namespace_id: Scope by namespace id instead of name when given.

        Returns:
            The page; ``next_page_token`` is empty on the last page.

        Raises:
            InvalidQueryError: Bad filter, ``GROUP BY`` or page token (INVALID_ARGUMENT).
            VisibilityUnavailableError: Elasticsearch failed (UNAVAILABLE).
            VisibilityOverloadedError: Elasticsearch is overloaded (RESOURCE_EXHAUSTED).
        """
        parsed = self._translate(namespace, query, namespace_id)
        if parsed.group_by:
            raise InvalidQueryError("GROUP BY clause is not supported")
        size = page_size if 0 < page_size <= self._max_page_size else self._max_page_size
        search_after = _decode_token(next_page_token, len(parsed.sort))
        # One extra hit tells whether another page exists, so the last page has no token.
        result = self._call(
            "ListWorkflowExecutions",
            lambda: self._es.search(
                index=self._index,
                query=parsed.query,
                sort=list(parsed.sort),
                size=size + 1,
                search_after=search_after,
                track_total_hits=False,
            ),
        )
        hits = result["hits"]["hits"] if result else []
        response = ListWorkflowExecutionsResponse(
            executions=[execution_info(hit["_source"]) for hit in hits[:size]]
        )
        if len(hits) > size:
            response.next_page_token = _encode_token(hits[size - 1]["sort"])
        return response

    def count(
        self, namespace: str, query: str, *, namespace_id: str | None = None
    ) -> CountWorkflowExecutionsResponse:
        """How many executions of a namespace match a list filter, optionally per group.

        ``GROUP BY ExecutionStatus`` (or ``TemporalNamespaceDivision``) yields one group per
        value, each value a ``json/plain`` payload typed ``Keyword`` like Temporal's.

        Raises:
            InvalidQueryError: Bad filter (INVALID_ARGUMENT).
            VisibilityUnavailableError: Elasticsearch failed (UNAVAILABLE).
            VisibilityOverloadedError: Elasticsearch is overloaded (RESOURCE_EXHAUSTED).
        """
        parsed = self._translate(namespace, query, namespace_id)
        if not parsed.group_by:
            result = self._call(
                "CountWorkflowExecutions",
                lambda: self._es.count(index=self._index, query=parsed.query),
            )
            return CountWorkflowExecutionsResponse(count=result["count"] if result else 0)
        field = parsed.group_by[0]
        terms: dict[str, Any] = {"field": field, "size": 1000}
        if field == sa.NAMESPACE_DIVISION:
            terms["missing"] = ""  # executions without a division count as the default one
        result = self._call(
            "CountWorkflowExecutions",
            lambda: self._es.search(
                index=self._index, query=parsed.query, size=0, aggs={field: {"terms": terms}}
            ),
        )
        response = CountWorkflowExecutionsResponse()
        buckets = result["aggregations"][field]["buckets"] if result else []
        for bucket in buckets:
            group = response.groups.add(count=bucket["doc_count"])
            group.group_values.append(_keyword_payload(bucket["key"]))
            response.count += bucket["doc_count"]
        return response

    async def list_async(
        self,
        namespace: str,
        query: str,
        page_size: int = 0,
        next_page_token: bytes = b"",
        *,
        namespace_id: str | None = None,
    ) -> ListWorkflowExecutionsResponse:
        """:meth:`list` in a worker thread."""
        return await asyncio.to_thread(
            self.list, namespace, query, page_size, next_page_token, namespace_id=namespace_id
        )

    async def count_async(
        self, namespace: str, query: str, *, namespace_id: str | None = None
    ) -> CountWorkflowExecutionsResponse:
        """:meth:`count` in a worker thread."""
        return await asyncio.to_thread(self.count, namespace, query, namespace_id=namespace_id)

    def _translate(self, namespace: str, query: str, namespace_id: str | None) -> SearchQuery:
        custom = self._custom(namespace) if self._custom else None
        return translate(query, namespace, namespace_id=namespace_id, custom=custom)

    def _call(self, operation: str, request: Callable[[], Any]) -> Any:
        """Runs a request; returns None when the index does not exist yet (nothing indexed)."""
        try:
            return request()
        except ApiError as err:
            if err.status_code == 404 and err.error == "index_not_found_exception":
                return None
            raise _api_error(operation, err) from err
        except TransportError as err:
            raise VisibilityUnavailableError(f"{operation} failed: {err.message}") from err


def execution_info(doc: Mapping[str, Any]) -> WorkflowExecutionInfo:
    """Builds the ``WorkflowExecutionInfo`` of an indexed document (``_source``)."""
    execution = WorkflowExecution(workflow_id=doc[sa.WORKFLOW_ID], run_id=doc[sa.RUN_ID])
    info = WorkflowExecutionInfo(
        execution=execution,
        type=WorkflowType(name=doc.get(sa.WORKFLOW_TYPE, "")),
        start_time=_timestamp(doc[sa.START_TIME]),
        execution_time=_timestamp(doc.get(sa.EXECUTION_TIME) or doc[sa.START_TIME]),
        status=_status(doc.get(sa.EXECUTION_STATUS, "")),  # type: ignore[arg-type]
        history_length=doc.get(sa.HISTORY_LENGTH, 0),
        task_queue=doc.get(sa.TASK_QUEUE, ""),
        memo=Memo(),
        search_attributes=SearchAttributes(),
        # Strom has no child workflows yet: every run is its own root, as Temporal reports.
        root_execution=execution,
    )
    if doc.get(sa.CLOSE_TIME):
        info.close_time.CopyFrom(_timestamp(doc[sa.CLOSE_TIME]))
    if doc.get(sa.EXECUTION_DURATION) is not None:
        seconds, nanos = divmod(int(doc[sa.EXECUTION_DURATION]), NANOS_PER_SECOND)
        info.execution_duration.CopyFrom(Duration(seconds=seconds, nanos=nanos))
    if doc.get(sa.MEMO):
        info.memo.ParseFromString(base64.b64decode(doc[sa.MEMO]))
    if doc.get(sa.SEARCH_ATTRIBUTES):
        info.search_attributes.ParseFromString(base64.b64decode(doc[sa.SEARCH_ATTRIBUTES]))
    return info


def _status(name: str) -> int:
    try:
        return sa.status_value(name)
    except ValueError:
        return 0  # WORKFLOW_EXECUTION_STATUS_UNSPECIFIED: a status this build does not know


def _timestamp(text: str) -> Timestamp:
    seconds, nanos = divmod(parse_rfc3339(text), NANOS_PER_SECOND)
    return Timestamp(seconds=seconds, nanos=nanos)


def _keyword_payload(value: Any) -> Payload:
    return Payload(
        metadata={"encoding": b"json/plain", "type": ValueType.KEYWORD.value.encode()},
        data=json.dumps(value).encode(),
    )


def _encode_token(sort_values: list[Any]) -> bytes:
    return json.dumps({"v": _TOKEN_VERSION, "search_after": sort_values}).encode()


def _decode_token(token: bytes, sort_fields: int) -> list[Any] | None:
    if not token:
        return None
    try:
        decoded = json.loads(token)
        values = decoded["search_after"]
        if decoded.get("v") != _TOKEN_VERSION or not isinstance(values, list):
            raise ValueError("unknown token format")
    except (ValueError, TypeError, KeyError) as err:
        raise InvalidQueryError(f"unable to deserialize page token: {err}") from None
    if len(values) != sort_fields:
        raise InvalidQueryError(
            "invalid page token for given sort fields: "
            f"expected {sort_fields} fields, got {len(values)}"
        )
    return values


def _api_error(operation: str, err: ApiError) -> VisibilityError:
    status = err.status_code
    if status == 400:
        reason = _reason(err.info)
        return InvalidQueryError(
            f"{operation} failed: VisibilityStore: Error 400 (Bad Request): "
            f"{reason} [type={err.error}]"
        )
    message = f"{operation} failed: VisibilityStore: Error {status} ({err.error})"
    if status == 429:
        return VisibilityOverloadedError(message)
    return VisibilityUnavailableError(message)


def _reason(info: Any) -> str:
    if isinstance(info, Mapping):
        error = info.get("error")
        if isinstance(error, Mapping):
            causes = error.get("root_cause") or [error]
            return str(causes[0].get("reason", ""))
    return str(info)
