"""Whether an open transaction may wait for company (`streams.app.Context.defer_commit`)."""

from __future__ import annotations

import time


class Deferral:
    """The deferral of one open transaction: new with each transaction.

    It may wait only while every change in it so far was deferred (`defer`), and at most a
    limit after the first one; a change somebody waits for (`hurry`) ends the wait.
    """

    def __init__(self) -> None:
        self._since: float | None = None  # time.monotonic() of the first deferred change
        self._urgent = False

    def defer(self) -> None:
        """Notes a change nobody waits for: the transaction may wait for more input."""
        if self._since is None:
            self._since = time.monotonic()

    def hurry(self) -> None:
        """Notes a change somebody waits for: the transaction must not wait any longer."""
        self._urgent = True

    def left_s(self, limit_ms: float) -> float | None:
        """Seconds the transaction may still wait for more input (None: no deferral)."""
        if self._since is None or self._urgent:
            return None
        return max(0.0, limit_ms / 1000 - (time.monotonic() - self._since))
