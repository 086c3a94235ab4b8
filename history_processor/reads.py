"""Read-only requests answered from state and stored events: history pages and describe."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from temporalio.api.activity.v1 import ActivityOptions
from temporalio.api.common.v1 import (
    Memo,
    Priority,
    SearchAttributes,
    WorkflowExecution,
    WorkflowType,
)
from temporalio.api.enums.v1 import HistoryEventFilterType, PendingActivityState
from temporalio.api.enums.v1 import PendingWorkflowTaskState as WftState
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import (
    History,
    HistoryEvent,
)
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflow.v1 import (
    PendingActivityInfo,
    PendingWorkflowTaskInfo,
    WorkflowExecutionConfig,
    WorkflowExecutionExtendedInfo,
    WorkflowExecutionInfo,
)
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionResponse,
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
    GetWorkflowExecutionHistoryReverseRequest,
    GetWorkflowExecutionHistoryReverseResponse,
)

from history_processor import events as ev
from history_processor import paging
from history_processor.activity_ops import current_priority, describe_pause
from history_processor.deadlines import run_expiration_time_ms
from history_processor.describe_relatives import add_relatives
from history_processor.handling import run_not_found, workflow_not_found
from history_processor.model import EventReader
from history_processor.state import ActivityInfo, ExecutionState
from history_processor.workflow_tasks import HISTORY_PAGE_SIZE, transient_events
from schemas import jsoncodec as codec
from schemas.exceptions import PayloadDecodeError
from schemas.reply import Code, Reply

_TOKEN_PREFIX = b"SHT1"


@dataclass
class HistoryToken:
    """Continuation of a history read (GetWorkflowExecutionHistory.next_page_token)."""

    run_id: str
    first_event_id: int
    next_event_id: int
    is_running: bool

    def encode(self) -> bytes:
        """Opaque bytes for the client."""
        return _TOKEN_PREFIX + codec.dumps(self)

    @classmethod
    def decode(cls, data: bytes) -> HistoryToken:
        """Parses `encode` output; raises PayloadDecodeError on garbage."""
        if not data.startswith(_TOKEN_PREFIX):
            raise PayloadDecodeError("not a Strom history token")
        return codec.loads(cls, data[len(_TOKEN_PREFIX) :])


def page_of(
    state: ExecutionState,
    events: list[HistoryEvent],
    page_size: int,
    identity: str = "",
    include_transient: bool = True,
) -> tuple[list[HistoryEvent], bytes]:
    """Cuts `events` (ending at the run's next event id) into a first page and a token.

    A page holds at most `page_size` events and `paging.PAGE_BYTES_LIMIT` bytes of them.
    The last page carries the transient workflow task events, as Temporal's does.
    """
    keep = paging.fitting(events, page_size)
    if keep < len(events):
        rest = events[keep].event_id
        token = HistoryToken(state.run_id, rest, state.next_event_id, state.is_running)
        return events[:keep], token.encode()
    suffix = transient_events(state, identity) if include_transient and state.is_running else []
    return events + suffix, b""


def _page_size(request: GetWorkflowExecutionHistoryRequest) -> int:
    size = request.maximum_page_size
    return size if 0 < size <= HISTORY_PAGE_SIZE else HISTORY_PAGE_SIZE


def get_workflow_execution_history(
    state: ExecutionState | None,
    request: GetWorkflowExecutionHistoryRequest,
    read_events: EventReader,
    include_transient: bool = True,
) -> Reply | None:
    """Answers GetWorkflowExecutionHistory for the run `state` (the one the request names).

    Args:
        state: State of the requested run (the current run if the request has no run id).
        request: The request; ALL_EVENT and CLOSE_EVENT filters, long poll, page tokens.
        read_events: Reader of the run's committed events.
        include_transient: Append transient workflow task events to the last page (Temporal
            omits them for the CLI and UI).

    Returns:
        The reply, or None for a long poll that has nothing new yet: decide it again after
        the run's next commit (on the caller's timeout, answer `long_poll_timeout_reply`).
    """
    run_id = request.execution.run_id
    if run_id and (state is None or run_id != state.run_id):
        return run_not_found(request.execution.workflow_id, run_id)
    if state is None:
        return workflow_not_found(request.execution.workflow_id)
    token: HistoryToken | None = None
    if request.next_page_token:
        try:
            token = HistoryToken.decode(request.next_page_token)
        except PayloadDecodeError:
            return Reply.error(Code.INVALID_ARGUMENT, "Invalid NextPageToken.")
        if token.run_id != state.run_id:
            return Reply.error(
                Code.INVALID_ARGUMENT, "RunId in the request does not match the NextPageToken."
            )
    long_poll = request.wait_new_event
    if (
        request.history_event_filter_type
        == HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
    ):
        if state.is_running:
            return None if long_poll else _history_reply([], b"")
        close = list(read_events(state.close_event_id, state.close_event_id + 1))
        return _history_reply(close, b"")
    first = token.first_event_id if token is not None else 1
    if first >= state.next_event_id:
        if long_poll and state.is_running:
            return None
        return _history_reply([], b"")
    end = min(state.next_event_id, first + _page_size(request))
    events = list(read_events(first, end))
    keep = paging.fitting(events, len(events))
    if keep < len(events):  # over the byte budget: the next page starts at the first left out
        events, end = events[:keep], events[keep].event_id
    if end < state.next_event_id:
        return _history_reply(
            events, HistoryToken(state.run_id, end, state.next_event_id, state.is_running).encode()
        )
    page, _ = page_of(state, events, len(events) + 1, include_transient=include_transient)
    next_token = b""
    if long_poll and state.is_running:
        next_token = HistoryToken(state.run_id, end, end, True).encode()
    return _history_reply(page, next_token)


def get_workflow_execution_history_reverse(
    state: ExecutionState | None,
    request: GetWorkflowExecutionHistoryReverseRequest,
    read_events: EventReader,
) -> Reply:
    """Answers GetWorkflowExecutionHistoryReverse: committed events, newest first.

    Each page holds the `maximum_page_size` events below the previous page (the frontend
    bounds the size); the last page, ending with event 1, carries no token. Temporal cuts
    pages at its stored event batches, so its pages may hold more events; Strom cuts them at
    the requested count, as its forward reads do. Transient workflow task events, which are
    not history yet, are never included.
    """
    run_id = request.execution.run_id
    if run_id and (state is None or run_id != state.run_id):
        return run_not_found(request.execution.workflow_id, run_id)
    if state is None:
        return workflow_not_found(request.execution.workflow_id)
    end = state.next_event_id
    if request.next_page_token:
        try:
            token = HistoryToken.decode(request.next_page_token)
        except PayloadDecodeError:
            return Reply.error(Code.INVALID_ARGUMENT, "Invalid NextPageToken.")
        if token.run_id != state.run_id:
            return Reply.error(
                Code.INVALID_ARGUMENT, "RunId in the request does not match the NextPageToken."
            )
        end = min(token.next_event_id, end)
    size = request.maximum_page_size if request.maximum_page_size > 0 else HISTORY_PAGE_SIZE
    start = max(1, end - size)
    events = list(reversed(read_events(start, end))) if start < end else []
    keep = paging.fitting(events, len(events))
    if keep < len(events):  # over the byte budget: the next page ends below the last kept
        events, start = events[:keep], events[keep - 1].event_id
    next_token = b""
    if start > 1:
        next_token = HistoryToken(state.run_id, 1, start, state.is_running).encode()
    return Reply.of(
        GetWorkflowExecutionHistoryReverseResponse(
            history=History(events=events), next_page_token=next_token
        )
    )


def long_poll_timeout_reply(
    state: ExecutionState, request: GetWorkflowExecutionHistoryRequest
) -> Reply:
    """The empty page a long poll returns when nothing happened before its deadline."""
    first = state.next_event_id
    if request.next_page_token:
        with contextlib.suppress(PayloadDecodeError):
            first = HistoryToken.decode(request.next_page_token).first_event_id
    token = HistoryToken(state.run_id, first, first, state.is_running)
    return _history_reply([], token.encode() if state.is_running else b"")


def _history_reply(events: list[HistoryEvent], token: bytes) -> Reply:
    return Reply.of(
        GetWorkflowExecutionHistoryResponse(history=History(events=events), next_page_token=token)
    )


def _activity_state(info: ActivityInfo) -> PendingActivityState.ValueType:
    """Temporal's GetActivityState: a requested cancellation shows before anything else."""
    if info.cancel_requested:
        return PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
    if info.is_started:
        return PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    return PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED


