"""The events-topic reader (replay, tools) drops runs whose delete marker it reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History, HistoryEvent

from schemas.records import RUN_DELETED
from schemas.topics import Topology
from strom import _history_reader as reader
from strom._kafka_tools import Cluster, HistoryNotFoundError


def _batch(
    run_id: str, *types: EventType.ValueType, first: int = 1, deleted: bool = False
) -> dict[str, Any]:
    events = [HistoryEvent(event_id=first + i, event_type=t) for i, t in enumerate(types)]
    return {
        "namespace": "default",
        "workflow_id": "wf",
        "run_id": run_id,
        "first_event_id": first if events else 0,
        "last_event_id": first + len(events) - 1 if events else 0,
        "events": History(events=events).SerializeToString(),
        "updates": [{"kind": RUN_DELETED, "payload": b"{}"}] if deleted else [],
        "command_id": "c",
    }


_STARTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
_TERMINATED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Cluster:
    batches = [
        _batch("old", _STARTED),
        _batch("old", _TERMINATED, first=2),
        _batch("old", deleted=True),  # deleted, the topic not compacted yet
        _batch("new", _STARTED),
        _batch("new", _TERMINATED, first=2),
    ]

    def scan(cluster: Any, partition: int, prefix: bytes) -> Iterator[tuple[bytes, Any]]:
        yield from ((b"key", batch) for batch in batches)

    monkeypatch.setattr(reader, "scan_partition", scan)
    events = Topology("c").events
    return Cluster("b", "c", 1.0, None, {events: 1})


def test_a_deleted_run_is_not_read(cluster: Cluster) -> None:
    assert [run.run_id for run in reader.read_runs(cluster, "default", "wf")] == ["new"]
    with pytest.raises(HistoryNotFoundError):
        reader.read_history(cluster, "default", "wf", "old")
    assert [run.run_id for run in reader.closed_runs(cluster, "default")] == ["new"]
