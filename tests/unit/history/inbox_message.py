"""A consumed inbox record for the history processor's unit tests: the methods of
``confluent_kafka.Message`` the processor calls."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class InboxMessage:
    """An inbox record at `at` in partition `shard` of topic `inbox`."""

    payload: bytes | None
    inbox: str
    at: int = 1
    shard: int = 0
    record_key: bytes = b"default/wf"

    def topic(self) -> str:
        return self.inbox

    def partition(self) -> int:
        return self.shard

    def offset(self) -> int:
        return self.at

    def key(self) -> bytes:
        return self.record_key

    def value(self) -> bytes | None:
        return self.payload