def _activity_options(info: ActivityInfo, priority: Priority | None) -> ActivityOptions:
    """The options the activity runs with (normalized timeouts, defaulted retry policy)."""
    policy = info.retry_policy.to_proto()
    del policy.non_retryable_error_types[:]  # Temporal's options leave them out
    options = ActivityOptions(
        task_queue=TaskQueue(name=info.task_queue, normal_name=info.task_queue),
        schedule_to_close_timeout=ev.duration(info.schedule_to_close_timeout_ms),
        schedule_to_start_timeout=ev.duration(info.schedule_to_start_timeout_ms),
        start_to_close_timeout=ev.duration(info.start_to_close_timeout_ms),
        heartbeat_timeout=ev.duration(info.heartbeat_timeout_ms),
        retry_policy=policy,
        priority=priority,
    )
    return options


def _pending_activity(info: ActivityInfo, now_ms: int) -> PendingActivityInfo:
    """Temporal's GetPendingActivityInfo for one activity."""
    state = _activity_state(info)
    priority = current_priority(info)
    out = PendingActivityInfo(
        activity_id=info.activity_id,
        state=state,
        attempt=max(info.attempt, 1),
        maximum_attempts=info.retry_policy.maximum_attempts,
        last_worker_identity=info.started_identity or info.last_worker_identity,
        activity_options=_activity_options(info, priority),
        priority=priority,
    )
    out.activity_type.name = info.activity_type
    out.scheduled_time.FromMilliseconds(info.scheduled_time_ms)
    if info.last_heartbeat_time_ms:
        out.last_heartbeat_time.FromMilliseconds(info.last_heartbeat_time_ms)
        if info.heartbeat_details:
            out.heartbeat_details.ParseFromString(info.heartbeat_details)
    if info.is_started:
        out.last_started_time.FromMilliseconds(info.started_time_ms)
    if info.expiration_time_ms:
        out.expiration_time.FromMilliseconds(info.expiration_time_ms)
    if info.last_failure:
        out.last_failure.CopyFrom(Failure.FromString(info.last_failure))
    if info.last_attempt_complete_time_ms:
        out.last_attempt_complete_time.FromMilliseconds(info.last_attempt_complete_time_ms)
    waiting = state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED and not info.paused
    if waiting and now_ms < info.scheduled_time_ms:
        # Still in its retry backoff: when the next attempt goes out, and the backoff.
        out.next_attempt_schedule_time.FromMilliseconds(info.scheduled_time_ms)
        interval = info.scheduled_time_ms - info.last_attempt_complete_time_ms
        out.current_retry_interval.FromMilliseconds(interval)
    describe_pause(info, out)
    return out


