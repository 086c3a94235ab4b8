"""The scheduler workflow's input: what the frontend starts it with and continue-as-new carries.

Temporal API messages travel inside as base64 of their binary form, so the SDK's JSON converter
carries them unchanged.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TypeVar

from google.protobuf.message import Message

M = TypeVar("M", bound=Message)


@dataclass
class BufferedStart:
    """An action waiting to be taken.

    Attributes:
        nominal: The spec's time, RFC 3339 (the started workflow id's suffix).
        actual: The time after jitter, RFC 3339.
        overlap_policy: ScheduleOverlapPolicy value; 0 means the schedule's.
        manual: Trigger or backfill (no catch-up window applies).
    """

    nominal: str
    actual: str
    overlap_policy: int = 0
    manual: bool = False


@dataclass
class SchedulerArgs:
    """Everything a scheduler run needs.

    Attributes:
        namespace: Namespace of the schedule.
        schedule_id: The schedule id.
        schedule: temporal.api.schedule.v1.Schedule, canonical spec.
        info: temporal.api.schedule.v1.ScheduleInfo (empty on create).
        initial_patch: temporal.api.schedule.v1.SchedulePatch given to CreateSchedule.
        conflict_token: Bumped by every update.
        last_processed: RFC 3339 time up to which the spec was processed ("" = now).
        buffer: Actions waiting for the overlap policy.
        last_completion_result: temporal.api.common.v1.Payloads of the last successful run.
        continued_failure: temporal.api.failure.v1.Failure of the last failed run.
        iterations: Loop iterations of this run (not carried over).
    """

    namespace: str
    schedule_id: str
    schedule: str
    info: str = ""
    initial_patch: str = ""
    conflict_token: int = 1
    last_processed: str = ""
    buffer: list[BufferedStart] = field(default_factory=list)
    last_completion_result: str = ""
    continued_failure: str = ""


def pack(message: Message) -> str:
    """A proto as base64 text."""
    return base64.b64encode(message.SerializeToString()).decode()


def unpack(text: str, cls: type[M]) -> M:
    """The proto of ``pack``; empty text is the empty message."""
    return cls.FromString(base64.b64decode(text)) if text else cls()
