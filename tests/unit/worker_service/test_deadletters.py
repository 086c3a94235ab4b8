"""Which dead letters a replay of the dead-letter workflow picks."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from strom._deadletters import DeadLetter
from worker_service.deadletters.activities import choose


def _letter(offset: int, source: str) -> DeadLetter:
    return DeadLetter(
        offset,
        {
            "service": "history",
            "source_topic": source,
            "source_partition": 0,
            "source_offset": offset,
            "key": None,
            "value": b"x",
            "error": "boom",
            "time_ms": 0,
        },
    )


LETTERS = [_letter(0, "p.history.inbox"), _letter(1, ""), _letter(2, "p.visibility")]


def test_no_offsets_means_every_replayable_letter() -> None:
    assert [letter.offset for letter in choose(LETTERS, [])] == [0, 2]


def test_offsets_pick_in_the_order_asked() -> None:
    assert [letter.offset for letter in choose(LETTERS, [2, 0])] == [2, 0]


@pytest.mark.parametrize(
    ("offsets", "message"),
    [([7], "no dead letter at offset 7"), ([1], "has no source topic to go back to")],
)
def test_bad_offsets_fail_for_good(offsets: list[int], message: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        choose(LETTERS, offsets)
    assert message in str(caught.value)
    assert caught.value.non_retryable
