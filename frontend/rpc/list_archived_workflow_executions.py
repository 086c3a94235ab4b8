"""ListArchivedWorkflowExecutions: the visibility records a namespace archived before retention."""

from __future__ import annotations

import asyncio

import grpc
from google.protobuf.message import DecodeError
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    ListArchivedWorkflowExecutionsRequest,
    ListArchivedWorkflowExecutionsResponse,
)

from frontend.context import Call, Env, require_namespace
from frontend.errors import ServiceError, invalid_argument
from schemas import archival
from schemas.archival_query import Predicate, compile_filter
from schemas.namespaces import ARCHIVAL_ENABLED
from schemas.visibility.exceptions import InvalidQueryError

NOT_CONFIGURED = "Namespace is not configured for visibility archival."
"""Temporal's errNamespaceIsNotConfiguredForVisibilityArchival."""


async def handle(
    env: Env, request: ListArchivedWorkflowExecutionsRequest, call: Call
) -> ListArchivedWorkflowExecutionsResponse:
    """One page of archived runs matching the filter, latest close first.

    The page token is the key of the last record of the previous page (keys sort by close
    time). Temporal's checks in Temporal's order: page size, then the namespace's archival.
    """
    max_page = env.config.visibility_max_page_size
    if request.page_size > max_page:
        raise invalid_argument(f"PageSize is larger than allowed {max_page}.")
    page_size = request.page_size if request.page_size > 0 else max_page
    namespace = require_namespace(env, request.namespace)
    if namespace.visibility_archival_state != ARCHIVAL_ENABLED:
        raise invalid_argument(NOT_CONFIGURED)
    try:
        matches = compile_filter(request.query)
        after = request.next_page_token.decode()
    except InvalidQueryError as err:
        raise invalid_argument(str(err)) from None
    except UnicodeDecodeError:
        raise invalid_argument("Invalid NextPageToken.") from None
    try:
        store = archival.store_for(namespace.visibility_archival_uri)
        return await asyncio.to_thread(
            _page, store, archival.visibility_prefix(namespace.id), matches, page_size, after
        )
    except (archival.ArchivalError, OSError, DecodeError) as err:
        raise ServiceError(
            grpc.StatusCode.UNAVAILABLE, f"archived visibility cannot be read: {err}"
        ) from err


def _page(
    store: archival.ArchiveStore, prefix: str, matches: Predicate, size: int, after: str
) -> ListArchivedWorkflowExecutionsResponse:
    response = ListArchivedWorkflowExecutionsResponse()
    last = ""
    keys = sorted(store.list(prefix), reverse=True)
    for key in keys:
        if after and key >= after:
            continue  # on an earlier page
        data = store.get(key)
        if data is None:
            continue
        info = WorkflowExecutionInfo.FromString(data)
        if not matches(info):
            continue
        if len(response.executions) == size:
            response.next_page_token = last.encode()
            break
        response.executions.append(info)
        last = key
    return response