def describe_workflow_execution(
    state: ExecutionState | None, workflow_id: str, now_ms: int = 0
) -> Reply:
    """Answers DescribeWorkflowExecution for the run `state`.

    Memo and search attributes are the run's as stored (empty ones too, as Temporal sends);
    `now_ms` tells a pending activity in its retry backoff from one waiting for a worker.
    """
    if state is None:
        return workflow_not_found(workflow_id)
    info = WorkflowExecutionInfo(
        execution=WorkflowExecution(workflow_id=state.workflow_id, run_id=state.run_id),
        type=WorkflowType(name=state.workflow_type),
        status=state.status.to_proto(),
        history_length=state.next_event_id - 1,
        task_queue=state.task_queue,
        state_transition_count=state.state_transition_count,
        history_size_bytes=state.history_size_bytes,
        first_run_id=state.first_execution_run_id,
        memo=Memo.FromString(state.memo),
        search_attributes=SearchAttributes.FromString(state.search_attributes),
    )
    info.start_time.FromMilliseconds(state.start_time_ms)
    info.execution_time.FromMilliseconds(state.execution_time_ms)
    if not state.is_running:
        info.close_time.FromMilliseconds(state.close_time_ms)
        info.execution_duration.FromMilliseconds(
            max(0, state.close_time_ms - state.execution_time_ms)
        )
    extended = WorkflowExecutionExtendedInfo(
        cancel_requested=state.cancel_requested, reset_run_id=state.reset_run_id
    )
    extended.original_start_time.FromMilliseconds(state.start_time_ms)
    if state.execution_expiration_time_ms:
        extended.execution_expiration_time.FromMilliseconds(state.execution_expiration_time_ms)
    run_expiration = run_expiration_time_ms(state)
    if run_expiration:
        extended.run_expiration_time.FromMilliseconds(run_expiration)
    config = WorkflowExecutionConfig(
        task_queue=ev.task_queue(state.task_queue),
        workflow_execution_timeout=ev.duration(state.workflow_execution_timeout_ms),
        workflow_run_timeout=ev.duration(state.workflow_run_timeout_ms),
        default_workflow_task_timeout=ev.duration(state.workflow_task_timeout_ms),
    )
    if state.user_metadata:
        config.user_metadata.MergeFromString(state.user_metadata)
    response = DescribeWorkflowExecutionResponse(
        execution_config=config,
        workflow_execution_info=info,
        pending_activities=[
            _pending_activity(a, now_ms)
            for a in sorted(state.activities.values(), key=lambda a: a.scheduled_event_id)
        ],
        workflow_extended_info=extended,
    )
    task = state.workflow_task
    if task is not None:
        pending = PendingWorkflowTaskInfo(
            state=WftState.PENDING_WORKFLOW_TASK_STATE_STARTED
            if task.is_started
            else WftState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED,
            attempt=task.attempt,
        )
        pending.scheduled_time.FromMilliseconds(task.scheduled_time_ms)
        pending.original_scheduled_time.FromMilliseconds(task.first_scheduled_time_ms)
        if task.is_started:
            pending.started_time.FromMilliseconds(task.started_time_ms)
        response.pending_workflow_task.CopyFrom(pending)
    add_relatives(state, response)
    return Reply.of(response)
