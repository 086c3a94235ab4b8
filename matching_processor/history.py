"""What matching needs from the history: the request/reply client over the inbox (a Protocol)."""

from __future__ import annotations

from typing import Any, Protocol


class HistoryReply(Protocol):
    """The answer to an inbox command (``history_processor.client.Reply`` satisfies it)."""

    @property
    def status_code(self) -> int:
        """gRPC status code; 0 = OK, 5 = NOT_FOUND (a stale task)."""
        ...

    @property
    def message(self) -> str:
        """Error message; empty on success."""
        ...

    @property
    def payload(self) -> bytes:
        """Serialized response proto (a ``PollWorkflowTaskQueueResponse`` here)."""
        ...


class HistoryCaller(Protocol):
    """Sends a command to the history shard of a workflow and awaits its reply.

    ``history_processor.client.HistoryClient`` satisfies it. ``request`` is serialized with its
    ``SerializeToString()``; the internal messages of ``matching_processor.messages`` offer it.
    Application errors come back as a reply status; a call that gets no reply in ``timeout``
    seconds raises (any exception: matching treats it as transient).
    """

    async def call(
        self, namespace: str, workflow_id: str, kind: str, request: Any, timeout: float
    ) -> HistoryReply:
        """Sends ``request`` as an inbox command of ``kind`` and returns history's reply."""
        ...
