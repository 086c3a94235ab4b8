"""GetWorkflowExecutionHistoryReverse pages; DescribeWorkflowExecution's activity details."""

from __future__ import annotations

from temporalio.api.common.v1 import Memo, Payload, WorkflowExecution
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.sdk.v1 import UserMetadata
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    GetWorkflowExecutionHistoryReverseRequest,
    GetWorkflowExecutionHistoryReverseResponse,
)

from history_processor.deadlines import DeadlineKind
from schemas.reply import Code, Reply
from tests.unit.history.harness import (
    Glue,
    app_failure,
    complete_workflow,
    first_task,
    ok_payload,
    with_activity,
)


def _reverse(glue: Glue, size: int, token: bytes = b"", run_id: str = "") -> Reply:
    request = GetWorkflowExecutionHistoryReverseRequest(
        namespace="default",
        execution=WorkflowExecution(workflow_id=glue.workflow_id, run_id=run_id),
        maximum_page_size=size,
        next_page_token=token,
    )
    reply = glue.submit("GetWorkflowExecutionHistoryReverse", request).reply
    assert reply is not None
    return reply


def _page(reply: Reply) -> GetWorkflowExecutionHistoryReverseResponse:
    return ok_payload(reply, GetWorkflowExecutionHistoryReverseResponse)


def _describe(glue: Glue) -> DescribeWorkflowExecutionResponse:
    decision = glue.submit("DescribeWorkflowExecution", DescribeWorkflowExecutionRequest())
    return ok_payload(decision, DescribeWorkflowExecutionResponse)


def test_reverse_pages_walk_back_to_the_first_event() -> None:
    glue = Glue()
    poll = first_task(glue)
    glue.complete_workflow_task(poll, complete_workflow())
    pages: list[list[int]] = []
    token = b""
    while True:
        page = _page(_reverse(glue, 2, token))
        pages.append([e.event_id for e in page.history.events])
        token = page.next_page_token
        if not token:
            break
    assert pages == [[5, 4], [3, 2], [1]]
    whole = _page(_reverse(glue, 0))  # 0: the default size
    assert [e.event_id for e in whole.history.events] == [5, 4, 3, 2, 1]
    assert whole.next_page_token == b""


def test_reverse_of_a_running_run_leaves_out_the_transient_task() -> None:
    glue = Glue()
    glue.start()
    glue.poll_workflow_task()
    page = _page(_reverse(glue, 10))
    assert [e.event_id for e in page.history.events] == [3, 2, 1]


def test_reverse_errors() -> None:
    glue = Glue()
    assert _reverse(glue, 5).message == "workflow not found for ID: wf-1"
    first_task(glue)
    assert _reverse(glue, 5, run_id="other").status_code == Code.NOT_FOUND
    bad = _reverse(glue, 5, token=b"garbage")
    assert (bad.status_code, bad.message) == (
        Code.INVALID_ARGUMENT,
        "Invalid NextPageToken.",
    )


def test_describe_a_retrying_activity() -> None:
    glue = Glue()
    with_activity(
        glue,
        heartbeat_timeout={"seconds": 3},
        retry_policy={"initial_interval": {"seconds": 4}, "maximum_attempts": 5},
    )
    glue.start_activity(5)
    failed_at = glue.now_ms + 5
    glue.fail_activity(5, app_failure("first"))
    response = _describe(glue)
    (pending,) = response.pending_activities
    assert pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
    assert (pending.attempt, pending.maximum_attempts) == (2, 5)
    assert pending.last_failure.message == "first"
    assert pending.last_worker_identity == "worker-1"
    assert pending.last_attempt_complete_time.ToMilliseconds() == failed_at
    assert pending.next_attempt_schedule_time.ToMilliseconds() == failed_at + 4000
    assert pending.scheduled_time.ToMilliseconds() == failed_at + 4000
    assert pending.current_retry_interval.ToMilliseconds() == 4000
    assert not pending.HasField("last_started_time")
    options = pending.activity_options
    assert (options.task_queue.name, options.task_queue.normal_name) == ("golden", "golden")
    assert options.start_to_close_timeout.seconds == 10 and options.heartbeat_timeout.seconds == 3
    assert options.retry_policy.initial_interval.seconds == 4
    assert options.retry_policy.maximum_attempts == 5
    # Once the next attempt is out, there is no next attempt time any more.
    glue.fire(DeadlineKind.ACTIVITY_RETRY.value)
    (dispatched,) = _describe(glue).pending_activities
    assert not dispatched.HasField("next_attempt_schedule_time")
    glue.start_activity(5)
    started_at = glue.now_ms
    (running,) = _describe(glue).pending_activities
    assert running.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    assert running.last_started_time.ToMilliseconds() == started_at


def test_describe_shows_memo_and_search_attributes_as_stored() -> None:
    glue = Glue()
    glue.start(memo=Memo(fields={"note": Payload(data=b'"hi"')}))
    response = _describe(glue)
    info = response.workflow_execution_info
    assert info.memo.fields["note"].data == b'"hi"'
    assert info.HasField("search_attributes") and not info.search_attributes.indexed_fields
    assert glue.state is not None
    extended = response.workflow_extended_info
    assert extended.original_start_time.ToMilliseconds() == glue.state.start_time_ms


def test_describe_shows_the_start_events_user_metadata() -> None:
    # The SDK's static_summary() / static_details() read it from the execution config.
    glue = Glue()
    metadata = UserMetadata(summary=Payload(data=b'"sum"'), details=Payload(data=b'"det"'))
    glue.start(user_metadata=metadata)
    assert glue.events[0].user_metadata == metadata
    assert _describe(glue).execution_config.user_metadata == metadata
    assert not _describe(_started_plain()).execution_config.HasField("user_metadata")


def _started_plain() -> Glue:
    glue = Glue()
    glue.start()
    return glue
