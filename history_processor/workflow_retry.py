"""Workflow retries and cron: a closing run followed by its retry or its next cron run.

A failed or timed-out run with a retry policy is followed by its retry.

Temporal's GetRetryBackoffDuration and SetupNewWorkflowForRetryOrCron: the next attempt is a
new run of the workflow id, started in the transaction that closes the failed one, with the
closing run's start attributes (input, header, memo, search attributes, policies), attempt + 1,
the failure as `continued_failure`, initiator RETRY, and its first workflow task delayed by
the backoff. The close event names it (`new_execution_run_id`, retry state IN_PROGRESS).
A run with a cron schedule that completes, or fails or times out without a retry, is followed
the same way by the next run of its schedule (initiator CRON_SCHEDULE, attempt 1, delayed to
the next fire time; a completed run's result becomes `last_completion_result`).
"""

from __future__ import annotations

from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import ContinueAsNewInitiator, RetryState
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes

from history_processor import cron
from history_processor.activities import is_retryable
from history_processor.builder import DecisionBuilder
from history_processor.closing import time_out
from history_processor.next_run import NextRun, start_next_run
from history_processor.state import ExecutionState, duration_ms


def retry_backoff(state: ExecutionState, failure: Failure | None, now_ms: int) -> tuple[int, int]:
    """(RetryState, backoff ms) of a run that failed with `failure` (Temporal's
    getBackoffInterval); the backoff counts only with RETRY_STATE_IN_PROGRESS."""
    policy = state.retry_policy
    if policy is None:
        return RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET, 0
    if failure is not None and not is_retryable(failure, policy.non_retryable_error_types):
        return RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, 0
    max_interval = policy.maximum_interval_ms
    requested: int | None = None
    app = failure.application_failure_info if failure is not None else None
    if app is not None and app.HasField("next_retry_delay"):
        requested = app.next_retry_delay.ToMilliseconds()
        max_interval = requested
    if policy.maximum_attempts > 0 and state.attempt >= policy.maximum_attempts:
        return RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED, 0
    if requested is not None:
        interval = requested
    else:
        coefficient = policy.backoff_coefficient ** (max(state.attempt, 1) - 1)
        interval = int(policy.initial_interval_ms * coefficient)
    if max_interval == 0 and interval <= 0:
        return RetryState.RETRY_STATE_TIMEOUT, 0
    if max_interval != 0 and (interval <= 0 or interval > max_interval):
        interval = max_interval
    expiration = state.execution_expiration_time_ms
    if expiration and now_ms + interval > expiration:
        return RetryState.RETRY_STATE_TIMEOUT, 0
    return RetryState.RETRY_STATE_IN_PROGRESS, interval


def start_attributes(b: DecisionBuilder) -> WorkflowExecutionStartedEventAttributes:
    """The closing run's WorkflowExecutionStarted attributes (its committed event 1)."""
    assert b.env is not None, "a run's successor needs the handler's Env"
    first = [e for e in b.env.read_events(1, 2) if e.event_id == 1]
    if not first:
        # The run started in this very decision (its events are not committed yet).
        first = [e for e in b.events if e.event_id == 1]
    return first[0].workflow_execution_started_event_attributes


def successor_from_start(
    b: DecisionBuilder,
    run_id: str,
    initiator: ContinueAsNewInitiator.ValueType,
    backoff_ms: int,
    failure: Failure | None,
) -> NextRun:
    """The next run as Temporal's SetupNewWorkflowForRetryOrCron makes it from the start."""
    start = start_attributes(b)
    run = b.run
    retry = initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY
    return NextRun(
        run_id=run_id,
        initiator=initiator,
        workflow_type=start.workflow_type.name or run.workflow_type,
        task_queue=start.task_queue.name or run.task_queue,
        run_timeout_ms=duration_ms(start.workflow_run_timeout),
        has_run_timeout=start.HasField("workflow_run_timeout"),
        task_timeout_ms=duration_ms(start.workflow_task_timeout) or run.workflow_task_timeout_ms,
        backoff_ms=backoff_ms,
        attempt=run.attempt + 1 if retry else 1,
        input=start.input if start.HasField("input") else None,
        header=start.header if start.HasField("header") else None,
        memo=start.memo if start.HasField("memo") else None,
        search_attributes=start.search_attributes if start.HasField("search_attributes") else None,
        retry_policy=start.retry_policy if start.HasField("retry_policy") else None,
        cron_schedule=start.cron_schedule,
        continued_failure=failure,
        last_completion_result=(
            start.last_completion_result
            if not retry and failure is not None and start.HasField("last_completion_result")
            else None
        ),
    )


def continue_after_close(b: DecisionBuilder, spec: NextRun) -> None:
    """Has the next run start once the handler is done with the closing run."""
    closing = b.run

    def start(builder: DecisionBuilder) -> None:
        start_next_run(builder, closing, spec)

    b.continue_with(start)


def cron_successor(
    b: DecisionBuilder, failure: Failure | None, result: Payloads | None
) -> NextRun | None:
    """The next run of the closing run's cron schedule (Temporal's handleCron), or None
    without a schedule (or one that never fires again)."""
    run = b.run
    if not run.cron_schedule or b.env is None:
        return None
    delay = cron.backoff_ms(run.cron_schedule, run.execution_time_ms, b.now_ms)
    if delay is None:
        return None
    initiator = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE
    spec = successor_from_start(b, b.env.new_id(), initiator, delay, failure)
    if failure is None:
        spec.last_completion_result = result
    return spec


def time_out_or_retry(b: DecisionBuilder, failure: Failure) -> None:
    """Times the run out at its run timeout, followed by its retry if the policy allows one,
    else by its next cron run (Temporal's executeWorkflowRunTimeoutTask)."""
    retry_state, backoff_ms = retry_backoff(b.run, failure, b.now_ms)
    spec: NextRun | None = None
    if retry_state == RetryState.RETRY_STATE_IN_PROGRESS and b.env is not None:
        retry = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY
        spec = successor_from_start(b, b.env.new_id(), retry, backoff_ms, failure)
    else:
        spec = cron_successor(b, failure, None)
    time_out(b, retry_state, spec.run_id if spec is not None else "")
    if spec is not None:
        continue_after_close(b, spec)
