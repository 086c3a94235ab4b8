"""The history processor's tunable settings (Temporal's dynamic config keys), fixed per process.

Temporal's history service reads these from dynamic config inside its state machines
(`ms.config.HistoryCountSuggestContinueAsNew(namespace)`). Strom's deciders read them from
`current()`: the process sets them once at start-up (`configure`, from its command line),
before it decides anything, and never changes them while it runs. So a decision stays a pure
function of its inputs and this process-wide constant, and a restore never reads them: what
they decided is in the events.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HistorySettings:
    """Thresholds the history decider applies, with Temporal's defaults.

    Attributes:
        suggest_continue_as_new_count: A started workflow task suggests continue-as-new once
            the history has this many events (limit.historyCount.suggestContinueAsNew).
        suggest_continue_as_new_size: ... or is this many bytes
            (limit.historySize.suggestContinueAsNew).
        history_count_limit_error: A change that takes a running run's history past this
            many events terminates the run instead (limit.historyCount.error).
        history_count_limit_warn: Past this many events each change logs a warning
            (limit.historyCount.warn).
        history_size_limit_error: As the count limit, for the history's bytes
            (limit.historySize.error).
        history_size_limit_warn: As the count warning, for bytes (limit.historySize.warn).
    """

    suggest_continue_as_new_count: int = 4 * 1024
    suggest_continue_as_new_size: int = 4 * 1024 * 1024
    history_count_limit_error: int = 50 * 1024
    history_count_limit_warn: int = 10 * 1024
    history_size_limit_error: int = 50 * 1024 * 1024
    history_size_limit_warn: int = 10 * 1024 * 1024

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{field.name} must be a positive integer, got {value!r}")


_current = HistorySettings()


def current() -> HistorySettings:
    """The settings of this process."""
    return _current


def configure(settings: HistorySettings) -> None:
    """Sets the settings of this process; call once at start-up, before any decision."""
    global _current
    _current = settings


@contextlib.contextmanager
def overridden(**changes: Any) -> Iterator[HistorySettings]:
    """Runs the block with some settings changed (for tests), then restores the previous ones."""
    previous = _current
    configure(dataclasses.replace(previous, **changes))
    try:
        yield _current
    finally:
        configure(previous)
