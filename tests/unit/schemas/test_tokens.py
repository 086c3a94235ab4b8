"""Task tokens round-trip and reject garbage with a clear error."""

from __future__ import annotations

import pytest

from schemas.exceptions import TaskTokenError
from schemas.tokens import TaskKind, TaskToken, decode, encode

TOKEN = TaskToken(
    kind=TaskKind.ACTIVITY,
    namespace_id="ns-id",
    workflow_id="wf-ü",
    run_id="run-1",
    scheduled_event_id=5,
    attempt=3,
    activity_id="act",
)


def test_round_trip() -> None:
    assert decode(encode(TOKEN)) == TOKEN
    workflow = TaskToken(TaskKind.WORKFLOW, "n", "w", "r", 2, 1, started_event_id=3)
    assert decode(encode(workflow)) == workflow


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"hello world",
        encode(TOKEN)[:-1],
        encode(TOKEN) + b"\x00",
        b"STT\x01\x09" + encode(TOKEN)[5:],
        b"STT\x02" + encode(TOKEN)[4:],
    ],
)
def test_garbage_is_rejected(garbage: bytes) -> None:
    with pytest.raises(TaskTokenError):
        decode(garbage)


def test_out_of_range_ids_are_rejected() -> None:
    with pytest.raises(TaskTokenError):
        decode(encode(TaskToken(TaskKind.WORKFLOW, "n", "w", "r", 0, 1)))
