"""The next run of a workflow id, started in the transaction that closes the current one.

Continue-as-new, a workflow retry and a cron run all end a run and start the next one at once
(Temporal's AddContinueAsNewEvent / SetupNewWorkflowForRetryOrCron): the next run keeps the
workflow id, the first run's id (`first_execution_run_id`), the execution timeout and its
expiration time, and names the run it continues (`continued_execution_run_id`).
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.api.common.v1 import Header, Memo, Payloads, SearchAttributes, WorkflowType
from temporalio.api.common.v1 import RetryPolicy as RetryPolicyProto
from temporalio.api.enums.v1 import ContinueAsNewInitiator, EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes

from history_processor import events as ev
from history_processor import updates as upd
from history_processor.builder import DecisionBuilder
from history_processor.outbox import visibility_record
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import schedule_workflow_task

WORKFLOW_ID_REUSE_MINIMAL_INTERVAL_MS = 1_000
"""Temporal's history.workflowIdReuseMinimalInterval: a run's successor waits until the run
has lived this long (no tight continue-as-new loops)."""


@dataclass
class NextRun:
    """What the next run starts with (Temporal's start request for the new run).

    Attributes:
        run_id: The new run's id.
        initiator: CONTINUE_AS_NEW_INITIATOR_WORKFLOW, _RETRY or _CRON_SCHEDULE.
        workflow_type: Workflow type name.
        task_queue: Normal task queue name.
        run_timeout_ms: Run timeout (0: none).
        task_timeout_ms: Workflow task timeout.
        backoff_ms: Asked delay of the first workflow task (before the minimal interval).
        attempt: The new run's attempt (the previous one's + 1 for a retry, else 1).
        input: The input, or None.
        header: The header, or None.
        memo: The memo, or None.
        search_attributes: Search attributes (types annotated), or None.
        retry_policy: The workflow retry policy, or None.
        cron_schedule: The cron schedule, or "".
        continued_failure: The failure the previous run ended with (retry, failed cron run).
        last_completion_result: The last successful cron run's result.
        has_run_timeout: Whether the start event carries the run timeout even when it is 0
            (continue-as-new always writes it; a retry copies the first start's, maybe unset).
    """

    run_id: str
    initiator: ContinueAsNewInitiator.ValueType
    workflow_type: str
    task_queue: str
    run_timeout_ms: int
    task_timeout_ms: int
    backoff_ms: int
    attempt: int = 1
    input: Payloads | None = None
    header: Header | None = None
    memo: Memo | None = None
    search_attributes: SearchAttributes | None = None
    retry_policy: RetryPolicyProto | None = None
    cron_schedule: str = ""
    continued_failure: Failure | None = None
    last_completion_result: Payloads | None = None
    has_run_timeout: bool = True


def minimal_backoff_ms(previous: ExecutionState, backoff_ms: int, now_ms: int) -> int:
    """Temporal's ContinueAsNewMinBackoff: the backoff, raised so that the previous run's
    lifetime (from its first workflow task's time) plus the backoff is at least the minimal
    interval."""
    lifetime = now_ms - previous.execution_time_ms
    if lifetime + backoff_ms < WORKFLOW_ID_REUSE_MINIMAL_INTERVAL_MS:
        return WORKFLOW_ID_REUSE_MINIMAL_INTERVAL_MS - lifetime
    return backoff_ms


def start_next_run(b: DecisionBuilder, previous: ExecutionState, spec: NextRun) -> None:
    """Writes the next run's WorkflowExecutionStarted (and first workflow task, unless it
    waits for its backoff) into `b`, which `begin_next_run` switched to the new run."""
    backoff = minimal_backoff_ms(previous, spec.backoff_ms, b.now_ms)
    attrs = WorkflowExecutionStartedEventAttributes(
        workflow_type=WorkflowType(name=spec.workflow_type),
        task_queue=ev.task_queue(spec.task_queue),
        workflow_task_timeout=ev.duration(spec.task_timeout_ms),
        continued_execution_run_id=previous.run_id,
        initiator=spec.initiator,
        original_execution_run_id=spec.run_id,
        first_execution_run_id=previous.first_execution_run_id,
        attempt=spec.attempt,
        cron_schedule=spec.cron_schedule,
        first_workflow_task_backoff=ev.duration(backoff),
        workflow_id=previous.workflow_id,
    )
    if spec.has_run_timeout or spec.run_timeout_ms:
        attrs.workflow_run_timeout.CopyFrom(ev.duration(spec.run_timeout_ms))
    if previous.workflow_execution_timeout_ms:
        attrs.workflow_execution_timeout.CopyFrom(
            ev.duration(previous.workflow_execution_timeout_ms)
        )
    if previous.execution_expiration_time_ms:
        attrs.workflow_execution_expiration_time.FromMilliseconds(
            previous.execution_expiration_time_ms
        )
    for name in (
        "input",
        "header",
        "memo",
        "search_attributes",
        "retry_policy",
        "continued_failure",
        "last_completion_result",
    ):
        value = getattr(spec, name)
        if value is not None:
            getattr(attrs, name).CopyFrom(value)
    attrs.priority.SetInParent()  # Temporal writes the (empty) priority of the start request
    b.add_event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, attrs)
    b.add_update(
        upd.ExecutionCreated(
            namespace=previous.namespace,
            namespace_id=previous.namespace_id,
            run_id=spec.run_id,
            request_id=spec.run_id,  # a start made by the server has no caller to retry it
        )
    )
    if backoff == 0:
        schedule_workflow_task(b)
    b.set_visibility(visibility_record(b.run))
