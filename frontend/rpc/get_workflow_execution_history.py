"""GetWorkflowExecutionHistory: pages of events, and the long-poll clients await results with."""

from __future__ import annotations

import asyncio
import contextlib
import time

from temporalio.api.enums.v1 import HistoryEventFilterType
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
)

from frontend import validation
from frontend.archived_history import from_archive
from frontend.context import Call, Env, call_history, require_namespace
from frontend.errors import ServiceError
from frontend.longpoll import answer_by

_CLOSE_EVENT = HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
_ALL_EVENT = HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT
_UNSPECIFIED = HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_UNSPECIFIED
_READ_ATTEMPT_S = 10.0
"""A waiting read unanswered this long is sent again: history answers one it parks within
5 s (its PARK_TIMEOUT_MS), so it was parked in a process that died (SIGKILL)."""


async def handle(
    env: Env, request: GetWorkflowExecutionHistoryRequest, call: Call
) -> GetWorkflowExecutionHistoryResponse:
    """A page of history; waits for news when the request asks to.

    The history process answers at once, never holding a request. The frontend makes
    the long-poll: while the answer says "nothing yet" it asks again, pausing a little
    longer each time, until the deadline (client deadline minus tail room, at most
    ``history_poll_max_s``); then it returns that last empty answer, as Temporal does.
    Temporal waits for the close event with the CLOSE_EVENT filter even without
    wait_new_event, so does Strom.
    """
    namespace = require_namespace(env, request.namespace)
    execution = validation.validate_execution(request, "execution")
    config = env.config
    if request.maximum_page_size <= 0 or request.maximum_page_size > config.history_max_page_size:
        request.maximum_page_size = config.history_max_page_size
    if request.history_event_filter_type == _UNSPECIFIED:
        request.history_event_filter_type = _ALL_EVENT
    waits = request.wait_new_event or request.history_event_filter_type == _CLOSE_EVENT
    deadline = answer_by(env, call, config.history_poll_max_s) if waits else time.monotonic()
    pause = config.history_recheck_min_s
    while True:
        try:
            response = await call_history(
                env,
                call,
                request.namespace,
                execution.workflow_id,
                request,
                GetWorkflowExecutionHistoryResponse,
                attempt_s=_READ_ATTEMPT_S if waits else None,
            )
        except ServiceError as err:
            return await from_archive(namespace, request, err)  # a run retention deleted
        if not waits or not _nothing_yet(request, response):
            return response
        left = deadline - time.monotonic()
        if left <= 0 or env.stopping.is_set():
            return response
        await _sleep_unless_stopping(env, min(pause, left))
        pause = min(pause * 2, config.history_recheck_max_s)


def _nothing_yet(
    request: GetWorkflowExecutionHistoryRequest, response: GetWorkflowExecutionHistoryResponse
) -> bool:
    """True when a waiting request got no events but may get some later.

    A close-event request gets its event once the workflow closed; an all-event request
    at the end of a running workflow gets no events and a token to ask again with.
    """
    if response.history.events or response.raw_history:
        return False
    if request.history_event_filter_type == _CLOSE_EVENT:
        return True
    return bool(response.next_page_token)


async def _sleep_unless_stopping(env: Env, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(env.stopping.wait(), timeout=seconds)
