"""The answer to an inbox command: a gRPC status, the response proto, error details.

The history decider produces a `Reply`, the history processor puts it on the replies topic
(`to_record`), and the callers (the frontend, matching) get it back from their history client
(`from_record`). Status codes are gRPC's numbers (`Code`), so no side needs grpc to read them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from google.protobuf.message import Message

from schemas.records import ReplyRecord


class Code(enum.IntEnum):
    """gRPC status codes (numeric values of grpc.StatusCode), without importing grpc."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14


TRANSIENT_CODES = frozenset(
    {
        Code.UNAVAILABLE,
        Code.DEADLINE_EXCEEDED,
        Code.RESOURCE_EXHAUSTED,
        Code.ABORTED,
        Code.CANCELLED,
    }
)
"""Statuses after which the same command may succeed when sent again."""

SHARD_MOVED_TYPE = "strom.ShardMoved"
"""`Reply.details_type` of `Reply.shard_moved`: the history client sends the command again."""


@dataclass(frozen=True)
class Reply:
    """A history shard's answer to one command.

    Attributes:
        status_code: gRPC status, `Code.OK` on success.
        message: Error message (Temporal's wording), empty on success.
        payload: Serialized Temporal response proto on success; may be empty.
        details: Serialized error-detail proto (e.g. WorkflowExecutionAlreadyStartedFailure).
        details_type: Full proto type name of `details`; empty when there are none.
    """

    status_code: int = Code.OK
    message: str = ""
    payload: bytes = b""
    details: bytes = b""
    details_type: str = ""

    @property
    def ok(self) -> bool:
        """True for a successful reply."""
        return self.status_code == Code.OK

    @classmethod
    def of(cls, response: Message) -> Reply:
        """A successful reply carrying `response`."""
        return cls(payload=response.SerializeToString())

    @classmethod
    def error(cls, code: Code, message: str, details: Message | None = None) -> Reply:
        """An error reply, with Temporal's error-detail proto if there is one."""
        if details is None:
            return cls(status_code=code, message=message)
        return cls(
            status_code=code,
            message=message,
            details=details.SerializeToString(),
            details_type=details.DESCRIPTOR.full_name,
        )

    @classmethod
    def shard_moved(cls) -> Reply:
        """The answer to a caller still waiting on a shard this process hands over.

        Temporal's ShardOwnershipLost: the history client sends the command again, to the
        shard's next owner, and its caller never sees this reply.
        """
        return cls(
            status_code=Code.UNAVAILABLE,
            message="Shard is owned by a different history process.",
            details_type=SHARD_MOVED_TYPE,
        )

    @property
    def moved(self) -> bool:
        """True for `shard_moved`."""
        return self.details_type == SHARD_MOVED_TYPE

    def to_record(self, command_id: str) -> ReplyRecord:
        """The strom.v1.Reply record answering `command_id`."""
        return {
            "command_id": command_id,
            "status_code": int(self.status_code),
            "message": self.message,
            "payload": self.payload,
            "details": self.details,
            "details_type": self.details_type,
        }

    @classmethod
    def from_record(cls, record: ReplyRecord) -> Reply:
        """The reply a strom.v1.Reply record carries."""
        return cls(
            record["status_code"],
            record["message"],
            record["payload"],
            record["details"],
            record["details_type"],
        )
