"""Overlap policies over buffered starts: which start now, which wait, which are dropped. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.api.enums.v1 import ScheduleOverlapPolicy

from schemas.schedules.args import BufferedStart

_P = ScheduleOverlapPolicy


@dataclass
class BufferPlan:
    """What to do with the buffer now.

    Attributes:
        overlapping: ALLOW_ALL starts: start now, not tracked as running.
        start: The one start that may run now, when nothing tracked runs.
        buffer: Starts that wait for the running workflow to close.
        cancel: Cancel the running workflows (CANCEL_OTHER).
        terminate: Terminate the running workflows (TERMINATE_OTHER).
        skipped: Starts dropped by SKIP or BUFFER_ONE.
    """

    overlapping: list[BufferedStart] = field(default_factory=list)
    start: BufferedStart | None = None
    buffer: list[BufferedStart] = field(default_factory=list)
    cancel: bool = False
    terminate: bool = False
    skipped: int = 0


def resolve(policy: int, default: int) -> int:
    """A start's own policy, else the schedule's, else SKIP (Temporal's default)."""
    return policy or default or _P.SCHEDULE_OVERLAP_POLICY_SKIP


def plan(buffer: list[BufferedStart], running: bool, default: int) -> BufferPlan:
    """Temporal's rules: with nothing running the first start goes; the rest follow policy."""
    out = BufferPlan()
    for start in buffer:
        policy = resolve(start.overlap_policy, default)
        if policy == _P.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL:
            out.overlapping.append(start)
            continue
        if not running and out.start is None:
            out.start = start
            continue
        if policy == _P.SCHEDULE_OVERLAP_POLICY_SKIP:
            out.skipped += 1
        elif policy == _P.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE:
            if out.buffer:
                out.skipped += 1
            else:
                out.buffer.append(start)
        elif policy == _P.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL:
            out.buffer.append(start)
        elif policy in (
            _P.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER,
            _P.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER,
        ):
            if running:
                out.cancel |= policy == _P.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER
                out.terminate |= policy == _P.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER
                out.buffer.append(start)
            else:
                out.start = start  # a later start replaces the earlier one
    if out.cancel or out.terminate:
        out.overlapping = []  # they start once the others are gone
    return out
