"""Strom's deciders, driven by the commands behind dev-server histories of children and external
signals and cancels, write the same parent (and child) histories, and the SDK replays them."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format
from temporalio.api.command.v1 import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    RequestCancelExternalWorkflowExecutionCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
)
from temporalio.api.enums.v1 import CommandType, EventType
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.unit.history.golden import load
from tests.unit.history.harness import complete_workflow, fail_workflow
from tests.unit.history.relatives_harness import Cluster
from tests.workflows.catalog import ALL_WORKFLOWS

_E = EventType
# Scenario -> workflows that must be running before the parent starts (as on the dev server).
GOLDEN: dict[str, tuple[str, ...]] = {
    "child_workflow": (),
    "child_already_exists": ("-taken",),
    "signal_child": (),
    "signal_missing": (),
    "cancel_external": ("-target",),
}
# What legitimately differs between two servers: ids of runs, namespaces and requests, times.
_RUN_SPECIFIC = {
    "originalExecutionRunId",
    "firstExecutionRunId",
    "requestId",
    "historySizeBytes",
    "runId",
    "namespaceId",
    "parentWorkflowNamespaceId",
    "identity",
    "workerVersion",
    "sdkMetadata",
    "meteringMetadata",
    "binaryChecksum",
    "reason",
    "cause",
}
_COPIED = (
    "input",
    "header",
    "memo",
    "search_attributes",
    "retry_policy",
    "priority",
    "workflow_execution_timeout",
)


def _strip(value: Any, keep_cause: bool) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip(v, keep_cause)
            for k, v in value.items()
            if k not in _RUN_SPECIFIC or (keep_cause and k == "cause")
        }
    if isinstance(value, list):
        return [_strip(v, keep_cause) for v in value]
    return value


def _comparable(event: HistoryEvent) -> dict[str, Any]:
    data = json_format.MessageToDict(event)
    data.pop("eventTime", None)
    data.pop("taskId", None)
    # Failure causes are enums worth comparing; cancel "cause"s name the requesting run.
    keep_cause = event.event_type in (
        _E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
        _E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
        _E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    )
    return _strip(data, keep_cause)  # type: ignore[no-any-return]


def _command(event: HistoryEvent) -> Command | None:
    """The command the SDK sent for a command event of the golden history."""
    if event.event_type == _E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        i = event.start_child_workflow_execution_initiated_event_attributes
        start = StartChildWorkflowExecutionCommandAttributes(
            namespace=i.namespace,
            workflow_id=i.workflow_id,
            workflow_type=i.workflow_type,
            task_queue=i.task_queue,
            parent_close_policy=i.parent_close_policy,
            workflow_id_reuse_policy=i.workflow_id_reuse_policy,
            inherit_build_id=i.inherit_build_id,
        )
        for name in _COPIED:
            if i.HasField(name):
                getattr(start, name).CopyFrom(getattr(i, name))
        return Command(
            command_type=CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
            start_child_workflow_execution_command_attributes=start,
        )
    if event.event_type == _E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
        s = event.signal_external_workflow_execution_initiated_event_attributes
        signal = SignalExternalWorkflowExecutionCommandAttributes(
            namespace=s.namespace,
            execution=s.workflow_execution,
            signal_name=s.signal_name,
            child_workflow_only=s.child_workflow_only,
        )
        for name in ("input", "header"):
            if s.HasField(name):
                getattr(signal, name).CopyFrom(getattr(s, name))
        return Command(
            command_type=CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
            signal_external_workflow_execution_command_attributes=signal,
        )
    if event.event_type == _E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
        r = event.request_cancel_external_workflow_execution_initiated_event_attributes
        return Command(
            command_type=CommandType.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION,
            request_cancel_external_workflow_execution_command_attributes=(
                RequestCancelExternalWorkflowExecutionCommandAttributes(
                    namespace=r.namespace,
                    workflow_id=r.workflow_execution.workflow_id,
                    run_id=r.workflow_execution.run_id,
                    child_workflow_only=r.child_workflow_only,
                    reason=r.reason,
                )
            ),
        )
    if event.event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        result = event.workflow_execution_completed_event_attributes.result
        return Command(
            command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
            complete_workflow_execution_command_attributes=(
                CompleteWorkflowExecutionCommandAttributes(result=result)
            ),
        )
    return None


def _commands(golden: History, completed_id: int) -> list[Command]:
    out = []
    for event in golden.events:
        command = _command(event)
        attrs = getattr(event, str(event.WhichOneof("attributes")))
        if command is not None and attrs.workflow_task_completed_event_id == completed_id:
            out.append(command)
    return out


def _deliver_until(c: Cluster, workflow_id: str, event_id: int) -> None:
    """Delivers messages until `workflow_id` has written event `event_id`."""
    glue = c.glue(workflow_id)
    while glue.state is None or glue.state.next_event_id <= event_id:
        c.deliver()


def _close_child(c: Cluster, event: HistoryEvent) -> None:
    """Makes the child of a ChildWorkflowExecutionCompleted / Failed close that way."""
    attrs = getattr(event, str(event.WhichOneof("attributes")))
    child = attrs.workflow_execution.workflow_id
    if event.event_type == _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
        c.complete(child, complete_workflow(attrs.result))
    else:
        command = fail_workflow()
        command.fail_workflow_execution_command_attributes.failure.CopyFrom(attrs.failure)
        c.complete(child, command)


def drive(name: str) -> Cluster:
    """Runs the scenario `name` through Strom's deciders; returns every workflow's glue."""
    golden = load(name)
    first = golden.events[0].workflow_execution_started_event_attributes
    c = Cluster()
    for suffix in GOLDEN[name]:
        c.glue(first.workflow_id + suffix).start("ChildWaiter")
    parent = c.glue(first.workflow_id)
    parent.start(first.workflow_type.name, input=first.input)
    for event in golden.events[1:]:
        if event.event_type == _E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            c.complete(first.workflow_id, *_commands(golden, event.event_id))
        elif event.event_type in (
            _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
            _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
        ):
            _close_child(c, event)
        written = parent.state is not None and parent.state.next_event_id > event.event_id
        if not written and event.event_type not in (
            _E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            _E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        ):
            _deliver_until(c, first.workflow_id, event.event_id)
    return c


@pytest.mark.parametrize("name", GOLDEN)
def test_same_event_types_and_ids(name: str) -> None:
    golden = load(name)
    parent = drive(name).glue(
        golden.events[0].workflow_execution_started_event_attributes.workflow_id
    )
    ours = [(e.event_id, EventType.Name(e.event_type)) for e in parent.events]
    theirs = [(e.event_id, EventType.Name(e.event_type)) for e in golden.events]
    assert ours == theirs


@pytest.mark.parametrize("name", GOLDEN)
def test_same_event_attributes(name: str) -> None:
    golden = load(name)
    workflow_id = golden.events[0].workflow_execution_started_event_attributes.workflow_id
    parent = drive(name).glue(workflow_id)
    for ours, theirs in zip(parent.events, golden.events, strict=True):
        if EventType.Name(ours.event_type).startswith("EVENT_TYPE_WORKFLOW_"):
            continue  # the harness's client and worker, not the golden ones, made those
        assert _comparable(ours) == _comparable(theirs), ours.event_id


def test_child_start_event_matches() -> None:
    golden = load("child_workflow_child")
    child_id = golden.events[0].workflow_execution_started_event_attributes.workflow_id
    c = drive("child_workflow")
    ours = c.glue(child_id).events
    assert [e.event_type for e in ours] == [e.event_type for e in golden.events]
    assert _comparable(ours[0]) == _comparable(golden.events[0])


@pytest.fixture(scope="module")
def replayer() -> Replayer:
    return Replayer(workflows=ALL_WORKFLOWS)


@pytest.mark.parametrize("name", GOLDEN)
async def test_strom_history_replays(replayer: Replayer, name: str) -> None:
    golden = load(name)
    workflow_id = golden.events[0].workflow_execution_started_event_attributes.workflow_id
    parent = drive(name).glue(workflow_id)
    history = WorkflowHistory.from_json(workflow_id, parent.history_json())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None


async def test_golden_histories_replay(replayer: Replayer) -> None:
    for name in [*GOLDEN, "child_workflow_child"]:
        golden = load(name)
        workflow_id = golden.events[0].workflow_execution_started_event_attributes.workflow_id
        history = WorkflowHistory.from_json(workflow_id, json_format.MessageToJson(golden))
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, name
