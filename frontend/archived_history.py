"""GetWorkflowExecutionHistory of a run retention deleted: read from the namespace's archive."""

from __future__ import annotations

import asyncio
import logging

import grpc
from google.protobuf.message import DecodeError
from temporalio.api.enums.v1 import HistoryEventFilterType
from temporalio.api.history.v1 import History
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
)

from frontend.errors import ServiceError
from schemas import archival
from schemas.namespaces import Namespace

_log = logging.getLogger(__name__)
_CLOSE_EVENT = HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT


async def from_archive(
    namespace: Namespace, request: GetWorkflowExecutionHistoryRequest, error: ServiceError
) -> GetWorkflowExecutionHistoryResponse:
    """The archived history of a run history no longer has, else ``error`` again.

    As Temporal: only a request naming its run id is looked up, and only in a namespace that
    has a history archival URI (archival may have been disabled since). The whole history is
    one page.

    Raises:
        ServiceError: ``error`` (NOT_FOUND) when the archive has no such run, or UNAVAILABLE
            when the archive cannot be read.
    """
    execution = request.execution
    if error.code != grpc.StatusCode.NOT_FOUND or not execution.run_id:
        raise error
    uri = namespace.history_archival_uri
    if not uri:
        raise error
    key = archival.history_key(namespace.id, execution.workflow_id, execution.run_id)
    try:
        data = await asyncio.to_thread(archival.store_for(uri).get, key)
        if data is None:
            raise error
        history = History.FromString(data)
    except (archival.ArchivalError, OSError, DecodeError) as err:
        _log.warning("archived history %s of %s unreadable: %s", key, namespace.name, err)
        raise ServiceError(
            grpc.StatusCode.UNAVAILABLE, f"archived history cannot be read: {err}"
        ) from err
    if request.history_event_filter_type == _CLOSE_EVENT and history.events:
        history = History(events=[history.events[-1]])
    return GetWorkflowExecutionHistoryResponse(history=history, archived=True)
