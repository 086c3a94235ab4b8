"""The shard's key layout: ids holding any bytes never reach into another execution's keys."""

from __future__ import annotations

import pytest
from temporalio.api.history.v1 import HistoryEvent

from history_processor import store
from history_processor.deadlines import Deadline
from streams import MemoryStore, StateTransaction

CRAFTED = [
    ("default", "wf", "run-1"),
    ("default", "wf\x00run-1", "run-1"),  # the old NUL separator inside an id
    ("default", "wf\x00run-1\x00", ""),
    ("default\x00wf", "run-1", "run-1"),
    ("default", "", "wf\x00run-1"),
    ("default", "wf\x00", "\x00run-1"),
]


def _state() -> StateTransaction:
    return StateTransaction(MemoryStore().open_partition(0))


def test_each_execution_reads_only_its_own_events() -> None:
    state = _state()
    for index, (namespace, workflow_id, run_id) in enumerate(CRAFTED):
        for event_id in (1, 2):
            key = store.event_prefix(namespace, workflow_id, run_id) + event_id.to_bytes(8, "big")
            event = HistoryEvent(event_id=event_id, task_id=index)
            state.put(key, event.SerializeToString())
    for index, (namespace, workflow_id, run_id) in enumerate(CRAFTED):
        events = store.read_events(state, namespace, workflow_id, run_id, 1, 100)
        assert [(e.event_id, e.task_id) for e in events] == [(1, index), (2, index)]


def test_no_key_is_a_prefix_of_another_executions_key() -> None:
    prefixes = [store.event_prefix(*ids) for ids in CRAFTED]
    states = [store.state_key(ns, wid) for ns, wid, _ in CRAFTED]
    for i, a in enumerate(prefixes):
        assert not any(b.startswith(a) for j, b in enumerate(prefixes) if i != j)
    assert len(set(states)) == len({(ns, wid) for ns, wid, _ in CRAFTED})


@pytest.mark.parametrize(("namespace", "workflow_id", "run_id"), CRAFTED)
def test_timer_keys_name_their_workflow_exactly(
    namespace: str, workflow_id: str, run_id: str
) -> None:
    deadline = Deadline(1_700_000_000_123, "user_timer", "t\x00/1", run_id)
    key = store.timer_key(namespace, workflow_id, deadline)
    assert store.parse_timer_key(key) == (namespace, workflow_id)
    assert store.timer_fire_ms(key) == 1_700_000_000_123
