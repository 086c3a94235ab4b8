"""Dead letters: inputs a service could not process, kept with the reason so they can be replayed.

Every service writes them the same way: the input's bytes exactly as read, where it came from,
and the error. `strom dlq` lists them and puts them back on their source topic once the cause
is fixed.
"""

from __future__ import annotations

from typing import Protocol

import schemas
from schemas.records import DeadLetterRecord

MAX_ERROR_CHARS = 4000
"""Longer error texts are cut: the record must stay small whatever the exception says."""


class _Input(Protocol):
    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...


def record_for(service: str, message: _Input, error: str, now_ms: int) -> DeadLetterRecord:
    """The DeadLetter record of a Kafka input `message` that `service` could not process."""
    return {
        "service": service,
        "source_topic": message.topic() or "",
        "source_partition": message.partition() or 0,
        "source_offset": message.offset() or 0,
        "key": message.key(),
        "value": message.value(),
        "error": error[:MAX_ERROR_CHARS],
        "time_ms": now_ms,
    }


def encode(record: DeadLetterRecord) -> tuple[bytes, bytes]:
    """(key, value) of a dead letter on the dead-letter topic; keyed by its source."""
    key = f"{record['source_topic']}/{record['source_partition']}/{record['source_offset']}"
    return key.encode(), schemas.encode(schemas.DEAD_LETTER, record)
