"""Parked reads: long polls of a history (GetWorkflowExecutionHistory with wait_new_event)
waiting in the history processor for the workflow's next events, by partition.

They live only in memory: a parked read lost with its process is sent again by the frontend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from history_processor.model import Command

#: A parked long-poll read is answered empty after this long; the frontend then asks again.
PARK_TIMEOUT_MS = 5_000


@dataclass
class Parked:
    """A read waiting for new events.

    Attributes:
        command: The read, decided again when the workflow changes.
        reply_to: Where its reply goes.
        expires_at_ms: When it is answered as it stands.
    """

    command: Command
    reply_to: dict[str, Any] | None
    expires_at_ms: int


class ParkedReads:
    """The parked reads of each partition, by command id."""

    def __init__(self) -> None:
        self._parked: dict[int, dict[str, Parked]] = {}

    def park(
        self, partition: int, command: Command, reply_to: dict[str, Any] | None, now_ms: int
    ) -> None:
        """Parks a read until the workflow changes or PARK_TIMEOUT_MS passes."""
        self._parked.setdefault(partition, {})[command.command_id] = Parked(
            command, reply_to, now_ms + PARK_TIMEOUT_MS
        )

    def take(self, partition: int, namespace: str, workflow_id: str) -> list[Parked]:
        """Removes and returns the reads parked on a workflow."""
        parked = self._parked.get(partition, {})
        waiting = [
            p
            for p in parked.values()
            if p.command.namespace == namespace and p.command.workflow_id == workflow_id
        ]
        for entry in waiting:
            del parked[entry.command.command_id]
        return waiting

    def expired(self, partition: int, now_ms: int) -> list[Parked]:
        """Removes and returns the partition's reads whose time is up."""
        parked = self._parked.get(partition, {})
        done = [p for p in parked.values() if p.expires_at_ms <= now_ms]
        for entry in done:
            del parked[entry.command.command_id]
        return done

    def pop(self, partition: int) -> list[Parked]:
        """Removes and returns every read parked on a partition."""
        return list(self._parked.pop(partition, {}).values())

    def forget(self, owned: set[int]) -> None:
        """Drops the reads of partitions no longer owned (their callers ask again)."""
        for partition in list(self._parked):
            if partition not in owned:
                del self._parked[partition]
