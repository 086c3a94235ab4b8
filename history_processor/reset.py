"""ResetWorkflowExecution's new run: the base run's history up to a workflow task, forked.

Temporal (service/history/ndc/workflow_resetter.go) forks the base run's history branch
after the reset point, so the new run's first events are the base run's own (their ids,
times and attributes; the start event keeps naming the base's original run). It then fails
the workflow task open at that point (cause RESET_WORKFLOW, the reset's reason as a
ResetWorkflowFailureInfo failure, base and new run ids), reapplies the base run's signals
written after the point, and schedules a new workflow task on the normal queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from temporalio.api.enums.v1 import (
    EventType,
    ResetReapplyExcludeType,
    ResetReapplyType,
    WorkflowTaskFailedCause,
)
from temporalio.api.failure.v1 import Failure, ResetWorkflowFailureInfo
from temporalio.api.history.v1 import (
    HistoryEvent,
    WorkflowTaskFailedEventAttributes,
    WorkflowTaskStartedEventAttributes,
)

from history_processor import events as ev
from history_processor import updates as upd
from history_processor.builder import DecisionBuilder
from history_processor.handling import IDENTITY_HISTORY_SERVICE
from history_processor.older_runs import OlderRuns
from history_processor.outbox import activity_task_record
from history_processor.workflow_tasks import schedule_workflow_task

_CONTINUED_AS_NEW = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW

IDENTITY_RESETTER = "history-resetter"
"""Temporal's identity on the termination of the run a reset replaces (consts.IdentityResetter)."""

MSG_BAD_FINISH_ID = "Workflow task finish ID must be > 1 && <= workflow last event ID."
MSG_NOT_A_WORKFLOW_TASK = (
    "Can only reset workflow to event ID in range "
    "[WorkflowTaskScheduled +1, WorkflowTaskStarted + 1]: {}"
)


class ResetPointError(ValueError):
    """The reset point is not right after a workflow task's scheduled or started event."""


@dataclass(frozen=True)
class ResetSpec:
    """What the new run is made of.

    Attributes:
        namespace: The namespace name (the new run's identity update).
        namespace_id: The namespace id.
        base_run_id: The run reset.
        new_run_id: The new run's id.
        request_id: The reset's request id (kept as the new run's create request id, so a
            retried reset returns the same run).
        reason: The reset's reason.
        finish_event_id: The request's workflow_task_finish_event_id: events before it are
            copied, signals from it on are reapplied.
        reapply_signals: Whether signals after the point are written to the new run.
    """

    namespace: str
    namespace_id: str
    base_run_id: str
    new_run_id: str
    request_id: str
    reason: str
    finish_event_id: int
    reapply_signals: bool


def reapplies_signals(reapply_type: int, exclude_types: Sequence[int]) -> bool:
    """Temporal's reset reapply rules for signals: by default (UNSPECIFIED, SIGNAL) and with
    ALL_ELIGIBLE, unless NONE or an EXCLUDE_TYPE_SIGNAL says otherwise."""
    if reapply_type == ResetReapplyType.RESET_REAPPLY_TYPE_NONE:
        return False
    return ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL not in exclude_types


def later_runs_events(
    base_events: Sequence[HistoryEvent],
    current_run_id: str,
    current_events: Sequence[HistoryEvent],
    older_runs: OlderRuns,
) -> list[HistoryEvent]:
    """The events of the runs the base run continued as new into, in chain order.

    Temporal follows each run's ContinuedAsNew to the next run, up to the current run or a
    run that is gone, and reapplies their signals too.

    Args:
        base_events: The base run's history.
        current_run_id: The workflow id's current run.
        current_events: The current run's history, this decision's events included (its
            termination); unused when the base is the current run.
        older_runs: Readers of the workflow id's other runs.
    """
    found: list[HistoryEvent] = []
    events = base_events
    seen: set[str] = set()
    while events and events[-1].event_type == _CONTINUED_AS_NEW:
        run_id = events[
            -1
        ].workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        if run_id in seen:
            break
        seen.add(run_id)
        if run_id == current_run_id:
            events = current_events
        else:
            run = older_runs.state(run_id)
            if run is None:
                break  # deleted: the chain ends here (Temporal's NotFound)
            events = older_runs.read_events(run_id, 1, run.next_event_id)
        found.extend(events)
    return found


def write_reset_run(
    b: DecisionBuilder,
    spec: ResetSpec,
    base_events: Sequence[HistoryEvent],
    later_events: Sequence[HistoryEvent] = (),
) -> None:
    """Writes the new run into `b` (which must hold no run: `begin_next_run` or a closed base).

    Args:
        b: The builder, its state None or a closed run (the new start replaces it).
        spec: The reset.
        base_events: The base run's whole history, in order (committed and this decision's).
        later_events: The events of the runs the base continued as new into
            (`later_runs_events`); their signals are reapplied after the base's.

    Raises:
        ResetPointError: no workflow task is open right before the reset point.
    """
    copied = [e for e in base_events if e.event_id < spec.finish_event_id]
    for event in copied:
        clone = HistoryEvent()
        clone.CopyFrom(event)
        b.append(clone)
        if clone.event_id == 1:
            b.add_update(
                upd.ExecutionCreated(
                    namespace=spec.namespace,
                    namespace_id=spec.namespace_id,
                    run_id=spec.new_run_id,
                    request_id=spec.request_id,
                )
            )
    task = b.run.workflow_task
    if task is None or task.transient:
        raise ResetPointError(MSG_NOT_A_WORKFLOW_TASK.format(spec.finish_event_id))
    if not task.is_started:
        b.add_event(
            EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            WorkflowTaskStartedEventAttributes(
                scheduled_event_id=task.scheduled_event_id,
                identity=IDENTITY_HISTORY_SERVICE,
                request_id=spec.request_id,
                history_size_bytes=b.run.history_size_bytes,
            ),
        )
        task = b.run.workflow_task
        assert task is not None
    b.add_event(
        EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        WorkflowTaskFailedEventAttributes(
            scheduled_event_id=task.scheduled_event_id,
            started_event_id=task.started_event_id,
            cause=WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW,
            failure=Failure(
                message=spec.reason, reset_workflow_failure_info=ResetWorkflowFailureInfo()
            ),
            identity=IDENTITY_HISTORY_SERVICE,
            base_run_id=spec.base_run_id,
            new_run_id=spec.new_run_id,
        ),
    )
    if spec.reapply_signals:
        after_point = [e for e in base_events if e.event_id >= spec.finish_event_id]
        for event in [*after_point, *later_events]:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                signal = ev.new_event(
                    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                    b.now_ms,
                    event.workflow_execution_signaled_event_attributes,
                )
                b.append(signal)
    # Activities scheduled before the point never started in the new run: dispatch them again.
    for info in b.run.activities.values():
        b.add_task(activity_task_record(b.run, info))
    schedule_workflow_task(b)
