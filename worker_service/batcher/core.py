"""The batcher's pure rules: the query a job lists, its pace, its progress, its reset points."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from schemas.batch import names
from schemas.batch.args import Progress

RUNNING_FILTER = "ExecutionStatus='Running' OR ExecutionStatus='Paused'"


def adjusted_query(query: str, operation: str) -> str:
    """The list filter a job reads: terminate, cancel and signal touch only open executions."""
    if query and operation in names.RUNNING_ONLY_OPERATIONS:
        return f"({query}) AND ({RUNNING_FILTER})"
    return query


@dataclass
class Pace:
    """One operation every ``1 / rate`` seconds (Temporal's outgoing limiter, burst one).

    Attributes:
        rate: Operations per second; must be positive.
        next_at: The earliest time the next operation may go.
    """

    rate: float
    next_at: float = 0.0

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"rate must be positive, got {self.rate}")

    def reserve(self, now: float) -> float:
        """Takes the next slot; returns how long to wait before using it."""
        at = max(now, self.next_at)
        self.next_at = at + 1.0 / self.rate
        return at - now


@dataclass
class Tally:
    """A job's progress: pages done, and the outcomes of the page under way.

    Temporal's heartbeat counts only whole pages, so a job resumed after a crash starts the
    page under way again without counting it twice; the page's own counts are shown on top of
    them while it runs and dropped on resume.
    """

    done: Progress
    page_success: int = 0
    page_error: int = 0

    def record(self, ok: bool) -> None:
        """One execution of the current page finished."""
        if ok:
            self.page_success += 1
        else:
            self.page_error += 1

    def page_done(self, next_token: str) -> None:
        """The current page is complete; the next one starts at ``next_token``."""
        self.done.SuccessCount += self.page_success
        self.done.ErrorCount += self.page_error
        self.done.CurrentPage += 1
        self.done.PageToken = next_token
        self.page_success = self.page_error = 0

    def shown(self) -> Progress:
        """What to heartbeat: the resume point of whole pages, counts including this page."""
        return Progress(
            PageToken=self.done.PageToken,
            CurrentPage=self.done.CurrentPage,
            TotalEstimate=self.done.TotalEstimate,
            SuccessCount=self.done.SuccessCount + self.page_success,
            ErrorCount=self.done.ErrorCount + self.page_error,
            PageSuccess=self.page_success,
            PageError=self.page_error,
        )


def resumed(details: dict[str, object]) -> Progress:
    """The whole-page progress of a heartbeat, for a retried activity to go on from."""

    def number(key: str) -> int:
        value = details.get(key, 0)
        return value if isinstance(value, int) else 0

    page_success, page_error = number("PageSuccess"), number("PageError")
    token = details.get("PageToken", "")
    return Progress(
        PageToken=token if isinstance(token, str) else "",
        CurrentPage=number("CurrentPage"),
        TotalEstimate=number("TotalEstimate"),
        SuccessCount=number("SuccessCount") - page_success,
        ErrorCount=number("ErrorCount") - page_error,
    )


def first_task_event_id(events: Iterable[HistoryEvent]) -> int:
    """Temporal's FIRST_WORKFLOW_TASK reset point: the first completed task, or the task after
    the first scheduled one; 0 when there is none."""
    found = 0
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            return event.event_id
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED and not found:
            found = event.event_id + 1
    return found


def last_task_event_id(events_newest_first: Iterable[HistoryEvent]) -> int:
    """Temporal's LAST_WORKFLOW_TASK reset point, from the history read backwards; 0 if none."""
    found = 0
    for event in events_newest_first:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            return event.event_id
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            found = event.event_id + 1
    return found
