"""Committed and end offsets are read again while the broker recovers from a stall."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition

from streams import offsets
from streams.state.recovery import Restorer


class _Consumer:
    def __init__(self, failures: list[KafkaError], high: int) -> None:
        self.failures = failures
        self.high = high
        self.calls = 0

    def get_watermark_offsets(self, tp: TopicPartition, timeout: float) -> tuple[int, int]:
        self.calls += 1
        if self.failures:
            raise KafkaException(self.failures.pop(0))
        return 0, self.high


def _restorer(consumer: _Consumer) -> Restorer:
    restorer = Restorer.__new__(Restorer)
    restorer._consumer = consumer  # type: ignore[assignment]
    restorer._topic = "changelog"
    return restorer


def _store(applied: int) -> Any:
    return SimpleNamespace(partition=3, applied_offset=lambda: applied)


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(offsets.time, "sleep", lambda seconds: None)


def test_not_leader_after_a_stall_is_asked_again() -> None:
    consumer = _Consumer([KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION)] * 2, high=10)
    assert _restorer(consumer).is_ahead(_store(applied=12)) is True
    assert consumer.calls == 3


def test_store_behind_the_changelog_is_not_ahead() -> None:
    consumer = _Consumer([KafkaError(KafkaError.LEADER_NOT_AVAILABLE)], high=10)
    assert _restorer(consumer).is_ahead(_store(applied=5)) is False


def test_a_lasting_error_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(offsets, "PATIENCE_S", -1.0)
    consumer = _Consumer([KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION)], high=10)
    with pytest.raises(KafkaException):
        _restorer(consumer).is_ahead(_store(applied=5))


def test_a_permanent_error_is_not_retried() -> None:
    consumer = _Consumer([KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)], high=10)
    with pytest.raises(KafkaException):
        _restorer(consumer).is_ahead(_store(applied=5))
    assert consumer.calls == 1


class _GroupConsumer:
    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.calls = 0

    def committed(self, partitions: list[TopicPartition], timeout: float) -> Any:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, KafkaError):
            raise KafkaException(answer)
        return answer


def test_committed_offsets_are_asked_again_after_not_coordinator() -> None:
    ours = [TopicPartition("tasks", 0), TopicPartition("tasks", 1)]
    failed = SimpleNamespace(
        topic="tasks", partition=1, offset=-1001, error=KafkaError(KafkaError.NOT_COORDINATOR)
    )
    consumer = _GroupConsumer(
        [
            KafkaError(KafkaError.NOT_COORDINATOR),
            [TopicPartition("tasks", 0, 7), failed],
            [TopicPartition("tasks", 0, 7), TopicPartition("tasks", 1, -1001)],
        ]
    )
    found = offsets.committed(consumer, ours, 5, OFFSET_BEGINNING)  # type: ignore[arg-type]
    assert [(tp.partition, tp.offset) for tp in found] == [(0, 7), (1, OFFSET_BEGINNING)]
    assert consumer.calls == 3


def test_committed_offsets_raise_a_permanent_error() -> None:
    consumer = _GroupConsumer([KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED)])
    with pytest.raises(KafkaException):
        offsets.committed(consumer, [TopicPartition("tasks", 0)], 5, OFFSET_BEGINNING)  # type: ignore[arg-type]
