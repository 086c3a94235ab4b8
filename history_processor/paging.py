"""How many history events fit in one page: an event count and a byte budget.

gRPC clients refuse messages over 4 MiB by default (the official SDK's core and the CLI
included), and one event may carry a payload of up to 2 MiB (Temporal's blob limit). A page
holds events while their serialized sizes stay within `PAGE_BYTES_LIMIT`, but always at
least one: its size is then at most that of its largest event or the budget, never both,
and a history of any size is read page by page through next_page_token.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.api.history.v1 import HistoryEvent

PAGE_BYTES_LIMIT = 2 * 1024 * 1024
"""The events of one page (poll response or GetWorkflowExecutionHistory) in bytes."""

_FIELD_OVERHEAD = 6
"""Tag and length prefix of one event inside the History message (at most)."""


def fitting(
    events: Sequence[HistoryEvent], max_events: int, max_bytes: int = PAGE_BYTES_LIMIT
) -> int:
    """How many leading `events` make the page: at most `max_events` and `max_bytes`.

    Returns:
        0 only when `events` is empty (or `max_events` is 0); otherwise at least 1.
    """
    total = 0
    for count, event in enumerate(events[:max_events]):
        total += event.ByteSize() + _FIELD_OVERHEAD
        if total > max_bytes and count > 0:
            return count
    return min(len(events), max_events)
