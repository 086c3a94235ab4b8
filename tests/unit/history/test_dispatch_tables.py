"""The history's dispatch tables cover what the contract declares, and nothing else."""

from __future__ import annotations

from history_processor.deadlines import DeadlineKind
from history_processor.handlers import HANDLERS, INBOX_HANDLERS, TIMER_FIRED
from history_processor.handlers.timer_fired import TIMER_HANDLERS
from schemas import inbox


def test_every_inbox_kind_has_exactly_one_handler() -> None:
    assert set(INBOX_HANDLERS) == set(inbox.PAYLOAD_TYPES)


def test_timer_fired_is_internal_and_dispatched() -> None:
    assert TIMER_FIRED not in inbox.PAYLOAD_TYPES
    assert set(HANDLERS) == set(INBOX_HANDLERS) | {TIMER_FIRED}


def test_every_deadline_kind_has_a_timer_handler() -> None:
    assert set(TIMER_HANDLERS) == set(DeadlineKind)
