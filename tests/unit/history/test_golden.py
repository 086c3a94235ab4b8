"""Strom's decider, driven by the commands the SDK sent to the real Temporal dev server, writes
the same history as Temporal, and the official SDK replays it cleanly."""

from __future__ import annotations

import pytest
from google.protobuf import json_format
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from history_processor.deadlines import deadlines
from tests.unit.history.golden import drive, load
from tests.unit.history.harness import comparable
from tests.workflows.catalog import ALL_WORKFLOWS

GOLDEN = [
    "one_activity",
    "parallel_activities",
    "retry_activity",
    "retries_exhausted",
    "sync_activity",
    "staggered_activities",
    "flaky_workflow_task",
    "terminated",
    "patched",
    "deprecated_patch",
    "local_activities",
    "local_activity_heartbeat",
    "upsert",
    "eager_start",
    "sleep",
    "canceled_timer",
    "parallel_timers",
    "cancel_activity_not_started",
    "cancel_activity_heartbeat",
    "cancel_activity_try",
    "signals",
    "signal_with_start",
    "cancel",
    "cancel_cleanup",
]


@pytest.fixture(scope="module")
def replayer() -> Replayer:
    return Replayer(workflows=ALL_WORKFLOWS)


@pytest.mark.parametrize("name", GOLDEN)
def test_same_event_types_and_ids(name: str) -> None:
    golden = load(name)
    glue = drive(golden)
    ours = [(e.event_id, EventType.Name(e.event_type)) for e in glue.events]
    theirs = [(e.event_id, EventType.Name(e.event_type)) for e in golden.events]
    assert ours == theirs


@pytest.mark.parametrize("name", GOLDEN)
def test_same_event_attributes(name: str) -> None:
    golden = load(name)
    glue = drive(golden)
    for ours, theirs in zip(glue.events, golden.events, strict=True):
        assert comparable(ours) == comparable(theirs), ours.event_id


@pytest.mark.parametrize("name", GOLDEN)
def test_restore_equals_live_state(name: str) -> None:
    glue = drive(load(name))
    assert glue.state is not None and not glue.state.is_running
    assert glue.restore() == glue.state
    assert deadlines(glue.state) == []


@pytest.mark.parametrize("name", GOLDEN)
async def test_strom_history_replays(replayer: Replayer, name: str) -> None:
    glue = drive(load(name))
    history = WorkflowHistory.from_json(glue.workflow_id, glue.history_json())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None


async def test_golden_history_replays(replayer: Replayer) -> None:
    # The recorded fixtures still match the workflow definitions.
    for name in GOLDEN:
        golden = load(name)
        workflow_id = golden.events[0].workflow_execution_started_event_attributes.workflow_id
        history = WorkflowHistory.from_json(workflow_id, json_format.MessageToJson(golden))
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, name


async def test_replay_detects_a_wrong_history(replayer: Replayer) -> None:
    # The replay check has teeth: a history the workflow could not have produced fails.
    glue = drive(load("one_activity"))
    tampered = glue.history()
    tampered.events[4].activity_task_scheduled_event_attributes.activity_type.name = "other"
    history = WorkflowHistory.from_json(glue.workflow_id, json_format.MessageToJson(tampered))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None
