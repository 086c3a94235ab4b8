"""The batcher's pure rules: query narrowing, pace, progress across pages and resumes."""

from __future__ import annotations

from dataclasses import asdict

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from schemas.batch.args import Progress
from worker_service.batcher import core


def test_query_narrowed_to_open_executions_for_terminate_cancel_signal() -> None:
    assert core.adjusted_query("A = 1", "termination_operation") == (
        f"(A = 1) AND ({core.RUNNING_FILTER})"
    )
    assert core.adjusted_query("A = 1", "signal_operation").startswith("(A = 1) AND")
    assert core.adjusted_query("A = 1", "deletion_operation") == "A = 1"
    assert core.adjusted_query("A = 1", "reset_operation") == "A = 1"
    assert core.adjusted_query("", "termination_operation") == ""


def test_pace_spaces_operations_by_the_rate() -> None:
    pace = core.Pace(rate=4.0)
    delays = [pace.reserve(10.0) for _ in range(4)]
    assert delays == [0.0, 0.25, 0.5, 0.75]
    # After a pause the next operation goes at once, without a burst of saved-up slots.
    assert pace.reserve(20.0) == 0.0
    assert pace.reserve(20.0) == 0.25
    with pytest.raises(ValueError):
        core.Pace(rate=0)


def test_tally_counts_pages_and_resume_drops_the_unfinished_page() -> None:
    tally = core.Tally(Progress(TotalEstimate=5))
    tally.record(True)
    tally.record(False)
    tally.page_done("tok1")
    tally.record(True)
    shown = tally.shown()
    assert (shown.SuccessCount, shown.ErrorCount, shown.CurrentPage) == (2, 1, 1)
    assert shown.PageToken == "tok1"
    resumed = core.resumed(asdict(shown))
    # The page under way is done again after a resume, so its one success is not kept.
    assert (resumed.SuccessCount, resumed.ErrorCount) == (1, 1)
    assert (resumed.PageToken, resumed.CurrentPage, resumed.TotalEstimate) == ("tok1", 1, 5)


def _events(*types: EventType.ValueType) -> list[HistoryEvent]:
    return [HistoryEvent(event_id=i + 1, event_type=t) for i, t in enumerate(types)]


def test_reset_points() -> None:
    e = EventType
    history = _events(
        e.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        e.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        e.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        e.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        e.EVENT_TYPE_TIMER_STARTED,
        e.EVENT_TYPE_TIMER_FIRED,
        e.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        e.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        e.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        e.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    )
    assert core.first_task_event_id(history) == 4
    assert core.last_task_event_id(reversed(history)) == 9
    never_completed = _events(
        e.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, e.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
    )
    assert core.first_task_event_id(never_completed) == 3
    assert core.last_task_event_id(reversed(never_completed)) == 3
    assert core.first_task_event_id(_events(e.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)) == 0
