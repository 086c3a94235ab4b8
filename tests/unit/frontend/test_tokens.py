"""The frontend reads routing fields from real history_processor task tokens."""

from __future__ import annotations

import pytest

from frontend.tokens import MalformedTaskTokenError, TaskTokenRef, decode_task_token
from schemas.tokens import TaskKind, TaskToken, encode


def test_activity_token() -> None:
    token = TaskToken(TaskKind.ACTIVITY, "ns-id", "wf", "run", 5, 2, activity_id="a1")

    assert decode_task_token(encode(token)) == TaskTokenRef("ns-id", "wf", "run")


def test_workflow_token() -> None:
    token = TaskToken(TaskKind.WORKFLOW, "ns-id", "wf", "run", 2, 1, started_event_id=3)

    assert decode_task_token(encode(token)) == TaskTokenRef("ns-id", "wf", "run")


@pytest.mark.parametrize("data", [b"", b"garbage", b"STT\x01\x01\x00", b'{"namespace_id": 1}'])
def test_garbage_is_malformed(data: bytes) -> None:
    with pytest.raises(MalformedTaskTokenError):
        decode_task_token(data)
